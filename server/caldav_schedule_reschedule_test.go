package server

import (
	"net/http"
	"strings"
	"testing"
)

// TestScheduleRescheduleAsksAnew: an attendee's reply clears RSVP in the
// organizer's copy; an organizer's client that moves the meeting without
// raising SEQUENCE (and still shows the old answer) gets the next SEQUENCE,
// and the attendee is asked anew (PARTSTAT=NEEDS-ACTION, RSVP=TRUE) in both
// copies; the same PUT again with the old SEQUENCE neither lowers it nor
// sends anything.
func TestScheduleRescheduleAsksAnew(t *testing.T) {
	e := newScheduleEnv(t)
	put := func(body string) {
		t.Helper()
		if resp, b := e.do(t, "alice", "PUT", "/dav/calendars/alice/calendar/rs-1.ics", map[string]string{"Content-Type": "text/calendar"}, body); resp.StatusCode >= 300 {
			t.Fatalf("organizer PUT: %d %s", resp.StatusCode, b)
		}
	}
	org := func() string {
		t.Helper()
		_, b := e.do(t, "alice", "GET", "/dav/calendars/alice/calendar/rs-1.ics", nil, "")
		return unfold(b)
	}
	put(event("rs-1", "mailto:alice@example.org", "ATTENDEE;PARTSTAT=ACCEPTED:mailto:alice@example.org", "ATTENDEE;RSVP=TRUE:mailto:bob@example.org"))
	name, cp := e.copyOf(t, "bob", "rs-1")
	accepted := strings.Replace(cp, "PARTSTAT=NEEDS-ACTION", "PARTSTAT=ACCEPTED", 1)
	if resp, b := e.do(t, "bob", "PUT", "/dav/calendars/bob/calendar/"+name, nil, accepted); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("attendee PUT: %d %s", resp.StatusCode, b)
	}
	if l := attendeeLine(org(), "bob@example.org"); !strings.Contains(l, "PARTSTAT=ACCEPTED") || strings.Contains(l, "RSVP") {
		t.Fatalf("organizer's ATTENDEE after the reply: %q (want ACCEPTED, no RSVP)", l)
	}
	before := len(e.inbox(t, "bob"))
	moved := event("rs-1", "mailto:alice@example.org", "ATTENDEE;PARTSTAT=ACCEPTED:mailto:alice@example.org", "ATTENDEE;PARTSTAT=ACCEPTED:mailto:bob@example.org")
	moved = strings.Replace(strings.Replace(moved, "DTSTART:20261210T100000Z", "DTSTART:20261210T120000Z", 1), "DTEND:20261210T110000Z", "DTEND:20261210T130000Z", 1)
	put(moved)
	o := org()
	if l := attendeeLine(o, "bob@example.org"); !strings.Contains(l, "PARTSTAT=NEEDS-ACTION") || !strings.Contains(l, "RSVP=TRUE") {
		t.Errorf("organizer's ATTENDEE after the move: %q (want NEEDS-ACTION, RSVP=TRUE)", l)
	}
	if l := attendeeLine(o, "alice@example.org"); !strings.Contains(l, "PARTSTAT=ACCEPTED") {
		t.Errorf("the organizer's own answer was reset: %q", l)
	}
	if !strings.Contains(o, "\r\nSEQUENCE:1\r\n") {
		t.Errorf("organizer's copy after the move has no SEQUENCE:1:\n%s", o)
	}
	_, cp = e.copyOf(t, "bob", "rs-1")
	if l := attendeeLine(cp, "bob@example.org"); !strings.Contains(l, "PARTSTAT=NEEDS-ACTION") || !strings.Contains(cp, "\r\nSEQUENCE:1\r\n") || !strings.Contains(cp, "DTSTART:20261210T120000Z") {
		t.Errorf("bob's copy after the move:\n%s", cp)
	}
	if n := len(e.inbox(t, "bob")); n != before+1 {
		t.Fatalf("bob's inbox after the move: %d messages, want %d", n, before+1)
	}
	put(moved) // the organizer's client did not re-read: SEQUENCE absent again
	if o := org(); !strings.Contains(o, "\r\nSEQUENCE:1\r\n") {
		t.Errorf("the repeated PUT lowered SEQUENCE:\n%s", o)
	}
	if n := len(e.inbox(t, "bob")); n != before+1 {
		t.Errorf("the repeated PUT sent bob something: %d messages, want %d", n, before+1)
	}
}

// TestScheduleAttendeeExdateDeclines: an attendee whose client deletes one
// meeting of a series (an EXDATE in their copy) declines that instance: the
// organizer gets a REPLY for it, and the organizer's copy shows the
// attendee DECLINED there and still invited to the rest.
func TestScheduleAttendeeExdateDeclines(t *testing.T) {
	e := newScheduleEnv(t)
	body := event("xd-1", "mailto:alice@example.org", "RRULE:FREQ=DAILY;COUNT=3",
		"ATTENDEE;PARTSTAT=ACCEPTED:mailto:alice@example.org", "ATTENDEE;RSVP=TRUE:mailto:bob@example.org")
	if resp, b := e.do(t, "alice", "PUT", "/dav/calendars/alice/calendar/xd-1.ics", map[string]string{"Content-Type": "text/calendar"}, body); resp.StatusCode != http.StatusCreated {
		t.Fatalf("organizer PUT: %d %s", resp.StatusCode, b)
	}
	name, cp := e.copyOf(t, "bob", "xd-1")
	excluded := strings.Replace(cp, "RRULE:FREQ=DAILY;COUNT=3\r\n", "RRULE:FREQ=DAILY;COUNT=3\r\nEXDATE:20261211T100000Z\r\n", 1)
	if excluded == cp {
		t.Fatalf("no RRULE line in bob's copy:\n%s", cp)
	}
	if resp, b := e.do(t, "bob", "PUT", "/dav/calendars/bob/calendar/"+name, nil, excluded); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("attendee PUT: %d %s", resp.StatusCode, b)
	}
	in := e.inbox(t, "alice")
	if len(in) != 1 || !strings.Contains(in[0], "METHOD:REPLY") || !strings.Contains(in[0], "RECURRENCE-ID:20261211T100000Z") ||
		!strings.Contains(in[0], "PARTSTAT=DECLINED") {
		t.Fatalf("alice's inbox after bob excluded one instance: %q", in)
	}
	_, org := e.do(t, "alice", "GET", "/dav/calendars/alice/calendar/xd-1.ics", nil, "")
	org = unfold(org)
	i := strings.Index(org, "RECURRENCE-ID:20261211T100000Z")
	if i < 0 {
		t.Fatalf("no override for the declined instance in the organizer's copy:\n%s", org)
	}
	over := org[strings.LastIndex(org[:i], "BEGIN:VEVENT"):]
	over = over[:strings.Index(over, "END:VEVENT")]
	if l := attendeeLine(over, "bob@example.org"); !strings.Contains(l, "PARTSTAT=DECLINED") {
		t.Fatalf("bob in the override: %q", l)
	}
	if l := attendeeLine(org[:strings.Index(org, "END:VEVENT")], "bob@example.org"); strings.Contains(l, "DECLINED") {
		t.Fatalf("bob declined the whole series: %q", l)
	}
}
