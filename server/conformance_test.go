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
				`<D:propfind xmlns:D="DAV:"><D:prop><D:resourcetype/><D:sync-token/></D:prop></D:propfind>`)
			if resp.StatusCode != http.StatusMultiStatus {
				t.Fatalf("PROPFIND %s: %d %s", path, resp.StatusCode, body)
			}
			for _, want := range []string{"<D:href>/dav/" + home + "/</D:href>", "<D:href>/dav/" + home + "/alice/</D:href>", "<D:collection/>"} {
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
