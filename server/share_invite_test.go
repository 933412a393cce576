package server

import (
	"encoding/json"
	"encoding/xml"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/pimvault/pimvault/account"
)

// sample reads a request body of testdata/sharing with its placeholders
// filled in.
func sample(t testing.TB, name string, fill ...string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "sharing", name))
	if err != nil {
		t.Fatal(err)
	}
	return strings.NewReplacer(fill...).Replace(string(b))
}

var xmlHdr = map[string]string{"Content-Type": "application/xml; charset=utf-8"}

// notificationDoc is what a client reads of a CS:notification.
type notificationDoc struct {
	XMLName xml.Name `xml:"http://calendarserver.org/ns/ notification"`
	DTStamp string   `xml:"http://calendarserver.org/ns/ dtstamp"`
	Invite  struct {
		SharedType string    `xml:"shared-type,attr"`
		UID        string    `xml:"http://calendarserver.org/ns/ uid"`
		Href       string    `xml:"DAV: href"`
		NoResponse *struct{} `xml:"http://calendarserver.org/ns/ invite-noresponse"`
		ReadWrite  *struct{} `xml:"http://calendarserver.org/ns/ access>read-write"`
		Read       *struct{} `xml:"http://calendarserver.org/ns/ access>read"`
		HostURL    struct {
			Href string `xml:"DAV: href"`
		} `xml:"http://calendarserver.org/ns/ hosturl"`
		Organizer struct {
			Href string `xml:"DAV: href"`
		} `xml:"http://calendarserver.org/ns/ organizer"`
		Summary string `xml:"http://calendarserver.org/ns/ summary"`
	} `xml:"http://calendarserver.org/ns/ invite-notification"`
	Reply *struct {
		SharedType string    `xml:"shared-type,attr"`
		Href       string    `xml:"DAV: href"`
		Accepted   *struct{} `xml:"http://calendarserver.org/ns/ invite-accepted"`
		Declined   *struct{} `xml:"http://calendarserver.org/ns/ invite-declined"`
		InReplyTo  string    `xml:"http://calendarserver.org/ns/ in-reply-to"`
		HostURL    struct {
			Href string `xml:"DAV: href"`
		} `xml:"http://calendarserver.org/ns/ hosturl"`
	} `xml:"http://calendarserver.org/ns/ invite-reply"`
}

// notifications lists a user's notification collection (Depth 1, as
// Calendar asks) and GETs each member.
func notifications(t *testing.T, e *testEnv, user string) (ctag string, docs []notificationDoc, hrefs []string) {
	t.Helper()
	col := "/dav/calendars/" + user + "/notification/"
	resp, body := e.do(t, user, "PROPFIND", col, map[string]string{"Depth": "1"}, sample(t, "propfind-notifications.xml"))
	if resp.StatusCode != http.StatusMultiStatus {
		t.Fatalf("PROPFIND %s: %d %s", col, resp.StatusCode, body)
	}
	if !strings.Contains(body, "<CS:notification/>") {
		t.Errorf("the notification collection's resourcetype lacks CS:notification:\n%s", body)
	}
	m := regexp.MustCompile(`<CS:getctag>([^<]+)</CS:getctag>`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no getctag:\n%s", body)
	}
	for _, h := range regexp.MustCompile(`<D:href>([^<]+\.xml)</D:href>`).FindAllStringSubmatch(body, -1) {
		if !strings.Contains(body, `<CS:notificationtype><CS:invite-notification shared-type="`) && !strings.Contains(body, `<CS:notificationtype><CS:invite-reply shared-type="`) {
			t.Errorf("member %s without CS:notificationtype:\n%s", h[1], body)
		}
		resp, got := e.do(t, user, "GET", h[1], nil, "")
		if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/xml") || resp.Header.Get("ETag") == "" {
			t.Fatalf("GET %s: %d %v", h[1], resp.StatusCode, resp.Header)
		}
		var d notificationDoc
		if err := xml.Unmarshal([]byte(got), &d); err != nil {
			t.Fatalf("GET %s: %v\n%s", h[1], err, got)
		}
		docs, hrefs = append(docs, d), append(hrefs, h[1])
	}
	return m[1], docs, hrefs
}

