package schedule

import (
	"sort"
	"strconv"
	"strings"

	"github.com/emersion/go-ical"
)

// timing is the text of the properties whose change moves an instance, so
// that an attendee's answer to it no longer holds: its start, end, length
// and recurrence rule. An EXDATE removes instances without moving the
// others, so it is not part of it.
func timing(c *ical.Component) string {
	return propText(c, ical.PropDateTimeStart, ical.PropDateTimeEnd, ical.PropDuration, ical.PropDue,
		ical.PropRecurrenceRule, ical.PropRecurrenceDates, ical.PropRecurrenceID)
}

// significant is the text of the properties whose change RFC 5546 §2.1.4
// makes a new revision of a component (its SEQUENCE goes up): the timing,
// removed instances (EXDATE) and STATUS.
func significant(c *ical.Component) string {
	return timing(c) + propText(c, ical.PropExceptionDates, ical.PropStatus)
}

// propText is the text of c's properties names, each property's values in
// order (their order carries no meaning).
func propText(c *ical.Component, names ...string) string {
	var lines []string
	for _, n := range names {
		for _, p := range c.Props[n] {
			lines = append(lines, n+":"+p.Params.Get(ical.ParamTimezoneID)+":"+strings.ToUpper(strings.TrimSpace(p.Value)))
		}
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

func sequence(c *ical.Component) int {
	if p := c.Props.Get(ical.PropSequence); p != nil {
		if n, err := strconv.Atoi(strings.TrimSpace(p.Value)); err == nil && n >= 0 {
			return n
		}
	}
	return 0
}

// Reschedule applies to the organizer's new version cur what the server does
// for a change of old (RFC 5546 §2.1.4, RFC 6638 §3.2.1.2): a component of
// old that cur keeps (same RECURRENCE-ID) and whose timing, EXDATEs or STATUS changed while its SEQUENCE did not go up
// gets the next SEQUENCE, so that attendees' clients take the update as a
// new revision; and in an instance whose timing changed every attendee
// other than the organizer (own) is asked anew: PARTSTAT=NEEDS-ACTION and
// RSVP=TRUE, since an answer to the old time does not hold for the new one.
// It reports whether cur changed.
func Reschedule(old, cur *ical.Calendar, own func(string) bool) bool {
	if old == nil || cur == nil {
		return false
	}
	changed := false
	ocs := comps(old)
	for _, c := range comps(cur) {
		o := byRID(ocs, rid(c))
		if o == nil {
			continue
		}
		next := sequence(o)
		if significant(o) != significant(c) {
			next++
		}
		if sequence(c) < next {
			c.Props.Set(&ical.Prop{Name: ical.PropSequence, Params: ical.Params{}, Value: strconv.Itoa(next)})
			changed = true
		}
		if timing(o) == timing(c) {
			continue
		}
		for i := range c.Props[ical.PropAttendee] {
			p := &c.Props[ical.PropAttendee][i]
			if own(Address(p.Value)) || strings.ToUpper(p.Params.Get(paramPartStat)) == "NEEDS-ACTION" && p.Params.Get("RSVP") == "TRUE" {
				continue
			}
			p.Params.Set(paramPartStat, "NEEDS-ACTION")
			p.Params.Set("RSVP", "TRUE")
			changed = true
		}
	}
	return changed
}
