package schedule

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/emersion/go-ical"
)

// Method names (RFC 5546 §1.4).
const (
	MethodRequest = "REQUEST"
	MethodCancel  = "CANCEL"
	MethodReply   = "REPLY"
)

// Message is one iTIP message to one recipient.
type Message struct {
	Method    string
	Recipient string         // Address
	Cal       *ical.Calendar // the message, with METHOD
	// Copy is, for REQUEST, the recipient's copy of the object (no METHOD);
	// for CANCEL, nil: the recipient's existing copy is marked cancelled.
	Copy *ical.Calendar
}

// OrganizerMessages returns the messages an organizer's change sends (RFC
// 6638 §3.2.1, §3.2.2): old is the stored object before the change (nil: a
// new object), cur the object after it (nil: deleted). own tells the
// organizer's own addresses. An attendee gets a REQUEST with their copy when
// their copy changed (ignoring DTSTAMP and scheduling parameters), or when
// SCHEDULE-FORCE-SEND=REQUEST asks, preceded by a CANCEL of the instances
// the change excludes (new EXDATEs); an attendee no longer invited, or all
// of a cancelled or deleted object, gets a CANCEL.
func OrganizerMessages(old, cur *ical.Calendar, own func(string) bool, now time.Time) ([]Message, error) {
	var msgs []Message
	var newAtt []string
	if cur != nil {
		newAtt = serverAttendees(cur, own)
	}
	cancelled := cur != nil && allCancelled(cur)
	for _, a := range newAtt {
		view := View(cur, a)
		if view == nil {
			continue
		}
		var oldView *ical.Calendar
		if old != nil {
			oldView = View(old, a)
		}
		if oldView != nil && canon(oldView) == canon(view) && !forceSend(cur, a) {
			continue
		}
		if cancelled {
			if oldView == nil || allCancelled(oldView) {
				continue // never invited, or told already
			}
			msgs = append(msgs, Message{Method: MethodCancel, Recipient: a, Cal: message(MethodCancel, view, now)})
			continue
		}
		if oldView != nil && !allCancelled(oldView) {
			// Instances the change removes are cancelled on their own as
			// well, so the attendee is told which meetings no longer take
			// place; the REQUEST then carries the rest of the series.
			if c := instanceCancel(view, a, removedInstances(oldView, view), now); c != nil {
				msgs = append(msgs, Message{Method: MethodCancel, Recipient: a, Cal: c})
			}
		}
		msgs = append(msgs, Message{Method: MethodRequest, Recipient: a, Cal: message(MethodRequest, view, now), Copy: view})
	}
	if old != nil {
		// Attendees of old not in cur at all (an attendee whose agent changed
		// to CLIENT is the client's business now).
		var still []string
		if cur != nil {
			info, _ := Inspect(cur)
			still = info.Attendees
		}
		for _, a := range serverAttendees(old, own) {
			if slices.Contains(still, a) {
				continue
			}
			view := View(old, a)
			if view == nil || allCancelled(view) {
				continue
			}
			MarkCancelled(view)
			msgs = append(msgs, Message{Method: MethodCancel, Recipient: a, Cal: message(MethodCancel, view, now)})
		}
	}
	if n := recipients(msgs); n > MaxRecipients {
		return nil, fmt.Errorf("%w: this change would message %d recipients, at most %d", ErrTooManyAttendees, n, MaxRecipients)
	}
	return msgs, nil
}

// recipients counts the distinct recipients of msgs.
func recipients(msgs []Message) int {
	seen := map[string]bool{}
	for _, m := range msgs {
		seen[m.Recipient] = true
	}
	return len(seen)
}

// forceSend reports whether any ATTENDEE of a in cal asks for
// SCHEDULE-FORCE-SEND=REQUEST.
func forceSend(cal *ical.Calendar, a string) bool {
	for _, c := range comps(cal) {
		if p := attendeeProp(c, a); p != nil && strings.EqualFold(p.Params.Get(paramForceSend), MethodRequest) {
			return true
		}
	}
	return false
}