// TestShareInviteAppleFlow: the sharing flow as Apple's Calendar drives it.
// The owner's CS:share makes invitations, not access; each sharee finds
// theirs through CS:notification-URL, reads the CS:invite-notification, and
// accepts (the calendar appears in their home, they can write to it) or
// declines (nothing appears; a later accept needs a new invitation). The
// owner's CS:invite shows each answer; every step is a journalled change
// of the owner's collection.
func TestShareInviteAppleFlow(t *testing.T) {
	e := newScheduleEnv(t)
	cal := "/dav/calendars/alice/calendar/"
	e.do(t, "alice", "PUT", cal+"one.ics", nil, event("one", "mailto:alice@example.org"))
	e.do(t, "alice", "PROPPATCH", cal, nil, `<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><D:displayname>Family &amp; friends</D:displayname></D:prop></D:set></D:propertyupdate>`)
	if resp, _ := e.do(t, "alice", "OPTIONS", cal, nil, ""); !strings.Contains(resp.Header.Get("DAV"), "calendarserver-sharing") {
		t.Fatalf("DAV header without calendarserver-sharing: %q", resp.Header.Get("DAV"))
	}
	if resp, body := e.do(t, "alice", "POST", cal, xmlHdr, sample(t, "share-set.xml")); resp.StatusCode != http.StatusOK {
		t.Fatalf("CS:share: %d %s", resp.StatusCode, body)
	}
	// Invited is not shared: nothing in the sharees' homes, 404 for them.
	for _, u := range []string{"bob", "carol"} {
		if _, body := e.do(t, u, "PROPFIND", "/dav/calendars/"+u+"/", map[string]string{"Depth": "1"}, ""); strings.Contains(body, cal) {
			t.Errorf("%s's home lists an invitation not accepted yet", u)
		}
		if resp, _ := e.do(t, u, "GET", cal+"one.ics", nil, ""); resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s reads before accepting: %d", u, resp.StatusCode)
		}
	}
	invite := `<D:propfind xmlns:D="DAV:" xmlns:CS="http://calendarserver.org/ns/"><D:prop><CS:invite/><D:resourcetype/></D:prop></D:propfind>`
	_, body := e.do(t, "alice", "PROPFIND", cal, map[string]string{"Depth": "0"}, invite)
	for _, want := range []string{
		"<CS:user><D:href>/dav/principals/bob/</D:href><CS:common-name>bob</CS:common-name><CS:invite-noresponse/><CS:access><CS:read-write/></CS:access></CS:user>",
		"<CS:user><D:href>/dav/principals/carol/</D:href><CS:common-name>carol</CS:common-name><CS:invite-noresponse/><CS:access><CS:read/></CS:access></CS:user>",
		"<CS:shared-owner/>",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the owner's CS:invite lacks %s:\n%s", want, body)
		}
	}
	// Bob finds his notification collection on his principal.
	_, body = e.do(t, "bob", "PROPFIND", "/dav/principals/bob/", map[string]string{"Depth": "0"}, sample(t, "propfind-principal.xml"))
	if !strings.Contains(body, "<CS:notification-URL><D:href>/dav/calendars/bob/notification/</D:href></CS:notification-URL>") {
		t.Fatalf("bob's principal lacks CS:notification-URL:\n%s", body)
	}
	ctag, docs, hrefs := notifications(t, e, "bob")
	if len(docs) != 1 {
		t.Fatalf("bob has %d notifications, want 1", len(docs))
	}
	n := docs[0].Invite
	if docs[0].DTStamp == "" || n.SharedType != "calendar" || n.UID != account.InviteUID("alice", "calendar", "bob") || n.HostURL.Href != cal ||
		n.Organizer.Href != "/dav/principals/alice/" || n.Href != "/dav/principals/bob/" || n.ReadWrite == nil || n.NoResponse == nil || n.Summary != "Family & friends" {
		t.Errorf("bob's invitation: %+v", docs[0])
	}
	// Another account sees neither bob's notifications nor can answer for him.
	if resp, _ := e.do(t, "carol", "PROPFIND", "/dav/calendars/bob/notification/", map[string]string{"Depth": "1"}, ""); resp.StatusCode != http.StatusNotFound {
		t.Errorf("carol lists bob's notifications: %d", resp.StatusCode)
	}
	if resp, _ := e.do(t, "carol", "GET", hrefs[0], nil, ""); resp.StatusCode != http.StatusNotFound {
		t.Errorf("carol reads bob's notification: %d", resp.StatusCode)
	}
	head := e.store.Head()
	if resp, _ := e.do(t, "carol", "POST", "/dav/calendars/bob/", xmlHdr, sample(t, "invite-reply-accept.xml", "{{UID}}", n.UID, "{{HOST}}", strings.TrimSuffix(cal, "/"))); resp.StatusCode != http.StatusNotFound {
		t.Errorf("carol's reply in bob's home: %d", resp.StatusCode)
	}
	if resp, _ := e.do(t, "carol", "POST", "/dav/calendars/carol/", xmlHdr, sample(t, "invite-reply-accept.xml", "{{UID}}", n.UID, "{{HOST}}", strings.TrimSuffix(cal, "/"))); resp.StatusCode != http.StatusForbidden {
		t.Errorf("carol answering with bob's invitation uid: %d", resp.StatusCode)
	}
	if e.store.Head() != head {
		t.Fatal("a refused reply wrote to the store")
	}
	// Bob accepts, as Calendar does: hosturl without the trailing slash.
	resp, body := e.do(t, "bob", "POST", "/dav/calendars/bob/", xmlHdr, sample(t, "invite-reply-accept.xml", "{{UID}}", n.UID, "{{HOST}}", strings.TrimSuffix(cal, "/")))
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "<CS:shared-as xmlns:D=\"DAV:\" xmlns:CS=\"http://calendarserver.org/ns/\"><D:href>"+strings.TrimSuffix(cal, "/")+"</D:href></CS:shared-as>") {
		t.Fatalf("accept: %d %s", resp.StatusCode, body)
	}
	ctag2, docs, _ := notifications(t, e, "bob")
	if len(docs) != 0 || ctag2 == ctag {
		t.Errorf("after accepting: %d notifications, ctag %s → %s", len(docs), ctag, ctag2)
	}
	props := `<D:propfind xmlns:D="DAV:" xmlns:CS="http://calendarserver.org/ns/"><D:prop><D:resourcetype/><CS:shared-url/><D:current-user-privilege-set/><CS:invite/></D:prop></D:propfind>`
	_, body = e.do(t, "bob", "PROPFIND", "/dav/calendars/bob/", map[string]string{"Depth": "1"}, props)
	if !strings.Contains(body, "<D:href>"+cal+"</D:href>") || !strings.Contains(body, "<CS:shared/>") ||
		!strings.Contains(body, "<CS:invite><CS:organizer><D:href>/dav/principals/alice/</D:href>") || strings.Contains(body, "/dav/principals/carol/") ||
		!strings.Contains(body, "<CS:shared-url><D:href>"+cal+"</D:href></CS:shared-url>") || !strings.Contains(body, "<D:write-content/>") {
		t.Errorf("bob's home after accepting:\n%s", body)
	}
	if resp, body := e.do(t, "bob", "PUT", cal+"bob.ics", nil, event("bob", "mailto:bob@example.org")); resp.StatusCode != http.StatusCreated {
		t.Fatalf("bob's PUT after accepting: %d %s", resp.StatusCode, body)
	}
	// Alice is told of bob's answer (CS:invite-reply) until she dismisses it.
	_, docs, aliceHrefs := notifications(t, e, "alice")
	if len(docs) != 1 || docs[0].Reply == nil || docs[0].Reply.Accepted == nil || docs[0].Reply.Href != "/dav/principals/bob/" ||
		docs[0].Reply.InReplyTo != n.UID || docs[0].Reply.HostURL.Href != cal || docs[0].Reply.SharedType != "calendar" {
		t.Fatalf("alice's notifications after bob accepted: %+v", docs)
	}
	if resp, _ := e.do(t, "alice", "DELETE", aliceHrefs[0], nil, ""); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("alice dismisses bob's answer: %d", resp.StatusCode)
	}
	if _, docs, _ = notifications(t, e, "alice"); len(docs) != 0 {
		t.Errorf("alice's dismissed answer is still listed")
	}
	if resp, _ := e.do(t, "bob", "PUT", cal+"bob2.ics", nil, event("bob2", "mailto:bob@example.org")); resp.StatusCode != http.StatusCreated {
		t.Errorf("bob's access after alice dismissed his answer: %d", resp.StatusCode)
	}
	// Carol declines by deleting the notification (Calendar's "ignore").
	_, docs, hrefs = notifications(t, e, "carol")
	if len(docs) != 1 || docs[0].Invite.Read == nil {
		t.Fatalf("carol's notifications: %+v", docs)
	}
	if resp, _ := e.do(t, "carol", "DELETE", hrefs[0], nil, ""); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("DELETE of the invitation: %d", resp.StatusCode)
	}
	if _, docs, _ = notifications(t, e, "carol"); len(docs) != 0 {
		t.Errorf("carol's declined invitation is still listed")
	}
	if _, docs, _ = notifications(t, e, "alice"); len(docs) != 1 || docs[0].Reply == nil || docs[0].Reply.Declined == nil || docs[0].Reply.Href != "/dav/principals/carol/" {
		t.Errorf("alice's notifications after carol declined: %+v", docs)
	}
	_, body = e.do(t, "alice", "PROPFIND", cal, map[string]string{"Depth": "0"}, invite)
	for _, want := range []string{"/dav/principals/bob/</D:href><CS:common-name>bob</CS:common-name><CS:invite-accepted/>", "/dav/principals/carol/</D:href><CS:common-name>carol</CS:common-name><CS:invite-declined/>"} {
		if !strings.Contains(body, want) {
			t.Errorf("the owner's CS:invite lacks %s:\n%s", want, body)
		}
	}
	if resp, _ := e.do(t, "carol", "GET", cal+"one.ics", nil, ""); resp.StatusCode != http.StatusNotFound {
		t.Errorf("carol reads after declining: %d", resp.StatusCode)
	}
	// A declined invitation is not accepted later without a new one.
	uid := account.InviteUID("alice", "calendar", "carol")
	if resp, _ := e.do(t, "carol", "POST", "/dav/calendars/carol/", xmlHdr, sample(t, "invite-reply-accept.xml", "{{UID}}", uid, "{{HOST}}", cal)); resp.StatusCode != http.StatusForbidden {
		t.Errorf("accepting a declined invitation: %d", resp.StatusCode)
	}
	if resp, body := e.do(t, "alice", "POST", cal, xmlHdr, sample(t, "share-set.xml")); resp.StatusCode != http.StatusOK {
		t.Fatalf("CS:share again: %d %s", resp.StatusCode, body)
	}
	if _, docs, _ = notifications(t, e, "carol"); len(docs) != 1 {
		t.Fatalf("carol, invited again, has %d notifications", len(docs))
	}
	if _, docs, _ = notifications(t, e, "bob"); len(docs) != 0 {
		t.Errorf("bob, who accepted, was invited again")
	}
	if resp, body := e.do(t, "carol", "POST", "/dav/calendars/carol/", xmlHdr, sample(t, "invite-reply-decline.xml", "{{UID}}", uid, "{{HOST}}", cal)); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("CS:invite-reply decline: %d %s", resp.StatusCode, body)
	}
	// The owner takes bob back: gone from his home.
	if resp, body := e.do(t, "alice", "POST", cal, xmlHdr, sample(t, "share-remove.xml")); resp.StatusCode != http.StatusOK {
		t.Fatalf("CS:share remove: %d %s", resp.StatusCode, body)
	}
	if resp, _ := e.do(t, "bob", "GET", cal+"one.ics", nil, ""); resp.StatusCode != http.StatusNotFound {
		t.Errorf("bob reads after removal: %d", resp.StatusCode)
	}
	// Every step is in the owner's journal; bob's write names him.
	_, body = e.do(t, "alice", "GET", "/api/history?collection=calendar&limit=20", nil, "")
	var h struct {
		Entries []struct{ Op, Name, By string }
	}
	if err := json.Unmarshal([]byte(body), &h); err != nil {
		t.Fatal(err)
	}
	setProps, byBob := 0, false
	for _, en := range h.Entries {
		if en.Op == "set-props" {
			setProps++
		}
		if en.Name == "bob.ics" && en.By == "bob" {
			byBob = true
		}
	}
	// displayname, two invitations, accept, alice dismisses the answer,
	// decline, carol invited again (bob's accepted grant is unchanged),
	// decline, remove.
	if setProps != 9 || !byBob {
		t.Errorf("alice's history (%d property changes, bob's PUT named: %v): %s", setProps, byBob, body)
	}
}

