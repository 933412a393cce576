package server

import (
	"net/http"
	"strings"
	"testing"
)

func TestOptionsAdvertisesWhatIsImplemented(t *testing.T) {
	e := newTestEnv(t)
	resp, _ := e.do(t, "alice", "OPTIONS", "/dav/addressbooks/alice/contacts/", nil, "")
	if got := resp.Header.Get("DAV"); got != "1, 3, addressbook, calendar-access, calendar-auto-schedule, extended-mkcol, calendarserver-sharing" {
		t.Fatalf("DAV header: got %q", got)
	}
	if strings.Contains(resp.Header.Get("DAV"), "2") || strings.Contains(resp.Header.Get("Allow"), "LOCK") {
		t.Fatalf("locking advertised but not implemented: DAV %q Allow %q", resp.Header.Get("DAV"), resp.Header.Get("Allow"))
	}
	// MKCALENDAR is allowed only where a calendar can be made; MKCOL (extended
	// MKCOL of an address book) in both homes.
	for path, mkcalendar := range map[string]bool{
		"/dav/calendars/alice/":             true,
		"/dav/calendars/alice/new/":         true,
		"/dav/addressbooks/alice/":          false,
		"/dav/addressbooks/alice/contacts/": false,
		"/dav/files/alice/":                 false,
	} {
		resp, _ := e.do(t, "alice", "OPTIONS", path, nil, "")
		allow := resp.Header.Get("Allow")
		if strings.Contains(allow, "MKCALENDAR") != mkcalendar || !strings.Contains(allow, "MKCOL") || !strings.Contains(allow, "PROPFIND") {
			t.Errorf("OPTIONS %s: Allow %q", path, allow)
		}
	}
}

func TestWellKnownRedirects(t *testing.T) {
	e := newTestEnv(t)
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, p := range []string{"/.well-known/carddav", "/.well-known/caldav"} {
		resp, err := client.Get(e.srv.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != "/dav/" {
			t.Fatalf("%s: got %d to %q", p, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
}

func TestDeadPropertiesRoundTrip(t *testing.T) {
	e := newTestEnv(t)
	const book = "/dav/addressbooks/alice/contacts/"
	patch := `<?xml version="1.0"?>
<D:propertyupdate xmlns:D="DAV:" xmlns:Z="http://example.com/ns" xmlns:A="http://apple.com/ns/ical/">
 <D:set><D:prop>
  <D:displayname>Friends &amp; family</D:displayname>
  <A:calendar-color>#FF0000FF</A:calendar-color>
  <Z:tags><Z:tag kind="x">one</Z:tag><tag xmlns="">two</tag></Z:tags>
 </D:prop></D:set>
 <D:remove><D:prop><Z:gone/></D:prop></D:remove>
</D:propertyupdate>`
	resp, body := e.do(t, "alice", "PROPPATCH", book, nil, patch)
	if resp.StatusCode != http.StatusMultiStatus || !strings.Contains(body, "200 OK") || strings.Contains(body, "403") {
		t.Fatalf("proppatch: %d %s", resp.StatusCode, body)
	}
	resp, body = e.do(t, "alice", "PROPFIND", book, map[string]string{"Depth": "0"},
		`<D:propfind xmlns:D="DAV:" xmlns:Z="http://example.com/ns" xmlns:A="http://apple.com/ns/ical/"><D:prop><D:displayname/><A:calendar-color/><Z:tags/><Z:gone/></D:prop></D:propfind>`)
	for _, want := range []string{
		"<D:displayname>Friends &amp; family</D:displayname>",
		"<A:calendar-color>#FF0000FF</A:calendar-color>",
		`xmlns:N0="http://example.com/ns">`,
		`<N0:tags><tag xmlns="http://example.com/ns" kind="x">one</tag><tag>two</tag></N0:tags>`,
		"404 Not Found",
	} {
		if !strings.Contains(body, want) {
			t.Fatalf("propfind lacks %q:\n%s", want, body)
		}
	}
	// The values survive a restart of the projection: they come from the journal.
	if _, err := e.store.Rebuild(t.Context()); err != nil {
		t.Fatal(err)
	}
	_, again := e.do(t, "alice", "PROPFIND", book, map[string]string{"Depth": "0"},
		`<D:propfind xmlns:D="DAV:" xmlns:Z="http://example.com/ns"><D:prop><Z:tags/></D:prop></D:propfind>`)
	if !strings.Contains(again, `<tag>two</tag>`) {
		t.Fatalf("after rebuild: %s", again)
	}
}

func TestExtendedMkcolMoveCopyAndExport(t *testing.T) {
	e := newTestEnv(t)
	resp, body := e.do(t, "alice", "MKCOL", "/dav/addressbooks/alice/office/", nil,
		`<D:mkcol xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:set><D:prop><D:resourcetype><D:collection/><C:addressbook/></D:resourcetype><D:displayname>Work</D:displayname><C:addressbook-description>Colleagues</C:addressbook-description></D:prop></D:set></D:mkcol>`)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("mkcol: %d %s", resp.StatusCode, body)
	}
	if resp, _ := e.do(t, "alice", "MKCOL", "/dav/addressbooks/alice/office/", nil, ""); resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("mkcol on existing: got %d, want 405", resp.StatusCode)
	}
	_, body = e.do(t, "alice", "PROPFIND", "/dav/addressbooks/alice/", map[string]string{"Depth": "1"}, "")
	if !strings.Contains(body, "<D:displayname>Work</D:displayname>") || !strings.Contains(body, "<C:addressbook-description>Colleagues</C:addressbook-description>") {
		t.Fatalf("home listing lacks the new book: %s", body)
	}
	e.do(t, "alice", "PUT", "/dav/addressbooks/alice/contacts/a.vcf", nil, testCard("a", "Ann"))
	resp, _ = e.do(t, "alice", "MOVE", "/dav/addressbooks/alice/contacts/a.vcf", map[string]string{"Destination": e.srv.URL + "/dav/addressbooks/alice/office/a.vcf"}, "")
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("move: %d", resp.StatusCode)
	}
	if resp, _ := e.do(t, "alice", "GET", "/dav/addressbooks/alice/contacts/a.vcf", nil, ""); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("source after move: %d", resp.StatusCode)
	}
	resp, _ = e.do(t, "alice", "COPY", "/dav/addressbooks/alice/office/a.vcf", map[string]string{"Destination": "/dav/addressbooks/alice/contacts/a.vcf"}, "")
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("copy to another book: %d", resp.StatusCode)
	}
	resp, _ = e.do(t, "alice", "COPY", "/dav/addressbooks/alice/office/a.vcf", map[string]string{"Destination": "/dav/addressbooks/alice/office/b.vcf"}, "")
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("copy into the same book duplicates the UID: got %d, want 403", resp.StatusCode)
	}
	e.do(t, "alice", "PUT", "/dav/addressbooks/alice/office/z.vcf", nil, testCard("z", "Zed"))
	resp, body = e.do(t, "alice", "GET", "/dav/addressbooks/alice/office/", nil, "")
	if resp.StatusCode != http.StatusOK || body != testCard("a", "Ann")+testCard("z", "Zed") {
		t.Fatalf("export: %d %q", resp.StatusCode, body)
	}
	if resp, _ := e.do(t, "alice", "DELETE", "/dav/addressbooks/alice/office/", nil, ""); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("delete book: %d", resp.StatusCode)
	}
	if resp, _ := e.do(t, "alice", "PROPFIND", "/dav/addressbooks/alice/office/", map[string]string{"Depth": "1"}, ""); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("deleted book still answers: %d", resp.StatusCode)
	}
}

