package server

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pimvault/pimvault/account"
	"github.com/pimvault/pimvault/storage"
)

// TestShareHostileSharee: what a sharee may not do to the owner's
// collection gets an exact refusal, with the privilege named, and changes
// nothing: a read-only sharee's PROPPATCH, any sharee's re-share,
// MKCALENDAR in the owner's home and MOVE out of the collection; a
// sharee's DELETE of the collection only takes it out of their home; ACL is no method of this server (405, for owner
// and sharee alike: the ACL is changed by sharing); an invitation not yet
// accepted gives nothing.
func TestShareHostileSharee(t *testing.T) {
	e := newScheduleEnv(t)
	cal := "/dav/calendars/alice/calendar/"
	e.do(t, "alice", "PUT", cal+"one.ics", nil, event("one", "mailto:alice@example.org"))
	for _, g := range []string{`{"collection":"calendar","sharee":"bob","access":"read"}`, `{"collection":"calendar","sharee":"carol","access":"read-write"}`} {
		if resp, body := e.do(t, "alice", "POST", "/api/shares", jsonHdr, g); resp.StatusCode != http.StatusOK {
			t.Fatalf("invite: %d %s", resp.StatusCode, body)
		}
	}
	proppatch := `<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><D:displayname>mine now</D:displayname></D:prop></D:set></D:propertyupdate>`
	acl := `<D:acl xmlns:D="DAV:"><D:ace><D:principal><D:href>/dav/principals/bob/</D:href></D:principal><D:grant><D:privilege><D:all/></D:privilege></D:grant></D:ace></D:acl>`
	reshare := `<CS:share xmlns:D="DAV:" xmlns:CS="http://calendarserver.org/ns/"><CS:set><D:href>/dav/principals/bob/</D:href><CS:read-write/></CS:set></CS:share>`
	type req struct {
		user, method, path, body string
		hdr                      map[string]string
		status                   int
		priv                     string // the need-privileges privilege, for a 403
	}
	xml := map[string]string{"Content-Type": "application/xml"}
	// Invited, not accepted: nothing of alice's exists for them.
	for _, r := range []req{
		{"bob", "GET", cal + "one.ics", "", nil, 404, ""},
		{"carol", "PUT", cal + "x.ics", event("x", "mailto:carol@example.org"), nil, 404, ""},
		{"carol", "PROPFIND", cal, "", map[string]string{"Depth": "0"}, 404, ""},
	} {
		if resp, body := e.do(t, r.user, r.method, r.path, r.hdr, r.body); resp.StatusCode != r.status {
			t.Errorf("%s's %s %s before accepting: %d %s", r.user, r.method, r.path, resp.StatusCode, body)
		}
	}
	for _, u := range []string{"bob", "carol"} {
		if resp, body := e.do(t, u, "POST", "/api/shares/reply", jsonHdr, `{"owner":"alice","collection":"calendar","accept":true}`); resp.StatusCode != http.StatusOK {
			t.Fatalf("%s accepts: %d %s", u, resp.StatusCode, body)
		}
	}
	head := e.store.Head()
	for _, r := range []req{
		{"bob", "PROPPATCH", cal, proppatch, nil, 403, "write-properties"},
		{"carol", "PROPPATCH", cal, proppatch, nil, 403, "write-properties"},
		{"bob", "POST", cal, reshare, xml, 403, "share"},
		{"carol", "POST", cal, reshare, xml, 403, "share"},
		{"bob", "DELETE", cal + "one.ics", "", nil, 403, "unbind"},
		{"bob", "PUT", cal + "one.ics", event("one", "mailto:bob@example.org"), nil, 403, "write-content"},
		{"bob", "ACL", cal, acl, xml, 405, ""},
		{"carol", "ACL", cal, acl, xml, 405, ""},
		{"carol", "MOVE", cal + "one.ics", "", map[string]string{"Destination": "/dav/calendars/carol/calendar/one.ics"}, 403, "bind"},
		{"carol", "MKCALENDAR", "/dav/calendars/alice/other/", "", nil, 404, ""},
		{"alice", "ACL", cal, acl, xml, 405, ""},
	} {
		resp, body := e.do(t, r.user, r.method, r.path, r.hdr, r.body)
		if resp.StatusCode != r.status || r.priv != "" && (!strings.Contains(body, "need-privileges") || !strings.Contains(body, "<D:"+r.priv+"/>")) {
			t.Errorf("%s's %s %s: %d, want %d need-privileges %s:\n%s", r.user, r.method, r.path, resp.StatusCode, r.status, r.priv, body)
		}
	}
	if e.store.Head() != head {
		t.Fatal("a refused sharee request wrote to the store")
	}
	// The owner's view is unchanged: her name, her two sharees.
	invite := `<D:propfind xmlns:D="DAV:" xmlns:CS="http://calendarserver.org/ns/"><D:prop><D:displayname/><CS:invite/></D:prop></D:propfind>`
	_, body := e.do(t, "alice", "PROPFIND", cal, map[string]string{"Depth": "0"}, invite)
	if strings.Contains(body, "mine now") || strings.Count(body, "<CS:invite-accepted/>") != 2 {
		t.Errorf("alice's calendar after the refusals:\n%s", body)
	}
	// A sharee's DELETE of the collection (Calendar's unsubscribe) takes it
	// out of their home only: one change, the grant declined; alice's
	// calendar and its events stay, and the other sharee keeps access.
	if resp, body := e.do(t, "bob", "DELETE", cal, nil, ""); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("bob's DELETE of the shared calendar: %d %s", resp.StatusCode, body)
	}
	if e.store.Head() != head+1 {
		t.Errorf("leaving wrote %d changes, want 1", e.store.Head()-head)
	}
	if _, err := e.store.Get("alice", "calendar", "one.ics"); err != nil {
		t.Errorf("alice's event after bob left: %v", err)
	}
	if resp, _ := e.do(t, "bob", "GET", cal+"one.ics", nil, ""); resp.StatusCode != http.StatusNotFound {
		t.Errorf("bob after leaving: %d", resp.StatusCode)
	}
	if resp, _ := e.do(t, "bob", "DELETE", cal, nil, ""); resp.StatusCode != http.StatusNotFound {
		t.Errorf("bob's second DELETE: %d", resp.StatusCode)
	}
	if resp, _ := e.do(t, "carol", "GET", cal+"one.ics", nil, ""); resp.StatusCode != http.StatusOK {
		t.Errorf("carol after bob left: %d", resp.StatusCode)
	}
	_, body = e.do(t, "alice", "PROPFIND", cal, map[string]string{"Depth": "0"}, invite)
	if !strings.Contains(body, "/dav/principals/bob/</D:href><CS:common-name>bob</CS:common-name><CS:invite-declined/>") {
		t.Errorf("alice's CS:invite after bob left:\n%s", body)
	}
}

