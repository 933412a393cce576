package server

import (
	"net/http"
	"strings"
	"testing"
)

// Behaviours CalDAVTester checks that RFC 6764, RFC 4918 and RFC 6578 define.
func TestWellKnown(t *testing.T) {
	e := newTestEnv(t)
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, path := range []string{"/.well-known/caldav", "/.well-known/caldav/", "/.well-known/carddav", "/.well-known/carddav/"} {
		for _, method := range []string{"GET", "PROPFIND"} {
			req, _ := http.NewRequest(method, e.srv.URL+path, nil)
			resp, err := noRedirect.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != "/dav/" {
				t.Errorf("%s %s: %d Location %q, want 301 to /dav/", method, path, resp.StatusCode, resp.Header.Get("Location"))
			}
		}
	}
	resp, body := e.do(t, "", "GET", "/.well-known/", nil, "")
	if resp.StatusCode != http.StatusOK || body != "caldav\ncarddav\n" {
		t.Errorf("GET /.well-known/: %d %q", resp.StatusCode, body)
	}
	resp, body = e.do(t, "", "PROPFIND", "/.well-known/", map[string]string{"Depth": "0"}, "")
	if resp.StatusCode != http.StatusMultiStatus || !strings.Contains(body, "<D:collection/>") {
		t.Errorf("PROPFIND /.well-known/: %d %s", resp.StatusCode, body)
	}
	resp, _ = e.do(t, "", "DELETE", "/.well-known/", nil, "")
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("DELETE /.well-known/: %d, want 405", resp.StatusCode)
	}
}

func TestPropfindDepthInfinity(t *testing.T) {
	e := newTestEnv(t)
	for _, path := range []string{"/dav/calendars/alice/", "/dav/addressbooks/alice/", "/dav/files/alice/"} {
		resp, body := e.do(t, "alice", "PROPFIND", path, map[string]string{"Depth": "infinity"}, "")
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "propfind-finite-depth") {
			t.Errorf("PROPFIND Depth: infinity %s: %d %s", path, resp.StatusCode, body)
		}
		// No Depth header means infinity (RFC 4918 §9.1): refused the same way.
		resp, body = e.do(t, "alice", "PROPFIND", path, nil, "")
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "propfind-finite-depth") || !strings.Contains(body, "Depth: 0 or 1") {
			t.Errorf("PROPFIND without Depth %s: %d %s", path, resp.StatusCode, body)
		}
	}
}

// The collections of homes (/dav/calendars/, /dav/addressbooks/) answer
// PROPFIND like the principal collection: Depth 1 lists the signed-in user's
// own home and nobody else's; no sync-token (they are not synchronised).
func TestPropfindCollectionOfHomes(t *testing.T) {
	e := newTestEnv(t)
	for _, home := range []string{"calendars", "addressbooks"} {
		for _, path := range []string{"/dav/" + home + "/", "/dav/" + home} {
			resp, body := e.do(t, "alice", "PROPFIND", path, map[string]string{"Depth": "1"},
				`<D:propfind xmlns:D="DAV:"><D:prop><D:resourcetype/><D:sync-token/><D:supported-report-set/></D:prop></D:propfind>`)
			if resp.StatusCode != http.StatusMultiStatus {
				t.Fatalf("PROPFIND %s: %d %s", path, resp.StatusCode, body)
			}
			for _, want := range []string{"<D:href>/dav/" + home + "/</D:href>", "<D:href>/dav/" + home + "/alice/</D:href>", "<D:collection/>", "<D:supported-report-set/>"} {
				if !strings.Contains(body, want) {
					t.Errorf("PROPFIND %s: no %s in %s", path, want, body)
				}
			}
			if strings.Contains(body, "/bob/") || !strings.Contains(body, "404 Not Found") {
				t.Errorf("PROPFIND %s: another user's home, or a sync-token: %s", path, body)
			}
		}
		resp, _ := e.do(t, "alice", "PROPFIND", "/dav/"+home+"/", nil, "")
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("PROPFIND /dav/%s/ without Depth: %d, want 403", home, resp.StatusCode)
		}
	}
}