func TestPutGetConditional(t *testing.T) {
	e := newTestEnv(t)
	const obj = "/dav/addressbooks/alice/contacts/c.vcf"
	resp, _ := e.do(t, "alice", "PUT", obj, map[string]string{"If-None-Match": "*", "Content-Type": "text/vcard; charset=utf-8"}, testCard("c", "Cat"))
	etag := resp.Header.Get("ETag")
	if resp.StatusCode != http.StatusCreated || etag == "" {
		t.Fatalf("create: %d etag %q", resp.StatusCode, etag)
	}
	resp, body := e.do(t, "alice", "GET", obj, nil, "")
	if body != testCard("c", "Cat") || resp.Header.Get("ETag") != etag {
		t.Fatalf("get: body %q etag %q, want the bytes as sent and %s", body, resp.Header.Get("ETag"), etag)
	}
	if resp, _ := e.do(t, "alice", "GET", obj, map[string]string{"If-None-Match": etag}, ""); resp.StatusCode != http.StatusNotModified {
		t.Fatalf("conditional get: %d", resp.StatusCode)
	}
	resp, _ = e.do(t, "alice", "PUT", obj, map[string]string{"If-Match": etag}, testCard("c", "Cat 2"))
	if resp.StatusCode != http.StatusNoContent || resp.Header.Get("ETag") == etag {
		t.Fatalf("update with If-Match: %d etag %q", resp.StatusCode, resp.Header.Get("ETag"))
	}
	if resp, _ := e.do(t, "alice", "DELETE", obj, map[string]string{"If-Match": etag}, ""); resp.StatusCode != http.StatusPreconditionFailed {
		t.Fatalf("delete with a stale If-Match: %d", resp.StatusCode)
	}
	if resp, _ := e.do(t, "alice", "HEAD", obj, nil, ""); resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Length") == "" {
		t.Fatalf("head: %d", resp.StatusCode)
	}
}

func TestFailedSignInsAreLimited(t *testing.T) {
	e := newTestEnv(t)
	var statuses []int
	for i := 0; i < failBurstAccountAddr+2; i++ {
		req, _ := http.NewRequest("PROPFIND", e.srv.URL+"/dav/", nil)
		req.SetBasicAuth("alice", "wrong password")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		statuses = append(statuses, resp.StatusCode)
	}
	for i, st := range statuses {
		want := http.StatusUnauthorized
		if i >= failBurstAccountAddr {
			want = http.StatusTooManyRequests
		}
		if st != want {
			t.Fatalf("attempt %d: got %d, want %d (all: %v)", i+1, st, want, statuses)
		}
	}
	// The right password is refused too while the account is limited, so a
	// guesser learns nothing; another account is not affected.
	if resp, _ := e.do(t, "alice", "PROPFIND", "/dav/", nil, ""); resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("right password while limited: %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if resp, _ := e.do(t, "bob", "PROPFIND", "/dav/", map[string]string{"Depth": "1"}, ""); resp.StatusCode != http.StatusMultiStatus {
		t.Fatalf("another account: %d", resp.StatusCode)
	}
}
