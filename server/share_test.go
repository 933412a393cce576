package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

const shareBody = `<?xml version="1.0" encoding="utf-8"?>
<CS:share xmlns:D="DAV:" xmlns:CS="http://calendarserver.org/ns/">
  <CS:set><D:href>mailto:bob@example.org</D:href><CS:summary>Family</CS:summary><CS:read/></CS:set>
  <CS:set><D:href>/dav/principals/carol/</D:href><CS:read-write/></CS:set>
</CS:share>`

func tokenIn(t *testing.T, body string) string {
	t.Helper()
	m := regexp.MustCompile(`<D:sync-token>([^<]+)</D:sync-token>`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no sync-token in\n%s", body)
	}
	return m[1]
}

func syncReq(tok string) string {
	return `<D:sync-collection xmlns:D="DAV:"><D:sync-token>` + tok + `</D:sync-token><D:sync-level>1</D:sync-level><D:prop><D:getetag/></D:prop></D:sync-collection>`
}

// TestShareCalendar: an owner shares a calendar read-only with one account
// and read-write with another through CS:share; each sees it in their home
// with the right privileges, syncs it, and can do exactly what the grant
// allows; a revoked share is gone.
func TestShareCalendar(t *testing.T) {
	e := newScheduleEnv(t)
	cal := "/dav/calendars/alice/calendar/"
	e.do(t, "alice", "PUT", cal+"one.ics", nil, event("one", "mailto:alice@example.org"))
	// Before sharing, alice's calendar does not exist for bob.
	if resp, _ := e.do(t, "bob", "PROPFIND", cal, map[string]string{"Depth": "0"}, ""); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("unshared: %d", resp.StatusCode)
	}
	if resp, body := e.do(t, "alice", "POST", cal, map[string]string{"Content-Type": "application/xml"}, shareBody); resp.StatusCode != http.StatusOK {
		t.Fatalf("CS:share: %d %s", resp.StatusCode, body)
	}
	// Each sharee accepts their invitation: one through CS:invite-reply,
	// one through /api.
	accept := `<CS:invite-reply xmlns:D="DAV:" xmlns:CS="http://calendarserver.org/ns/"><CS:invite-accepted/><CS:hosturl><D:href>` + cal + `</D:href></CS:hosturl></CS:invite-reply>`
	if resp, body := e.do(t, "bob", "POST", "/dav/calendars/bob/", map[string]string{"Content-Type": "application/xml"}, accept); resp.StatusCode != http.StatusOK {
		t.Fatalf("bob accepts: %d %s", resp.StatusCode, body)
	}
	if resp, body := e.do(t, "carol", "POST", "/api/shares/reply", jsonHdr, `{"owner":"alice","collection":"calendar","accept":true}`); resp.StatusCode != http.StatusOK {
		t.Fatalf("carol accepts: %d %s", resp.StatusCode, body)
	}
	props := `<D:propfind xmlns:D="DAV:" xmlns:CS="http://calendarserver.org/ns/"><D:prop><D:resourcetype/><D:owner/><D:current-user-privilege-set/><D:acl/><CS:invite/><D:sync-token/></D:prop></D:propfind>`
	_, body := e.do(t, "bob", "PROPFIND", "/dav/calendars/bob/", map[string]string{"Depth": "1"}, props)
	i := strings.Index(body, "<D:href>"+cal+"</D:href>")
	if i < 0 {
		t.Fatalf("bob's home does not list alice's calendar:\n%s", body)
	}
	entry := body[i:]
	entry = entry[:strings.Index(entry, "</D:response>")]
	for _, want := range []string{"<CS:shared/>", "<D:owner><D:href>/dav/principals/alice/</D:href></D:owner>", "<D:read/>"} {
		if !strings.Contains(entry, want) {
			t.Errorf("bob's view of the shared calendar lacks %s:\n%s", want, entry)
		}
	}
	if strings.Contains(entry, "write-content") || strings.Contains(entry, "/dav/principals/carol/") {
		t.Errorf("bob's view shows write privileges or another sharee:\n%s", entry)
	}
	_, body = e.do(t, "alice", "PROPFIND", cal, map[string]string{"Depth": "0"}, props)
	for _, want := range []string{"<CS:shared-owner/>", "/dav/principals/bob/", "<CS:read-write/>"} {
		if !strings.Contains(body, want) {
			t.Errorf("alice's view lacks %s:\n%s", want, body)
		}
	}
	// Bob reads and syncs; his PUT is refused with need-privileges and changes nothing.
	if resp, got := e.do(t, "bob", "GET", cal+"one.ics", nil, ""); resp.StatusCode != http.StatusOK || !strings.Contains(got, "UID:one") {
		t.Fatalf("bob's GET: %d", resp.StatusCode)
	}
	_, body = e.do(t, "bob", "REPORT", cal, nil, syncReq(""))
	tok := tokenIn(t, body)
	head := e.store.Head()
	resp, body := e.do(t, "bob", "PUT", cal+"bob.ics", nil, event("bob", "mailto:bob@example.org"))
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "need-privileges") || !strings.Contains(body, "write-content") {
		t.Fatalf("read-only sharee's PUT: %d %s", resp.StatusCode, body)
	}
	for _, req := range []struct{ method, path, body string }{
		{"DELETE", cal + "one.ics", ""}, {"PROPPATCH", cal, `<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><D:displayname>x</D:displayname></D:prop></D:set></D:propertyupdate>`},
		{"POST", cal, shareBody}, {"MOVE", cal + "one.ics", ""}, {"MKCALENDAR", "/dav/calendars/alice/new/", ""},
	} {
		if resp, _ := e.do(t, "bob", req.method, req.path, map[string]string{"Destination": "/dav/calendars/bob/calendar/x.ics"}, req.body); resp.StatusCode != http.StatusForbidden && resp.StatusCode != http.StatusNotFound {
			t.Errorf("read-only sharee's %s %s: %d", req.method, req.path, resp.StatusCode)
		}
	}
	if e.store.Head() != head {
		t.Fatal("refused sharee requests wrote to the store")
	}
	// Carol writes; bob's next sync sees her change.
	if resp, body := e.do(t, "carol", "PUT", cal+"carol.ics", nil, event("carol", "mailto:carol@example.org")); resp.StatusCode != http.StatusCreated {
		t.Fatalf("read-write sharee's PUT: %d %s", resp.StatusCode, body)
	}
	for _, req := range []struct{ method, path, body string }{{"PROPPATCH", cal, `<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><D:displayname>x</D:displayname></D:prop></D:set></D:propertyupdate>`}, {"POST", cal, shareBody}} {
		if resp, _ := e.do(t, "carol", req.method, req.path, nil, req.body); resp.StatusCode != http.StatusForbidden {
			t.Errorf("read-write sharee's %s of the collection: %d", req.method, resp.StatusCode)
		}
	}
	_, body = e.do(t, "bob", "REPORT", cal, nil, syncReq(tok))
	if !strings.Contains(body, cal+"carol.ics") || strings.Contains(body, cal+"one.ics") {
		t.Errorf("bob's incremental sync:\n%s", body)
	}
	if _, err := e.store.Get("alice", "calendar", "carol.ics"); err != nil {
		t.Errorf("carol's object is not in alice's calendar: %v", err)
	}
	// While alice's data is recovering, sharees get 503 too.
	if _, err := e.store.OpenRecovery(context.Background(), "alice", "test", ""); err != nil {
		t.Fatal(err)
	}
	if resp, _ := e.do(t, "bob", "REPORT", cal, nil, syncReq(tok)); resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Errorf("sharee of a recovering owner: %d", resp.StatusCode)
	}
	if _, err := e.store.CloseRecovery(context.Background(), "alice", "test"); err != nil {
		t.Fatal(err)
	}
	// Revoked through /api: gone from bob's home, 404 to him.
	if resp, body := e.do(t, "alice", "POST", "/api/shares", jsonHdr, `{"collection":"calendar","sharee":"bob","access":""}`); resp.StatusCode != http.StatusOK || strings.Contains(body, `"sharee":"bob"`) {
		t.Fatalf("revoke: %d %s", resp.StatusCode, body)
	}
	if _, body := e.do(t, "bob", "PROPFIND", "/dav/calendars/bob/", map[string]string{"Depth": "1"}, ""); strings.Contains(body, cal) {
		t.Errorf("revoked share still in bob's home")
	}
	if resp, _ := e.do(t, "bob", "REPORT", cal, nil, syncReq(tok)); resp.StatusCode != http.StatusNotFound {
		t.Errorf("bob's sync after the revoke: %d", resp.StatusCode)
	}
	// Hostile share requests change nothing: a sharee that is no account, or
	// the owner, fails the whole request with a multistatus (403 for it,
	// 424 for the others, as CalendarServer answers).
	head = e.store.Head()
	for _, c := range []struct {
		body   string
		status int
		want   []string
	}{
		{`<CS:share xmlns:D="DAV:" xmlns:CS="http://calendarserver.org/ns/"><CS:set><D:href>mailto:bob@example.org</D:href></CS:set><CS:set><D:href>mailto:nobody@example.org</D:href></CS:set></CS:share>`, 207,
			[]string{"<D:href>mailto:nobody@example.org</D:href><D:status>HTTP/1.1 403 Forbidden</D:status>", "<D:href>mailto:bob@example.org</D:href><D:status>HTTP/1.1 424 Failed Dependency</D:status>"}},
		{`<CS:share xmlns:D="DAV:" xmlns:CS="http://calendarserver.org/ns/"><CS:set><D:href>mailto:alice@example.org</D:href></CS:set></CS:share>`, 207,
			[]string{"<D:href>mailto:alice@example.org</D:href><D:status>HTTP/1.1 403 Forbidden</D:status>"}},
		{`<x/>`, 400, nil},
	} {
		resp, body := e.do(t, "alice", "POST", cal, map[string]string{"Content-Type": "application/xml"}, c.body)
		if resp.StatusCode != c.status {
			t.Errorf("bad share request: %d, want %d: %s", resp.StatusCode, c.status, c.body)
		}
		for _, w := range c.want {
			if !strings.Contains(body, w) {
				t.Errorf("answer to a bad share request lacks %s:\n%s", w, body)
			}
		}
	}
	// Removing an address that is no account has nothing to do.
	if resp, _ := e.do(t, "alice", "POST", cal, map[string]string{"Content-Type": "application/xml"}, `<CS:share xmlns:D="DAV:" xmlns:CS="http://calendarserver.org/ns/"><CS:remove><D:href>mailto:nobody@example.org</D:href></CS:remove></CS:share>`); resp.StatusCode != http.StatusOK {
		t.Errorf("removing an unknown sharee: %d", resp.StatusCode)
	}
	for _, hdr := range []map[string]string{{"Content-Type": "text/plain"}, {"Content-Type": "application/xml", "Sec-Fetch-Site": "cross-site"}, {"Content-Type": "application/xml", "Origin": "https://evil.example"}} {
		if resp, _ := e.do(t, "alice", "POST", cal, hdr, shareBody); resp.StatusCode < 400 {
			t.Errorf("share request with %v accepted", hdr)
		}
	}
	if e.store.Head() != head {
		t.Error("a refused share request wrote to the store")
	}
	if resp, _ := e.do(t, "alice", "PROPPATCH", cal, nil, `<D:propertyupdate xmlns:D="DAV:" xmlns:S="http://pimvault.org/ns/share/"><D:set><D:prop><S:bob>read</S:bob></D:prop></D:set></D:propertyupdate>`); resp.StatusCode != http.StatusForbidden {
		t.Errorf("grant by PROPPATCH: %d", resp.StatusCode)
	}
	_, body = e.do(t, "bob", "GET", "/api/shares", nil, "")
	if strings.Contains(body, `"collection":"calendar"`) {
		t.Errorf("bob's shares after the revoke: %s", body)
	}
	_, body = e.do(t, "carol", "GET", "/api/shares", nil, "")
	if !strings.Contains(body, `"owner":"alice","collection":"calendar","kind":"calendar","sharee":"carol","access":"read-write"`) {
		t.Errorf("carol's shares: %s", body)
	}
}

