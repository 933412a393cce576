package server

import (
	"net/http"
	"strings"
	"testing"

	"github.com/pimvault/pimvault/storage"
)

// An attendee's client that removes an invitation from the inbox once it has
// shown it (what iOS and macOS do) declines nothing: the organizer's copy
// keeps the attendee unanswered and no REPLY reaches the organizer's inbox.
// Deleting the attendee's copy from a calendar, on the other hand, declines.
func TestInboxDeleteAnswersNothing(t *testing.T) {
	e := newScheduleEnv(t)
	body := event("in-1", "mailto:alice@example.org", "ATTENDEE;PARTSTAT=ACCEPTED:mailto:alice@example.org", "ATTENDEE:mailto:bob@example.org")
	if resp, b := e.do(t, "alice", "PUT", "/dav/calendars/alice/calendar/in-1.ics", map[string]string{"Content-Type": "text/calendar"}, body); resp.StatusCode >= 300 {
		t.Fatalf("organizer PUT: %d %s", resp.StatusCode, b)
	}
	var names []string
	if err := e.store.Objects("bob", inboxName, false, func(o storage.Object) error { names = append(names, o.Name); return nil }); err != nil || len(names) != 1 {
		t.Fatalf("bob's inbox: %v %v", names, err)
	}
	if resp, b := e.do(t, "bob", "DELETE", "/dav/calendars/bob/inbox/"+names[0], nil, ""); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("DELETE of the inbox item: %d %s", resp.StatusCode, b)
	}
	_, org := e.copyOf(t, "alice", "in-1")
	if line := attendeeLine(org, "mailto:bob@example.org"); line == "" || strings.Contains(line, "PARTSTAT=DECLINED") {
		t.Errorf("after bob removed the inbox item, the organizer's copy says %q", line)
	}
	if in := e.inbox(t, "alice"); len(in) != 0 {
		t.Errorf("alice's inbox after bob removed his inbox item: %q", in)
	}

	// The copy in bob's calendar is his answer: deleting it declines.
	name, _ := e.copyOf(t, "bob", "in-1")
	if resp, b := e.do(t, "bob", "DELETE", "/dav/calendars/bob/calendar/"+name, nil, ""); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("DELETE of bob's copy: %d %s", resp.StatusCode, b)
	}
	_, org = e.copyOf(t, "alice", "in-1")
	if line := attendeeLine(org, "mailto:bob@example.org"); !strings.Contains(line, "PARTSTAT=DECLINED") {
		t.Errorf("after bob deleted his copy, the organizer's copy says %q", line)
	}
}
