package server

import (
	"net/http"
	"strings"
	"testing"
)

// TestShareHostileSharee: what a sharee may not do to the owner's
// collection gets an exact refusal, with the privilege named, and changes
// nothing: a read-only sharee's PROPPATCH, any sharee's re-share, delete
// of the collection, MKCALENDAR in the owner's home and MOVE
// out of the collection; ACL is no method of this server (405, for owner
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
		{"bob", "DELETE", cal, "", nil, 403, "unbind"},
		{"carol", "DELETE", cal, "", nil, 403, "unbind"},
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
	_, body := e.do(t, "alice", "PROPFIND", cal, map[string]string{"Depth": "0"}, `<D:propfind xmlns:D="DAV:" xmlns:CS="http://calendarserver.org/ns/"><D:prop><D:displayname/><CS:invite/></D:prop></D:propfind>`)
	if strings.Contains(body, "mine now") || strings.Count(body, "<CS:invite-accepted/>") != 2 {
		t.Errorf("alice's calendar after the refusals:\n%s", body)
	}
}