// TestShareSyncTokens: a sharee's sync tokens are the owner's collection's,
// with the same rules as the owner's own: a token of the shared collection
// is refused on the sharee's own calendar (and the other way round), a
// token from before the owner deleted and made the collection again is
// refused with valid-sync-token, and while the owner's data is recovering
// the sharee's sync and write get 503 with Retry-After, then work again.
func TestShareSyncTokens(t *testing.T) {
	e := newScheduleEnv(t)
	cal := "/dav/calendars/alice/calendar/"
	e.do(t, "alice", "PUT", cal+"one.ics", nil, event("one", "mailto:alice@example.org"))
	share := func() {
		t.Helper()
		if resp, body := e.do(t, "alice", "POST", "/api/shares", jsonHdr, `{"collection":"calendar","sharee":"bob","access":"read-write"}`); resp.StatusCode != http.StatusOK {
			t.Fatalf("invite: %d %s", resp.StatusCode, body)
		}
		if resp, body := e.do(t, "bob", "POST", "/api/shares/reply", jsonHdr, `{"owner":"alice","collection":"calendar","accept":true}`); resp.StatusCode != http.StatusOK {
			t.Fatalf("accept: %d %s", resp.StatusCode, body)
		}
	}
	share()
	_, body := e.do(t, "bob", "REPORT", cal, nil, syncReq(""))
	shared := tokenIn(t, body)
	_, body = e.do(t, "bob", "REPORT", "/dav/calendars/bob/calendar/", nil, syncReq(""))
	own := tokenIn(t, body)
	for _, c := range []struct{ path, tok string }{{"/dav/calendars/bob/calendar/", shared}, {cal, own}} {
		if resp, body := e.do(t, "bob", "REPORT", c.path, nil, syncReq(c.tok)); resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "valid-sync-token") {
			t.Errorf("a token of another collection on %s: %d %s", c.path, resp.StatusCode, body)
		}
	}
	// Recovering owner: 503 at once, then the same token goes on. An answer
	// to an invitation (a change of the owner's collection) waits too.
	if resp, _ := e.do(t, "alice", "POST", "/api/shares", jsonHdr, `{"collection":"calendar","sharee":"carol","access":"read"}`); resp.StatusCode != http.StatusOK {
		t.Fatalf("invite carol: %d", resp.StatusCode)
	}
	if _, err := e.store.OpenRecovery(t.Context(), "alice", "test", ""); err != nil {
		t.Fatal(err)
	}
	head := e.store.Head()
	for _, r := range []struct{ path, body string }{
		{"/api/shares/reply", `{"owner":"alice","collection":"calendar","accept":true}`},
		{"/dav/calendars/carol/", `<CS:invite-reply xmlns:D="DAV:" xmlns:CS="http://calendarserver.org/ns/"><CS:invite-accepted/><CS:hosturl><D:href>` + cal + `</D:href></CS:hosturl></CS:invite-reply>`},
	} {
		hdr := jsonHdr
		if strings.HasPrefix(r.path, "/dav/") {
			hdr = map[string]string{"Content-Type": "application/xml"}
		}
		if resp, _ := e.do(t, "carol", "POST", r.path, hdr, r.body); resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
			t.Errorf("an answer to an invitation while the owner recovers (%s): %d", r.path, resp.StatusCode)
		}
	}
	if e.store.Head() != head {
		t.Error("an answer during the owner's recovery wrote to the store")
	}
	for _, r := range []struct{ method, path, body string }{{"REPORT", cal, syncReq(shared)}, {"PUT", cal + "bob.ics", event("bob", "mailto:bob@example.org")}} {
		if resp, _ := e.do(t, "bob", r.method, r.path, nil, r.body); resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
			t.Errorf("sharee's %s while the owner recovers: %d", r.method, resp.StatusCode)
		}
	}
	if _, err := e.store.CloseRecovery(t.Context(), "alice", "test"); err != nil {
		t.Fatal(err)
	}
	if resp, _ := e.do(t, "bob", "PUT", cal+"bob.ics", nil, event("bob", "mailto:bob@example.org")); resp.StatusCode != http.StatusCreated {
		t.Fatalf("sharee's PUT after the recovery: %d", resp.StatusCode)
	}
	resp, body := e.do(t, "bob", "REPORT", cal, nil, syncReq(shared))
	if resp.StatusCode != http.StatusMultiStatus || !strings.Contains(body, cal+"bob.ics") || strings.Contains(body, cal+"one.ics") {
		t.Fatalf("sharee's incremental sync after the recovery: %d\n%s", resp.StatusCode, body)
	}
	// The owner deletes the calendar and makes it again: the grant went with
	// it; shared again, the old token is refused, not silently reused.
	if resp, _ := e.do(t, "alice", "DELETE", cal, nil, ""); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("owner's DELETE: %d", resp.StatusCode)
	}
	if resp, _ := e.do(t, "bob", "REPORT", cal, nil, syncReq(shared)); resp.StatusCode != http.StatusNotFound {
		t.Errorf("sharee's sync of a deleted calendar: %d", resp.StatusCode)
	}
	if resp, body := e.do(t, "alice", "MKCALENDAR", cal, nil, ""); resp.StatusCode != http.StatusCreated {
		t.Fatalf("MKCALENDAR: %d %s", resp.StatusCode, body)
	}
	if resp, _ := e.do(t, "bob", "GET", cal+"bob.ics", nil, ""); resp.StatusCode != http.StatusNotFound {
		t.Errorf("the grant outlived the collection: %d", resp.StatusCode)
	}
	share()
	if resp, body := e.do(t, "bob", "REPORT", cal, nil, syncReq(shared)); resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "valid-sync-token") {
		t.Errorf("a token from before the collection was made again: %d %s", resp.StatusCode, body)
	}
}

