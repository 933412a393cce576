package server

import (
	"net/http"
	"strings"
	"testing"
)

// TestRecoveryDedupeCalendar: recovery uploads of calendar objects are
// deduplicated by UID and body like vCards, and a calendar
// PUT honours an If-None-Match ETag list like a vCard PUT.
func TestRecoveryDedupeCalendar(t *testing.T) {
	e := newTestEnv(t)
	const cal = "/dav/calendars/alice/calendar/"
	ev := vcal(vevent("ev-1", "20260601T100000Z", "20260601T110000Z"))
	hdr := map[string]string{"Content-Type": "text/calendar"}
	if resp, body := e.do(t, "alice", "PUT", cal+"ev-1.ics", hdr, ev); resp.StatusCode != http.StatusCreated {
		t.Fatalf("stock PUT: %d %s", resp.StatusCode, body)
	}
	orig, err := e.store.Get("alice", "calendar", "ev-1.ics")
	if err != nil {
		t.Fatal(err)
	}

	// If-None-Match with a list naming the current ETag: 412, nothing written.
	head := e.store.Head()
	resp, _ := e.do(t, "alice", "PUT", cal+"ev-1.ics", map[string]string{"Content-Type": "text/calendar",
		"If-None-Match": `"nope", "` + orig.ETag + `"`}, vcal(vevent("ev-1", "20260601T120000Z", "20260601T130000Z")))
	if resp.StatusCode != http.StatusPreconditionFailed || e.store.Head() != head {
		t.Fatalf("If-None-Match list with the current ETag: %d (head %d → %d), want 412 and no write", resp.StatusCode, head, e.store.Head())
	}

	openRecovery(t, e, "alice")
	up := func(name, body string) (*http.Response, string) {
		return e.do(t, "alice", "PUT", cal+name, dev(testDevice, "Content-Type", "text/calendar", "If-None-Match", "*"), body)
	}
	e.do(t, "alice", "PROPFIND", cal, dev(testDevice), "")
	head = e.store.Head()
	resp, body := up("copy-of-ev-1.ics", ev)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("ETag") != `"`+orig.ETag+`"` || resp.Header.Get(HeaderExisting) != cal+"ev-1.ics" {
		t.Fatalf("same event at another name: %d etag %q existing %q %s", resp.StatusCode, resp.Header.Get("ETag"), resp.Header.Get(HeaderExisting), body)
	}
	if resp, _ = up("ev-1.ics", ev); resp.StatusCode != http.StatusOK {
		t.Fatalf("same event at the same name: %d, want 200", resp.StatusCode)
	}
	if e.store.Head() != head {
		t.Fatal("deduplicated calendar uploads wrote records")
	}
	resp, body = up("copy-of-ev-1.ics", vcal(vevent("ev-1", "20260602T100000Z", "20260602T110000Z")))
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "no-uid-conflict") {
		t.Fatalf("same UID, other body, other name: %d %s", resp.StatusCode, body)
	}
	resp, body = up("bad.ics", "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nEND:VCALENDAR\r\n")
	if resp.StatusCode != http.StatusForbidden || e.store.Head() != head {
		t.Fatalf("invalid calendar upload: %d %s (head %d → %d), want 403 and no write", resp.StatusCode, body, head, e.store.Head())
	}
}
