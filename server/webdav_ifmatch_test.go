package server

import (
	"net/http"
	"strings"
	"testing"
)

// TestIfMatchETagList: an If-Match list (RFC 9110 §13.1.1) succeeds when the
// current ETag is any of its entries, not only the first, on every write
// path that takes If-Match: CardDAV and CalDAV PUT, DELETE and MOVE, and the
// files area's PUT and DELETE. A list without the current ETag is a 412 and
// changes nothing.
func TestIfMatchETagList(t *testing.T) {
	e := newTestEnv(t)
	event := func(uid, summary string) string {
		return "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\nBEGIN:VEVENT\r\nUID:" + uid +
			"\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20260301T100000Z\r\nSUMMARY:" + summary + "\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
	}
	paths := []struct {
		name, path string
		body       func(v string) string
	}{
		{"carddav", "/dav/addressbooks/alice/contacts/x.vcf", func(v string) string { return testCard("x", v) }},
		{"caldav", "/dav/calendars/alice/calendar/x.ics", func(v string) string { return event("x", v) }},
		{"files", "/dav/files/alice/x.txt", func(v string) string { return "text " + v }},
	}
	put := func(t *testing.T, path, ifMatch, body string, want int) string {
		t.Helper()
		hdr := map[string]string{}
		if ifMatch != "" {
			hdr["If-Match"] = ifMatch
		}
		resp, got := e.do(t, "alice", "PUT", path, hdr, body)
		if resp.StatusCode != want {
			t.Fatalf("PUT %s If-Match %s: %d %s, want %d", path, ifMatch, resp.StatusCode, got, want)
		}
		return resp.Header.Get("ETag")
	}
	for _, p := range paths {
		t.Run(p.name, func(t *testing.T) {
			first := put(t, p.path, "", p.body("one"), http.StatusCreated)
			second := put(t, p.path, first, p.body("two"), http.StatusNoContent)
			// The current ETag second in the list.
			third := put(t, p.path, first+", "+second, p.body("three"), http.StatusNoContent)
			// Neither entry is current: 412, body unchanged.
			put(t, p.path, first+", "+second, p.body("four"), http.StatusPreconditionFailed)
			if _, got := e.do(t, "alice", "GET", p.path, nil, ""); !strings.Contains(got, "three") {
				t.Fatalf("after a failed If-Match PUT the body is %q", got)
			}
			if !strings.HasPrefix(p.path, "/dav/files/") {
				moved := strings.Replace(p.path, "/x.", "/y.", 1)
				hdr := map[string]string{"If-Match": first + ", " + second, "Destination": e.srv.URL + moved}
				if resp, _ := e.do(t, "alice", "MOVE", p.path, hdr, ""); resp.StatusCode != http.StatusPreconditionFailed {
					t.Fatalf("MOVE with a stale If-Match list: %d", resp.StatusCode)
				}
				hdr["If-Match"] = `"nope", ` + third
				if resp, _ := e.do(t, "alice", "MOVE", p.path, hdr, ""); resp.StatusCode != http.StatusCreated {
					t.Fatalf("MOVE with If-Match list holding the current ETag: %d", resp.StatusCode)
				}
				p.path = moved
			}
			if resp, _ := e.do(t, "alice", "DELETE", p.path, map[string]string{"If-Match": first + ", " + second}, ""); resp.StatusCode != http.StatusPreconditionFailed {
				t.Fatalf("DELETE with a stale If-Match list: %d", resp.StatusCode)
			}
			if resp, _ := e.do(t, "alice", "DELETE", p.path, map[string]string{"If-Match": first + `, W/"x", ` + third}, ""); resp.StatusCode != http.StatusNoContent {
				t.Fatalf("DELETE with If-Match list holding the current ETag: %d", resp.StatusCode)
			}
			if resp, _ := e.do(t, "alice", "GET", p.path, nil, ""); resp.StatusCode != http.StatusNotFound {
				t.Fatalf("GET after DELETE: %d", resp.StatusCode)
			}
		})
	}
}