// TestShareInviteHostile: malformed, oversized, cross-site and misdirected
// sharing requests are refused with a clear status and change nothing.
func TestShareInviteHostile(t *testing.T) {
	e := newScheduleEnv(t)
	cal := "/dav/calendars/alice/calendar/"
	if resp, _ := e.do(t, "alice", "POST", cal, xmlHdr, sample(t, "share-set.xml")); resp.StatusCode != http.StatusOK {
		t.Fatalf("CS:share: %d", resp.StatusCode)
	}
	uid := account.InviteUID("alice", "calendar", "bob")
	head := e.store.Head()
	reply := func(inner string) string {
		return `<CS:invite-reply xmlns:D="DAV:" xmlns:CS="http://calendarserver.org/ns/">` + inner + `</CS:invite-reply>`
	}
	for _, c := range []struct {
		name, path string
		hdr        map[string]string
		body       string
		want       int
	}{
		{"no answer", "/dav/calendars/bob/", xmlHdr, reply(`<CS:hosturl><D:href>` + cal + `</D:href></CS:hosturl>`), 400},
		{"both answers", "/dav/calendars/bob/", xmlHdr, reply(`<CS:invite-accepted/><CS:invite-declined/><CS:in-reply-to>` + uid + `</CS:in-reply-to>`), 400},
		{"no invitation named", "/dav/calendars/bob/", xmlHdr, reply(`<CS:invite-accepted/>`), 400},
		{"unknown uid", "/dav/calendars/bob/", xmlHdr, reply(`<CS:invite-accepted/><CS:in-reply-to>nope</CS:in-reply-to>`), 403},
		{"hosturl not a collection", "/dav/calendars/bob/", xmlHdr, reply(`<CS:invite-accepted/><CS:hosturl><D:href>/dav/principals/alice/</D:href></CS:hosturl>`), 400},
		{"hosturl never shared", "/dav/calendars/bob/", xmlHdr, reply(`<CS:invite-accepted/><CS:hosturl><D:href>/dav/addressbooks/alice/contacts/</D:href></CS:hosturl>`), 403},
		{"own collection", "/dav/calendars/bob/", xmlHdr, reply(`<CS:invite-accepted/><CS:hosturl><D:href>/dav/calendars/bob/calendar/</D:href></CS:hosturl>`), 403},
		{"not XML", "/dav/calendars/bob/", xmlHdr, "<CS:invite-reply", 400},
		{"another root", "/dav/calendars/bob/", xmlHdr, `<D:propfind xmlns:D="DAV:"/>`, 400},
		{"text/plain", "/dav/calendars/bob/", map[string]string{"Content-Type": "text/plain"}, reply(`<CS:invite-accepted/><CS:in-reply-to>` + uid + `</CS:in-reply-to>`), 415},
		{"cross-site", "/dav/calendars/bob/", map[string]string{"Content-Type": "application/xml", "Sec-Fetch-Site": "cross-site"}, reply(`<CS:invite-accepted/><CS:in-reply-to>` + uid + `</CS:in-reply-to>`), 403},
		{"oversized", "/dav/calendars/bob/", xmlHdr, reply(`<CS:invite-accepted/><CS:summary>` + strings.Repeat("x", 70<<10) + `</CS:summary><CS:in-reply-to>` + uid + `</CS:in-reply-to>`), 413},
		{"empty share", cal, xmlHdr, `<CS:share xmlns:CS="http://calendarserver.org/ns/"/>`, 400},
		{"oversized share", cal, xmlHdr, `<CS:share xmlns:D="DAV:" xmlns:CS="http://calendarserver.org/ns/">` + strings.Repeat(`<CS:set><D:href>mailto:bob@example.org</D:href></CS:set>`, 2000) + `</CS:share>`, 413},
		{"PUT into notifications", "/dav/calendars/bob/notification/x.xml", xmlHdr, "<x/>", 405},
		{"MKCOL of notifications", "/dav/calendars/bob/notification/", nil, "", 405},
	} {
		user := "bob"
		if c.path == cal {
			user = "alice"
		}
		method := "POST"
		switch c.name {
		case "PUT into notifications":
			method = "PUT"
		case "MKCOL of notifications":
			method = "MKCALENDAR"
		}
		if resp, body := e.do(t, user, method, c.path, c.hdr, c.body); resp.StatusCode != c.want {
			t.Errorf("%s: %d, want %d: %s", c.name, resp.StatusCode, c.want, body)
		}
	}
	if e.store.Head() != head {
		t.Error("a refused request wrote to the store")
	}
	if _, docs, _ := notifications(t, e, "bob"); len(docs) != 1 {
		t.Errorf("bob's invitation after the refused replies: %d", len(docs))
	}
}

