package server

import (
	"net/http"
	"strings"
	"testing"
)

// TestScheduleTag: the tag changes with the organizer's own changes and with
// deliveries of them, not with replies applied by the server or with the
// attendee's answer; If-Schedule-Tag-Match is checked; and an organizer's
// client that saves a version from before a reply does not undo the answer.
func TestScheduleTag(t *testing.T) {
	e := newScheduleEnv(t)
	url := "/dav/calendars/alice/calendar/tag.ics"
	body := event("tag", "mailto:alice@example.org", "ATTENDEE:mailto:bob@example.org", "ATTENDEE:mailto:carol@example.org")
	resp, _ := e.do(t, "alice", "PUT", url, nil, body)
	t1 := resp.Header.Get("Schedule-Tag")
	if resp.StatusCode != http.StatusCreated || t1 == "" {
		t.Fatalf("organizer PUT: %d, Schedule-Tag %q", resp.StatusCode, t1)
	}
	_, stale := e.do(t, "alice", "GET", url, nil, "")
	name, cp := e.copyOf(t, "bob", "tag")
	resp, _ = e.do(t, "bob", "GET", "/dav/calendars/bob/calendar/"+name, nil, "")
	b1 := resp.Header.Get("Schedule-Tag")
	if b1 == "" {
		t.Fatal("bob's copy has no schedule tag")
	}
	accepted := strings.Replace(cp, "PARTSTAT=NEEDS-ACTION:mailto:bob@example.org", "PARTSTAT=ACCEPTED:mailto:bob@example.org", 1)
	if accepted == cp {
		t.Fatalf("no NEEDS-ACTION line for bob in\n%s", cp)
	}
	resp, _ = e.do(t, "bob", "PUT", "/dav/calendars/bob/calendar/"+name, map[string]string{"If-Schedule-Tag-Match": b1}, accepted)
	if resp.StatusCode != http.StatusNoContent || resp.Header.Get("Schedule-Tag") != b1 {
		t.Fatalf("bob's answer: %d, tag %q (want %q kept)", resp.StatusCode, resp.Header.Get("Schedule-Tag"), b1)
	}
	resp, cur := e.do(t, "alice", "GET", url, nil, "")
	if resp.Header.Get("Schedule-Tag") != t1 || !strings.Contains(attendeeLine(cur, "bob@example.org"), "ACCEPTED") {
		t.Fatalf("organizer's copy after the reply: tag %q (want %q), %s", resp.Header.Get("Schedule-Tag"), t1, attendeeLine(cur, "bob@example.org"))
	}
	// Alice's client saves the version it had (bob NEEDS-ACTION) with a new
	// summary: allowed by the tag, and bob's answer stays.
	edited := strings.Replace(stale, "SUMMARY:Planning", "SUMMARY:Planning v2", 1)
	resp, _ = e.do(t, "alice", "PUT", url, map[string]string{"If-Schedule-Tag-Match": t1}, edited)
	t2 := resp.Header.Get("Schedule-Tag")
	if resp.StatusCode != http.StatusNoContent || t2 == "" || t2 == t1 {
		t.Fatalf("organizer's tagged PUT: %d, tag %q", resp.StatusCode, t2)
	}
	_, cur = e.do(t, "alice", "GET", url, nil, "")
	if !strings.Contains(cur, "Planning v2") || !strings.Contains(attendeeLine(cur, "bob@example.org"), "ACCEPTED") {
		t.Errorf("the stale save undid bob's answer:\n%s", cur)
	}
	if resp, _ := e.do(t, "alice", "PUT", url, map[string]string{"If-Schedule-Tag-Match": t1}, edited); resp.StatusCode != http.StatusPreconditionFailed {
		t.Errorf("PUT with an old schedule tag: %d", resp.StatusCode)
	}
	// The delivery of alice's change gave bob's copy a new tag; his stale
	// tag is refused.
	resp, _ = e.do(t, "bob", "GET", "/dav/calendars/bob/calendar/"+name, nil, "")
	if b2 := resp.Header.Get("Schedule-Tag"); b2 == "" || b2 == b1 {
		t.Fatalf("bob's tag after alice's update: %q (was %q)", b2, b1)
	}
	if resp, _ := e.do(t, "bob", "PUT", "/dav/calendars/bob/calendar/"+name, map[string]string{"If-Schedule-Tag-Match": b1}, accepted); resp.StatusCode != http.StatusPreconditionFailed {
		t.Errorf("bob's PUT with his old tag: %d", resp.StatusCode)
	}
	_, props := e.do(t, "bob", "PROPFIND", "/dav/calendars/bob/calendar/"+name, map[string]string{"Depth": "0"},
		`<D:propfind xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><C:schedule-tag/></D:prop></D:propfind>`)
	if !strings.Contains(props, "schedule-tag") || !strings.Contains(props, "s-") {
		t.Errorf("PROPFIND schedule-tag:\n%s", props)
	}
}
