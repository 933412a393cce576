package schedule

import (
	"strings"

	"github.com/emersion/go-ical"
)

// Address returns the comparable form of a calendar user address: a mailto:
// URI in lower case (scheme and address), anything else trimmed as given.
func Address(v string) string {
	v = strings.TrimSpace(v)
	if len(v) >= 7 && strings.EqualFold(v[:7], "mailto:") {
		return "mailto:" + strings.ToLower(strings.TrimSpace(v[7:]))
	}
	return v
}

// agent is a property's SCHEDULE-AGENT, SERVER when absent (RFC 6638 §7.1).
func agent(p *ical.Prop) string {
	if a := strings.ToUpper(p.Params.Get(paramAgent)); a != "" {
		return a
	}
	return "SERVER"
}

// Parameters RFC 6638 §7 defines.
const (
	paramAgent     = "SCHEDULE-AGENT"
	paramStatus    = "SCHEDULE-STATUS"
	paramForceSend = "SCHEDULE-FORCE-SEND"
	paramPartStat  = "PARTSTAT"
)

// Status values for SCHEDULE-STATUS (RFC 6638 §3.2.9, RFC 5546 §3.6).
const (
	StatusPending     = "1.0" // queued; not yet sent
	StatusSent        = "1.1" // sent (by e-mail); delivery not confirmed
	StatusDelivered   = "1.2" // delivered to the recipient's inbox
	StatusSuccess     = "2.0" // a reply was processed
	StatusInvalidUser = "3.7" // no such calendar user
	StatusNoDelivery  = "5.1" // could not be delivered
	StatusNoAuthority = "3.8" // the sender may not schedule this (not an attendee)
)