// TestShareInviteAPI: /api/shares invites; the sharee sees the invitation
// in GET /api/shares and answers it with POST /api/shares/reply; declining
// an accepted share leaves it.
func TestShareInviteAPI(t *testing.T) {
	e := newScheduleEnv(t)
	if resp, body := e.do(t, "alice", "POST", "/api/shares", jsonHdr, `{"collection":"contacts","sharee":"bob","access":"read"}`); resp.StatusCode != http.StatusOK ||
		!strings.Contains(body, `"sharee":"bob","access":"read","status":"invited","invited_at":"`) {
		t.Fatalf("invite: %d %s", resp.StatusCode, body)
	}
	if resp, _ := e.do(t, "bob", "GET", "/dav/addressbooks/alice/contacts/", nil, ""); resp.StatusCode != http.StatusNotFound {
		t.Errorf("an invitation gives access: %d", resp.StatusCode)
	}
	// Address book invitations are notifications too.
	if _, docs, _ := notifications(t, e, "bob"); len(docs) != 1 || docs[0].Invite.SharedType != "addressbook" || docs[0].Invite.HostURL.Href != "/dav/addressbooks/alice/contacts/" {
		t.Errorf("bob's address book invitation: %+v", docs)
	}
	for _, b := range []string{`{"owner":"alice","collection":"contacts"}`, `{"owner":"alice","collection":"calendar","accept":true}`, `{"owner":"carol","collection":"contacts","accept":true}`} {
		if resp, _ := e.do(t, "bob", "POST", "/api/shares/reply", jsonHdr, b); resp.StatusCode < 400 {
			t.Errorf("reply %s accepted", b)
		}
	}
	if resp, body := e.do(t, "bob", "POST", "/api/shares/reply", jsonHdr, `{"owner":"alice","collection":"contacts","accept":true}`); resp.StatusCode != http.StatusOK ||
		!strings.Contains(body, `"owner":"alice","collection":"contacts","kind":"addressbook","sharee":"bob","access":"read","status":"accepted"`) {
		t.Fatalf("accept: %d %s", resp.StatusCode, body)
	}
	if resp, _ := e.do(t, "bob", "PROPFIND", "/dav/addressbooks/alice/contacts/", map[string]string{"Depth": "0"}, ""); resp.StatusCode != http.StatusMultiStatus {
		t.Errorf("bob after accepting: %d", resp.StatusCode)
	}
	// Changing an accepted grant's access needs no new acceptance.
	e.do(t, "alice", "POST", "/api/shares", jsonHdr, `{"collection":"contacts","sharee":"bob","access":"read-write"}`)
	if resp, _ := e.do(t, "bob", "PUT", "/dav/addressbooks/alice/contacts/b.vcf", nil, testCard("b1", "Bea")); resp.StatusCode != http.StatusCreated {
		t.Errorf("bob's PUT after the upgrade: %d", resp.StatusCode)
	}
	// Bob leaves.
	if resp, body := e.do(t, "bob", "POST", "/api/shares/reply", jsonHdr, `{"owner":"alice","collection":"contacts","accept":false}`); resp.StatusCode != http.StatusOK || !strings.Contains(body, `"status":"declined"`) {
		t.Fatalf("leave: %d %s", resp.StatusCode, body)
	}
	if resp, _ := e.do(t, "bob", "GET", "/dav/addressbooks/alice/contacts/b.vcf", nil, ""); resp.StatusCode != http.StatusNotFound {
		t.Errorf("bob after leaving: %d", resp.StatusCode)
	}
}
