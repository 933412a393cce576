package server

import (
	"net/http"
	"strings"
	"testing"

	"github.com/pimvault/pimvault/account"
)

// FuzzShareRequests sends fuzzed XML through the sharing handlers of one
// real server: the owner's CS:share POST, the sharee's CS:invite-reply
// POST to their home, and a PROPFIND of the notification collection. No
// answer may be a server error; a body the parsers refuse changes nothing;
// the store verifies when the run ends.
func FuzzShareRequests(f *testing.F) {
	for _, name := range []string{"share-set.xml", "share-remove.xml", "invite-reply-accept.xml", "invite-reply-decline.xml", "propfind-notifications.xml"} {
		f.Add(sample(f, name, "{{UID}}", account.InviteUID("alice", "calendar", "bob"), "{{HOST}}", "/dav/calendars/alice/calendar"))
	}
	f.Add(`<CS:invite-reply xmlns:D="DAV:" xmlns:CS="http://calendarserver.org/ns/"><CS:invite-accepted/><CS:invite-declined/></CS:invite-reply>`)
	f.Add(`<CS:invite-reply xmlns:CS="http://calendarserver.org/ns/"><CS:invite-accepted/><CS:in-reply-to>` + strings.Repeat("u", 300) + `</CS:in-reply-to></CS:invite-reply>`)
	f.Add(`<CS:share xmlns:D="DAV:" xmlns:CS="http://calendarserver.org/ns/"><CS:set><D:href>/dav/principals/carol/</D:href><CS:read-write/></CS:set></CS:share>`)
	e := newScheduleEnv(f)
	f.Fuzz(func(t *testing.T, body string) {
		if len(body) > 80<<10 {
			return
		}
		_, shareErr := parseShare([]byte(body))
		_, replyErr := parseInviteReply([]byte(body))
		for _, req := range []struct {
			user, method, path string
			refused            bool
		}{
			{"alice", "POST", "/dav/calendars/alice/calendar/", shareErr != nil},
			{"bob", "POST", "/dav/calendars/bob/", replyErr != nil},
			{"bob", "POST", "/dav/addressbooks/bob/", replyErr != nil},
			{"bob", "PROPFIND", "/dav/calendars/bob/notification/", false},
		} {
			head := e.store.Head()
			resp, msg := e.do(t, req.user, req.method, req.path, map[string]string{"Content-Type": "application/xml", "Depth": "1"}, body)
			if resp.StatusCode >= 500 {
				t.Fatalf("%s %s: %d %s", req.method, req.path, resp.StatusCode, msg)
			}
			if req.refused && (resp.StatusCode < 400 || e.store.Head() != head) {
				t.Fatalf("%s %s: a body the parser refuses answered %d (head %d → %d)", req.method, req.path, resp.StatusCode, head, e.store.Head())
			}
			if resp.StatusCode == http.StatusMultiStatus && !strings.Contains(msg, "/dav/calendars/bob/notification/") {
				t.Fatalf("PROPFIND of the notification collection without it:\n%s", msg)
			}
		}
	})
}

// FuzzParseInviteReply: the invite-reply parser refuses or returns a
// reply that names one answer and an invitation.
func FuzzParseInviteReply(f *testing.F) {
	f.Add(sample(f, "invite-reply-accept.xml", "{{UID}}", "abc", "{{HOST}}", "/dav/calendars/alice/calendar"))
	f.Add(sample(f, "invite-reply-decline.xml", "{{UID}}", "", "{{HOST}}", "/dav/addressbooks/alice/contacts/"))
	f.Add(`<invite-reply xmlns="http://calendarserver.org/ns/"><invite-accepted/><hosturl><href xmlns="DAV:">/dav/files/alice/x/</href></hosturl></invite-reply>`)
	f.Fuzz(func(t *testing.T, body string) {
		rep, err := parseInviteReply([]byte(body))
		if err != nil {
			return
		}
		if rep.owner == "" && rep.uid == "" || (rep.owner == "") != (rep.collection == "") || len(rep.uid) > 200 {
			t.Fatalf("accepted %q as %+v", body, rep)
		}
	})
}