// A sync-collection without sync-level (RFC 6578 drafts, CalDAVTester) is
// answered as level 1, and members of a listing that asks no property carry a
// status (RFC 4918 §14.24).
func TestSyncCollectionWithoutLevel(t *testing.T) {
	e := newTestEnv(t)
	e.do(t, "alice", "MKCALENDAR", "/dav/calendars/alice/s/", nil, "")
	if resp, body := e.do(t, "alice", "PUT", "/dav/calendars/alice/s/a.ics", map[string]string{"Content-Type": "text/calendar"},
		vcal(vevent("a", "20260101T100000Z", "20260101T110000Z"))); resp.StatusCode != http.StatusCreated {
		t.Fatalf("PUT: %d %s", resp.StatusCode, body)
	}
	for _, level := range []string{"", "<D:sync-level>infinite</D:sync-level>", "<D:sync-level>1</D:sync-level>"} {
		resp, body := e.do(t, "alice", "REPORT", "/dav/calendars/alice/s/", nil,
			`<D:sync-collection xmlns:D="DAV:"><D:sync-token/>`+level+`<D:prop/></D:sync-collection>`)
		if resp.StatusCode != http.StatusMultiStatus ||
			!strings.Contains(body, "<D:href>/dav/calendars/alice/s/a.ics</D:href><D:status>HTTP/1.1 200 OK</D:status>") {
			t.Errorf("sync-level %q: %d %s", level, resp.StatusCode, body)
		}
	}
	resp, body := e.do(t, "alice", "REPORT", "/dav/calendars/alice/s/", nil,
		`<D:sync-collection xmlns:D="DAV:"><D:sync-token/><D:sync-level>2</D:sync-level><D:prop/></D:sync-collection>`)
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("sync-level 2: %d %s", resp.StatusCode, body)
	}
}

// GET carries Last-Modified, PROPFIND getlastmodified with the same time, and
// If-Modified-Since answers 304 until the object changes (RFC 9110 §13.1.3).
func TestLastModified(t *testing.T) {
	e := newTestEnv(t)
	const path = "/dav/addressbooks/alice/contacts/a.vcf"
	if resp, body := e.do(t, "alice", "PUT", path, nil, testCard("a", "Ann")); resp.StatusCode != http.StatusCreated {
		t.Fatalf("PUT: %d %s", resp.StatusCode, body)
	}
	resp, _ := e.do(t, "alice", "GET", path, nil, "")
	lm := resp.Header.Get("Last-Modified")
	if _, err := http.ParseTime(lm); err != nil {
		t.Fatalf("Last-Modified %q: %v", lm, err)
	}
	_, body := e.do(t, "alice", "PROPFIND", path, map[string]string{"Depth": "0"},
		`<D:propfind xmlns:D="DAV:"><D:prop><D:getlastmodified/></D:prop></D:propfind>`)
	if !strings.Contains(body, "<D:getlastmodified>"+lm+"</D:getlastmodified>") {
		t.Errorf("getlastmodified differs from Last-Modified %q:\n%s", lm, body)
	}
	if resp, _ := e.do(t, "alice", "GET", path, map[string]string{"If-Modified-Since": lm}, ""); resp.StatusCode != http.StatusNotModified {
		t.Errorf("If-Modified-Since the last change: %d, want 304", resp.StatusCode)
	}
	if resp, _ := e.do(t, "alice", "GET", path, map[string]string{"If-Modified-Since": "Mon, 01 Jan 2001 00:00:00 GMT"}, ""); resp.StatusCode != http.StatusOK {
		t.Errorf("If-Modified-Since long ago: %d, want 200", resp.StatusCode)
	}
	if resp, _ := e.do(t, "alice", "GET", path, map[string]string{"If-Modified-Since": lm, "If-None-Match": `"other"`}, ""); resp.StatusCode != http.StatusOK {
		t.Errorf("If-None-Match wins over If-Modified-Since: %d, want 200", resp.StatusCode)
	}
	if resp, _ := e.do(t, "alice", "GET", path, map[string]string{"If-Modified-Since": "yesterday"}, ""); resp.StatusCode != http.StatusOK {
		t.Errorf("an unparsable date is ignored: %d, want 200", resp.StatusCode)
	}
}

