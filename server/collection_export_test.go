package server

import (
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

var contentLengthRE = regexp.MustCompile(`<D:getcontentlength>(\d+)</D:getcontentlength>`)

// DAV:getcontentlength is defined on every resource whose GET answers a
// Content-Length (RFC 4918 §15.4), collections included, and equals it: for a
// calendar or address book it is the length of the export, and it follows
// the collection's changes. allprop leaves it out for calendars and address
// books (it costs an export).
func TestCollectionContentLength(t *testing.T) {
	e := newTestEnv(t)
	cal, book := "/dav/calendars/alice/calendar/", "/dav/addressbooks/alice/contacts/"
	if resp, body := e.do(t, "alice", "PUT", cal+"a.ics", map[string]string{"Content-Type": "text/calendar"}, vcal(vevent("a", "20260101T100000Z", "20260101T110000Z"))); resp.StatusCode != http.StatusCreated {
		t.Fatalf("PUT: %d %s", resp.StatusCode, body)
	}
	if resp, body := e.do(t, "alice", "PUT", book+"a.vcf", nil, testCard("a", "Ann")); resp.StatusCode != http.StatusCreated {
		t.Fatalf("PUT: %d %s", resp.StatusCode, body)
	}
	length := func(path string) int {
		t.Helper()
		resp, body := e.do(t, "alice", "PROPFIND", path, map[string]string{"Depth": "0"},
			`<D:propfind xmlns:D="DAV:"><D:prop><D:getcontentlength/></D:prop></D:propfind>`)
		m := contentLengthRE.FindStringSubmatch(body)
		if resp.StatusCode != http.StatusMultiStatus || m == nil {
			t.Fatalf("PROPFIND getcontentlength %s: %d %s", path, resp.StatusCode, body)
		}
		n, _ := strconv.Atoi(m[1])
		return n
	}
	check := func(path string) {
		t.Helper()
		resp, body := e.do(t, "alice", "GET", path, nil, "")
		if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Length") != strconv.Itoa(len(body)) {
			t.Fatalf("GET %s: %d Content-Length %q for %d bytes", path, resp.StatusCode, resp.Header.Get("Content-Length"), len(body))
		}
		if n := length(path); n != len(body) {
			t.Errorf("%s: getcontentlength %d, GET answers %d bytes", path, n, len(body))
		}
	}
	for _, path := range []string{"/dav/", "/dav/principals/alice/", "/dav/calendars/", "/dav/calendars/alice/", "/dav/addressbooks/alice/", cal, book} {
		check(path)
	}
	before := length(book)
	e.do(t, "alice", "PUT", book+"b.vcf", nil, testCard("b", "Bea"))
	e.do(t, "alice", "PUT", cal+"b.ics", map[string]string{"Content-Type": "text/calendar"}, vcal(vevent("b", "20260102T100000Z", "20260102T110000Z")))
	if after := length(book); after <= before {
		t.Errorf("address book getcontentlength %d after a PUT, was %d", after, before)
	}
	check(book)
	check(cal)
	// allprop on a calendar leaves it out; a propname lists it.
	_, body := e.do(t, "alice", "PROPFIND", cal, map[string]string{"Depth": "0"}, `<D:propfind xmlns:D="DAV:"><D:allprop/></D:propfind>`)
	if strings.Contains(body, "getcontentlength") {
		t.Errorf("allprop on a calendar computed getcontentlength:\n%s", body)
	}
	_, body = e.do(t, "alice", "PROPFIND", cal, map[string]string{"Depth": "0"}, `<D:propfind xmlns:D="DAV:"><D:propname/></D:propfind>`)
	if !strings.Contains(body, "<D:getcontentlength/>") {
		t.Errorf("propname on a calendar does not list getcontentlength:\n%s", body)
	}
	// GET on a principal says where its homes are.
	_, body = e.do(t, "alice", "GET", "/dav/principals/alice/", nil, "")
	if !strings.Contains(body, "/dav/calendars/alice/") || !strings.Contains(body, "/dav/addressbooks/alice/") {
		t.Errorf("GET on the principal:\n%s", body)
	}
}

// An object's media type is spelled the same in GET and PROPFIND, whatever
// spelling of it the PUT used.
func TestObjectContentTypeSpelling(t *testing.T) {
	e := newTestEnv(t)
	for _, tc := range []struct{ path, ct, body, want string }{
		{"/dav/calendars/alice/calendar/a.ics", "text/calendar; charset=utf-8", vcal(vevent("a", "20260101T100000Z", "20260101T110000Z")), "text/calendar;charset=utf-8"},
		{"/dav/calendars/alice/calendar/b.ics", `text/calendar;charset="UTF-8"`, vcal(vevent("b", "20260101T100000Z", "20260101T110000Z")), "text/calendar;charset=utf-8"},
		{"/dav/addressbooks/alice/contacts/a.vcf", "text/vcard; charset=utf-8", testCard("a", "Ann"), "text/vcard;charset=utf-8"},
	} {
		if resp, body := e.do(t, "alice", "PUT", tc.path, map[string]string{"Content-Type": tc.ct}, tc.body); resp.StatusCode != http.StatusCreated {
			t.Fatalf("PUT %s: %d %s", tc.path, resp.StatusCode, body)
		}
		if resp, _ := e.do(t, "alice", "GET", tc.path, nil, ""); resp.Header.Get("Content-Type") != tc.want {
			t.Errorf("GET %s: Content-Type %q, want %q", tc.path, resp.Header.Get("Content-Type"), tc.want)
		}
		_, body := e.do(t, "alice", "PROPFIND", tc.path, map[string]string{"Depth": "0"}, `<D:propfind xmlns:D="DAV:"><D:prop><D:getcontenttype/></D:prop></D:propfind>`)
		if !strings.Contains(body, "<D:getcontenttype>"+tc.want+"</D:getcontenttype>") {
			t.Errorf("PROPFIND %s: %s", tc.path, body)
		}
	}
}
