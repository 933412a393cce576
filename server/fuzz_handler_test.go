package server

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pimvault/pimvault/account"
	"github.com/pimvault/pimvault/storage"
)

// fuzzMethods are the methods FuzzDAVHandler picks from.
var fuzzMethods = []string{"PROPFIND", "PROPPATCH", "REPORT", "PUT", "GET", "HEAD", "DELETE", "MKCOL", "MKCALENDAR", "MOVE", "COPY", "OPTIONS", "POST", "LOCK"}

// FuzzDAVHandler drives the real handler over a real store with random
// requests grown from real DAV requests: a method, a path, headers and a
// body. Whatever comes in, the handler does not panic, every 207 is
// well-formed XML, and the store verifies afterwards.
func FuzzDAVHandler(f *testing.F) {
	const book = "dav/addressbooks/alice/contacts/"
	const cal = "dav/calendars/alice/calendar/"
	ev := "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//x//x//EN\r\nBEGIN:VEVENT\r\nUID:e1\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20260601T100000Z\r\nDTEND:20260601T110000Z\r\nRRULE:FREQ=DAILY;COUNT=5\r\nSUMMARY:x\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
	seeds := []struct {
		method       int
		path, header string
		body         string
	}{
		{0, book, "Depth: 1", `<D:propfind xmlns:D="DAV:"><D:prop><D:getetag/><D:resourcetype/><Z:x xmlns:Z="urn:z"/></D:prop></D:propfind>`},
		{0, "dav/addressbooks/alice/", "Depth: 1", ""},
		{0, "", "Depth: 0", `<D:propfind xmlns:D="DAV:"><D:propname/></D:propfind>`},
		{0, "dav/calendars/", "Depth: 1", `<D:propfind xmlns:D="DAV:"><D:prop><D:supported-report-set/><D:getcontentlength/></D:prop></D:propfind>`},
		{0, cal, "Depth: 0", `<D:propfind xmlns:D="DAV:"><D:prop><D:getcontentlength/></D:prop></D:propfind>`},
		{8, "dav/calendars/alice/prot/", "", `<C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:set><D:prop><D:getetag>x</D:getetag><D:displayname>n</D:displayname></D:prop></D:set></C:mkcalendar>`},
		{1, book, "", `<D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:z"><D:set><D:prop><D:displayname>n</D:displayname><Z:t><Z:i xmlns:a="urn:a" a:x="1" b="2">v</Z:i></Z:t></D:prop></D:set><D:remove><D:prop><Z:gone/></D:prop></D:remove></D:propertyupdate>`},
		{2, book, "", `<D:sync-collection xmlns:D="DAV:"><D:sync-token></D:sync-token><D:sync-level>1</D:sync-level><D:prop><D:getetag/></D:prop></D:sync-collection>`},
		{2, book, "", `<C:addressbook-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:prop><D:getetag/><C:address-data/></D:prop><D:href>/dav/addressbooks/alice/contacts/s.vcf</D:href></C:addressbook-multiget>`},
		{2, book, "", `<C:addressbook-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:prop><C:address-data/></D:prop><C:filter><C:prop-filter name="FN"><C:text-match>a</C:text-match></C:prop-filter></C:filter></C:addressbook-query>`},
		{2, cal, "", `<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:getetag/><C:calendar-data><C:expand start="20260101T000000Z" end="20270101T000000Z"/></C:calendar-data></D:prop><C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:time-range start="20260101T000000Z" end="20270101T000000Z"/></C:comp-filter></C:comp-filter></C:filter></C:calendar-query>`},
		{2, cal, "", `<C:free-busy-query xmlns:C="urn:ietf:params:xml:ns:caldav"><C:time-range start="20260101T000000Z" end="20260201T000000Z"/></C:free-busy-query>`},
		{3, book + "n.vcf", "Content-Type: text/vcard\nIf-None-Match: *", testCard("n", "New")},
		{3, cal + "e.ics", "Content-Type: text/calendar", ev},
		{3, "dav/files/alice/f.html", "Content-Type: text/html", "<b>x</b>"},
		{4, book + "s.vcf", "", ""},
		{6, book + "s.vcf", "If-Match: \"x\"", ""},
		{7, "dav/addressbooks/alice/office/", "", `<D:mkcol xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:set><D:prop><D:resourcetype><D:collection/><C:addressbook/></D:resourcetype></D:prop></D:set></D:mkcol>`},
		{8, "dav/calendars/alice/other/", "", ""},
		{9, book + "s.vcf", "Destination: /dav/addressbooks/alice/contacts/m.vcf\nOverwrite: F", ""},
		{10, "dav/files/alice/f.html", "Destination: http://elsewhere/dav/files/alice/g.html\nDepth: 0", ""},
		{12, "api/undo", "Content-Type: application/json", `{"collection":"contacts","to_seq":1}`},
		{4, "api/devices", "X-Pimvault-Device: phone-1", ""},
		{12, "api/app-passwords", "Content-Type: application/json\nX-Pimvault-Device: phone-1", `{"label":"Anna's iPhone"}`},
		{6, "api/app-passwords/0123456789", "Content-Type: application/json", ""},
	}
	for _, s := range seeds {
		f.Add(uint8(s.method), s.path, s.header, []byte(s.body))
	}
	st, err := storage.Open(f.TempDir(), storage.Options{})
	if err != nil {
		f.Fatal(err)
	}
	if err := account.AddUser(context.Background(), st, "alice", testPassword); err != nil {
		f.Fatal(err)
	}
	var panicked atomic.Value
	h := New(st, Config{FailedLoginDelay: time.Millisecond}, slog.New(slog.NewTextHandler(io.Discard, nil))).Handler()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v != http.ErrAbortHandler {
					panicked.Store(fmt.Sprintf("%s %s: %v", r.Method, r.URL, v))
				}
				panic(v)
			}
		}()
		h.ServeHTTP(w, r)
	}))
	f.Cleanup(func() {
		srv.Close()
		rep, err := st.Verify(context.Background())
		if err != nil || !rep.OK() {
			f.Errorf("store does not verify after fuzzing: %v\n%v", err, rep)
		}
		st.Close()
	})
	// A member for the requests that name one.
	put, _ := http.NewRequest("PUT", srv.URL+"/"+book+"s.vcf", strings.NewReader(testCard("s", "Seed")))
	put.SetBasicAuth("alice", testPassword)
	if resp, err := http.DefaultClient.Do(put); err != nil {
		f.Fatal(err)
	} else {
		resp.Body.Close()
	}
	client := &http.Client{Timeout: 30 * time.Second}
	var runs atomic.Int64
	f.Fuzz(func(t *testing.T, method uint8, path, header string, body []byte) {
		m := fuzzMethods[int(method)%len(fuzzMethods)]
		req, err := http.NewRequest(m, srv.URL+"/"+strings.TrimLeft(path, "/"), strings.NewReader(string(body)))
		if err != nil {
			return
		}
		sc := bufio.NewScanner(strings.NewReader(header))
		for sc.Scan() {
			k, v, ok := strings.Cut(sc.Text(), ":")
			if ok && k != "" {
				req.Header.Add(strings.TrimSpace(k), strings.TrimSpace(v))
			}
		}
		req.SetBasicAuth("alice", testPassword)
		resp, err := client.Do(req)
		if p := panicked.Load(); p != nil {
			t.Fatalf("handler panicked: %v", p)
		}
		if err != nil {
			return // a request the client library would not send, or a cut stream
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusMultiStatus {
			if err := wellFormed(string(b)); err != nil {
				t.Fatalf("%s /%s answered a 207 that is not XML: %v\n%.500s", m, path, err, b)
			}
		}
		if runs.Add(1)%500 == 0 {
			if rep, err := st.Verify(context.Background()); err != nil || !rep.OK() {
				t.Fatalf("store does not verify: %v\n%v", err, rep)
			}
		}
	})
}