// TestSharePendingLimit: a sharee holds at most account.MaxPendingInvites
// invitations; a CS:share naming one at the limit answers a multistatus
// (403 for them, 424 for the others) and invites nobody.
func TestSharePendingLimit(t *testing.T) {
	e := newScheduleEnv(t)
	ctx := t.Context()
	for i := 0; i < account.MaxPendingInvites; i++ {
		name := fmt.Sprintf("c%02d", i)
		if _, err := e.store.Commit(ctx, storage.Change{Op: storage.OpCreateCollection, Principal: "carol", Collection: name, Kind: "calendar"}); err != nil {
			t.Fatal(err)
		}
		if err := account.Invite(ctx, e.store, "carol", name, "bob", account.ShareRead, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	cal := "/dav/calendars/alice/calendar/"
	body := `<CS:share xmlns:D="DAV:" xmlns:CS="http://calendarserver.org/ns/">` +
		`<CS:set><D:href>/dav/principals/carol/</D:href><CS:read/></CS:set>` +
		`<CS:set><D:href>mailto:bob@example.org</D:href><CS:read/></CS:set>` +
		`<CS:set><D:href>/dav/principals/carol/</D:href><CS:read-write/></CS:set></CS:share>`
	resp, got := e.do(t, "alice", "POST", cal, map[string]string{"Content-Type": "application/xml"}, body)
	for _, want := range []string{
		"<D:href>mailto:bob@example.org</D:href><D:status>HTTP/1.1 403 Forbidden</D:status>",
		"<D:href>/dav/principals/carol/</D:href><D:status>HTTP/1.1 424 Failed Dependency</D:status>",
	} {
		if resp.StatusCode != http.StatusMultiStatus || !strings.Contains(got, want) {
			t.Errorf("CS:share over bob's limit: %d, lacks %s:\n%s", resp.StatusCode, want, got)
		}
	}
	c, err := e.store.Collection("alice", "calendar")
	if err != nil {
		t.Fatal(err)
	}
	if g := account.AllGrants(c); len(g) != 0 {
		t.Errorf("grants after the refused share: %+v", g)
	}
	if resp, body := e.do(t, "alice", "POST", "/api/shares", jsonHdr, `{"collection":"calendar","sharee":"bob","access":"read"}`); resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "invitations waiting") {
		t.Errorf("/api invitation over bob's limit: %d %s", resp.StatusCode, body)
	}
}
