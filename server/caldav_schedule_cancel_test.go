package server

import (
	"net/http"
	"strings"
	"testing"
)

// TestScheduleDeleteCancelledCopySendsNothing: after the organizer deletes
// a meeting, the attendee's copy is kept marked cancelled; the attendee
// deleting it then declines nothing, so the organizer's inbox stays empty
// (a REPLY there would answer a meeting that no longer exists).
func TestScheduleDeleteCancelledCopySendsNothing(t *testing.T) {
	e := newScheduleEnv(t)
	body := event("gone-1", "mailto:alice@example.org", "ATTENDEE;PARTSTAT=ACCEPTED:mailto:alice@example.org", "ATTENDEE:mailto:bob@example.org")
	if resp, b := e.do(t, "alice", "PUT", "/dav/calendars/alice/calendar/gone-1.ics", map[string]string{"Content-Type": "text/calendar"}, body); resp.StatusCode != http.StatusCreated {
		t.Fatalf("organizer PUT: %d %s", resp.StatusCode, b)
	}
	if resp, b := e.do(t, "alice", "DELETE", "/dav/calendars/alice/calendar/gone-1.ics", nil, ""); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("organizer DELETE: %d %s", resp.StatusCode, b)
	}
	name, cp := e.copyOf(t, "bob", "gone-1")
	if !strings.Contains(cp, "STATUS:CANCELLED") {
		t.Fatalf("bob's copy after the cancel:\n%s", cp)
	}
	if resp, b := e.do(t, "bob", "DELETE", "/dav/calendars/bob/calendar/"+name, nil, ""); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("attendee DELETE: %d %s", resp.StatusCode, b)
	}
	if in := e.inbox(t, "alice"); len(in) != 0 {
		t.Fatalf("deleting a cancelled copy sent the organizer %d message(s):\n%s", len(in), strings.Join(in, "\n"))
	}
	// A copy that is not cancelled still declines when deleted.
	body = event("kept-1", "mailto:alice@example.org", "ATTENDEE;PARTSTAT=ACCEPTED:mailto:alice@example.org", "ATTENDEE:mailto:bob@example.org")
	if resp, b := e.do(t, "alice", "PUT", "/dav/calendars/alice/calendar/kept-1.ics", map[string]string{"Content-Type": "text/calendar"}, body); resp.StatusCode != http.StatusCreated {
		t.Fatalf("organizer PUT: %d %s", resp.StatusCode, b)
	}
	name, _ = e.copyOf(t, "bob", "kept-1")
	if resp, b := e.do(t, "bob", "DELETE", "/dav/calendars/bob/calendar/"+name, nil, ""); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("attendee DELETE: %d %s", resp.StatusCode, b)
	}
	if in := e.inbox(t, "alice"); len(in) != 1 || !strings.Contains(in[0], "PARTSTAT=DECLINED") {
		t.Fatalf("alice's inbox after bob deleted a live meeting: %q", in)
	}
}