// TestShareHistoryNamesSharee: the owner's history, and the preview of an
// undo, show which sharee made a change.
func TestShareHistoryNamesSharee(t *testing.T) {
	e := newScheduleEnv(t)
	if resp, _ := e.do(t, "alice", "POST", "/api/shares", jsonHdr, `{"collection":"contacts","sharee":"bob","access":"read-write"}`); resp.StatusCode != http.StatusOK {
		t.Fatalf("share: %d", resp.StatusCode)
	}
	if resp, _ := e.do(t, "bob", "POST", "/api/shares/reply", jsonHdr, `{"owner":"alice","collection":"contacts","accept":true}`); resp.StatusCode != http.StatusOK {
		t.Fatalf("accept: %d", resp.StatusCode)
	}
	if resp, _ := e.do(t, "bob", "PUT", "/dav/addressbooks/alice/contacts/c.vcf", nil, testCard("c1", "Carl")); resp.StatusCode != http.StatusCreated {
		t.Fatalf("sharee PUT: %d", resp.StatusCode)
	}
	if resp, _ := e.do(t, "alice", "PUT", "/dav/addressbooks/alice/contacts/d.vcf", nil, testCard("d1", "Dora")); resp.StatusCode != http.StatusCreated {
		t.Fatalf("owner PUT: %d", resp.StatusCode)
	}
	if resp, _ := e.do(t, "bob", "DELETE", "/dav/addressbooks/alice/contacts/d.vcf", nil, ""); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("sharee DELETE: %d", resp.StatusCode)
	}
	_, body := e.do(t, "alice", "GET", "/api/history?collection=contacts&limit=3", nil, "")
	var resp struct {
		Entries []struct {
			Seq          uint64
			Op, Name, By string
		}
	}
	if err := json.Unmarshal([]byte(body), &resp); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	h := resp.Entries
	if len(h) != 3 || h[0].Op != "delete" || h[0].By != "bob" || h[1].Name != "d.vcf" || h[1].By != "" || h[2].Name != "c.vcf" || h[2].By != "bob" {
		t.Errorf("history: %+v", h)
	}
	// The owner's undo preview names the sharee on what it takes back.
	_, body = e.do(t, "alice", "POST", "/api/undo", jsonHdr, fmt.Sprintf(`{"collection":"contacts","to_seq":%d,"apply":false}`, h[2].Seq-1))
	var undo struct {
		Items []struct {
			Action, Name string
			By           []string
		}
	}
	if err := json.Unmarshal([]byte(body), &undo); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	if len(undo.Items) != 1 || undo.Items[0].Name != "c.vcf" || len(undo.Items[0].By) != 1 || undo.Items[0].By[0] != "bob" {
		t.Errorf("undo preview: %s", body)
	}
	// The sharee's history of their own data does not hold the owner's changes.
	_, body = e.do(t, "bob", "GET", "/api/history", nil, "")
	if strings.Contains(body, "c.vcf") {
		t.Errorf("bob's own history shows alice's collection: %s", body)
	}
}

// jsonHdr is the header /api POSTs need.
var jsonHdr = map[string]string{"Content-Type": "application/json"}