// A stock client's PUT of a body identical to the stored one is a change, as
// in CalendarServer, sabre/dav and Cyrus: the sync token and the CTag move and
// sync-collection from the old token reports the object again. A pimvault
// device's identical re-put (a replay after a lost answer) writes nothing.
func TestIdenticalPutMovesToken(t *testing.T) {
	e := newTestEnv(t)
	ct := map[string]string{"Content-Type": "text/calendar"}
	for _, tc := range []struct{ col, name, body string }{
		{"/dav/calendars/alice/calendar/", "same.ics", vcal(vevent("same", "20260101T100000Z", "20260101T110000Z"))},
		{"/dav/addressbooks/alice/contacts/", "same.vcf", testCard("same", "Same")},
	} {
		hdr := ct
		if strings.HasSuffix(tc.name, ".vcf") {
			hdr = nil
		}
		if resp, body := e.do(t, "alice", "PUT", tc.col+tc.name, hdr, tc.body); resp.StatusCode != http.StatusCreated {
			t.Fatalf("PUT %s: %d %s", tc.name, resp.StatusCode, body)
		}
		props := `<D:propfind xmlns:D="DAV:" xmlns:CS="http://calendarserver.org/ns/"><D:prop><D:sync-token/><CS:getctag/></D:prop></D:propfind>`
		_, before := e.do(t, "alice", "PROPFIND", tc.col, map[string]string{"Depth": "0"}, props)
		tok := tokenIn(t, before)
		resp, body := e.do(t, "alice", "PUT", tc.col+tc.name, hdr, tc.body)
		if resp.StatusCode != http.StatusNoContent || resp.Header.Get("ETag") == "" {
			t.Fatalf("identical PUT %s: %d %s", tc.name, resp.StatusCode, body)
		}
		_, after := e.do(t, "alice", "PROPFIND", tc.col, map[string]string{"Depth": "0"}, props)
		if tokenIn(t, after) == tok || ctagIn(after) == ctagIn(before) || ctagIn(after) == "" {
			t.Errorf("identical PUT %s: token or CTag did not move:\n%s\n%s", tc.name, before, after)
		}
		_, diff := e.do(t, "alice", "REPORT", tc.col, map[string]string{"Content-Type": "application/xml"}, syncReq(tok))
		if !strings.Contains(diff, tc.col+tc.name) {
			t.Errorf("sync-collection after an identical PUT of %s does not report it:\n%s", tc.name, diff)
		}
		// The same re-put from a device is a no-op.
		devHdr := map[string]string{HeaderDevice: "phone-1"}
		for k, v := range hdr {
			devHdr[k] = v
		}
		if resp, body := e.do(t, "alice", "PUT", tc.col+tc.name, devHdr, tc.body); resp.StatusCode != http.StatusNoContent {
			t.Fatalf("a device's identical re-put of %s: %d %s", tc.name, resp.StatusCode, body)
		}
		_, again := e.do(t, "alice", "PROPFIND", tc.col, map[string]string{"Depth": "0"}, props)
		if tokenIn(t, again) != tokenIn(t, after) {
			t.Errorf("a device's identical re-put of %s moved the token", tc.name)
		}
	}
}

// A COPY onto an identical object is a write too: the destination's token moves.
func TestIdenticalCopyMovesToken(t *testing.T) {
	e := newTestEnv(t)
	ct := map[string]string{"Content-Type": "text/calendar"}
	if resp, body := e.do(t, "alice", "MKCALENDAR", "/dav/calendars/alice/other/", nil, ""); resp.StatusCode != http.StatusCreated {
		t.Fatalf("MKCALENDAR: %d %s", resp.StatusCode, body)
	}
	src, dst := "/dav/calendars/alice/other/c.ics", "/dav/calendars/alice/calendar/c.ics"
	e.do(t, "alice", "PUT", src, ct, vcal(vevent("c", "20260101T100000Z", "20260101T110000Z")))
	if resp, body := e.do(t, "alice", "COPY", src, map[string]string{"Destination": dst}, ""); resp.StatusCode != http.StatusCreated {
		t.Fatalf("COPY: %d %s", resp.StatusCode, body)
	}
	props := `<D:propfind xmlns:D="DAV:"><D:prop><D:sync-token/></D:prop></D:propfind>`
	_, before := e.do(t, "alice", "PROPFIND", "/dav/calendars/alice/calendar/", map[string]string{"Depth": "0"}, props)
	if resp, body := e.do(t, "alice", "COPY", src, map[string]string{"Destination": dst}, ""); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("COPY again: %d %s", resp.StatusCode, body)
	}
	_, after := e.do(t, "alice", "PROPFIND", "/dav/calendars/alice/calendar/", map[string]string{"Depth": "0"}, props)
	if tokenIn(t, before) == tokenIn(t, after) {
		t.Errorf("a COPY onto an identical object did not move the token")
	}
}

func ctagIn(body string) string {
	i := strings.Index(body, "getctag>")
	if i < 0 {
		return ""
	}
	rest := body[i+len("getctag>"):]
	return rest[:strings.Index(rest, "<")]
}
