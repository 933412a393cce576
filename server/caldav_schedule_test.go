package server

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pimvault/pimvault/account"
	"github.com/pimvault/pimvault/storage"
)

// newScheduleEnv is newTestEnv with a third account and e-mail addresses:
// alice and bob have theirs set, carol has the one the mail domain gives.
func newScheduleEnv(t testing.TB) *testEnv {
	t.Helper()
	st, err := storage.Open(t.TempDir(), storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, u := range []string{"alice", "bob", "carol"} {
		if err := account.AddUser(ctx, st, u, testPassword); err != nil {
			t.Fatal(err)
		}
	}
	if err := account.SetEmails(ctx, st, "alice", []string{"alice@example.org", "a.smith@example.org"}); err != nil {
		t.Fatal(err)
	}
	if err := account.SetEmails(ctx, st, "bob", []string{"Bob@Example.org"}); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv := httptest.NewServer(New(st, Config{FailedLoginDelay: 10 * time.Millisecond, MailDomain: "example.org"}, log).Handler())
	t.Cleanup(func() {
		srv.Close()
		rep, err := st.Verify(context.Background())
		if err != nil || !rep.OK() {
			t.Errorf("store does not verify after the test: %v\n%v", err, rep)
		}
		st.Close()
	})
	e := &testEnv{store: st, srv: srv}
	for _, u := range []string{"alice", "bob", "carol"} {
		e.do(t, u, "PROPFIND", "/dav/calendars/"+u+"/", map[string]string{"Depth": "0"}, "") // sign in: default collections
	}
	return e
}

func event(uid, organizer string, extra ...string) string {
	return "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nBEGIN:VEVENT\r\nUID:" + uid +
		"\r\nDTSTAMP:20261201T000000Z\r\nDTSTART:20261210T100000Z\r\nDTEND:20261210T110000Z\r\nSUMMARY:Planning\r\nORGANIZER:" + organizer + "\r\n" +
		strings.Join(extra, "\r\n") + "\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
}

// inbox returns the bodies in user's inbox.
func (e *testEnv) inbox(t *testing.T, user string) []string {
	t.Helper()
	var out []string
	err := e.store.Objects(user, inboxName, true, func(o storage.Object) error {
		out = append(out, string(o.Body))
		return nil
	})
	if err != nil && !strings.Contains(err.Error(), "not found") {
		t.Fatal(err)
	}
	return out
}

// copyOf returns user's copy of uid in their default calendar.
func (e *testEnv) copyOf(t *testing.T, user, uid string) (name, body string) {
	t.Helper()
	name, err := e.store.ByUID(user, defaultCalendar, uid)
	if err != nil {
		t.Fatalf("%s has no copy of %s: %v", user, uid, err)
	}
	o, err := e.store.Get(user, defaultCalendar, name)
	if err != nil {
		t.Fatal(err)
	}
	return name, unfold(string(o.Body))
}

func unfold(s string) string { return strings.ReplaceAll(s, "\r\n ", "") }

func attendeeLine(body, addr string) string {
	for _, l := range strings.Split(unfold(body), "\r\n") {
		if strings.HasPrefix(l, "ATTENDEE") && strings.HasSuffix(strings.ToLower(l), strings.ToLower(addr)) {
			return l
		}
	}
	return ""
}

func TestScheduleInviteAcceptCancel(t *testing.T) {
	e := newScheduleEnv(t)
	body := event("inv-1", "mailto:alice@example.org",
		"ATTENDEE;PARTSTAT=ACCEPTED:mailto:alice@example.org",
		"ATTENDEE;RSVP=TRUE:mailto:bob@example.org",
		"ATTENDEE:mailto:carol@example.org",
		"ATTENDEE:mailto:zed@elsewhere.test",
		"ATTENDEE:mailto:nobody@example.org")
	resp, _ := e.do(t, "alice", "PUT", "/dav/calendars/alice/calendar/inv-1.ics", map[string]string{"Content-Type": "text/calendar"}, body)
	if resp.StatusCode != http.StatusCreated || resp.Header.Get("ETag") != "" {
		t.Fatalf("organizer PUT: %d, ETag %q (want 201 without ETag: the server added SCHEDULE-STATUS)", resp.StatusCode, resp.Header.Get("ETag"))
	}
	_, org := e.do(t, "alice", "GET", "/dav/calendars/alice/calendar/inv-1.ics", nil, "")
	for addr, want := range map[string]string{"bob@example.org": "1.2", "carol@example.org": "1.2", "zed@elsewhere.test": "5.1", "nobody@example.org": "3.7"} {
		if l := attendeeLine(org, addr); !strings.Contains(l, "SCHEDULE-STATUS="+want) {
			t.Errorf("organizer's ATTENDEE %s: %q, want SCHEDULE-STATUS=%s", addr, l, want)
		}
	}
	if l := attendeeLine(org, "alice@example.org"); strings.Contains(l, "SCHEDULE-STATUS") {
		t.Errorf("the organizer scheduled herself: %q", l)
	}
	for _, u := range []string{"bob", "carol"} {
		in := e.inbox(t, u)
		if len(in) != 1 || !strings.Contains(in[0], "METHOD:REQUEST") {
			t.Fatalf("%s's inbox: %q", u, in)
		}
		_, cp := e.copyOf(t, u, "inv-1")
		if !strings.Contains(attendeeLine(cp, u+"@example.org"), "PARTSTAT=NEEDS-ACTION") || strings.Contains(cp, "SCHEDULE-STATUS") || strings.Contains(cp, "METHOD") {
			t.Fatalf("%s's copy:\n%s", u, cp)
		}
	}
	if in := e.inbox(t, "alice"); len(in) != 0 {
		t.Fatalf("alice's inbox after her own invitation: %q", in)
	}
	// Bob accepts through his client: a PUT of his copy.
	name, cp := e.copyOf(t, "bob", "inv-1")
	o, _ := e.store.Get("bob", defaultCalendar, name)
	accepted := strings.Replace(cp, "PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:bob@example.org", "PARTSTAT=ACCEPTED;RSVP=TRUE:mailto:bob@example.org", 1)
	if accepted == cp {
		accepted = regexp.MustCompile(`(ATTENDEE[^\r\n]*)PARTSTAT=NEEDS-ACTION([^\r\n]*mailto:bob@example.org)`).ReplaceAllString(cp, "${1}PARTSTAT=ACCEPTED${2}")
	}
	resp, msg := e.do(t, "bob", "PUT", "/dav/calendars/bob/calendar/"+name, map[string]string{"If-Match": `"` + o.ETag + `"`}, accepted)
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("attendee PUT: %d %s", resp.StatusCode, msg)
	}
	_, org = e.do(t, "alice", "GET", "/dav/calendars/alice/calendar/inv-1.ics", nil, "")
	if l := attendeeLine(org, "bob@example.org"); !strings.Contains(l, "PARTSTAT=ACCEPTED") {
		t.Fatalf("organizer's copy after bob accepted: %q", l)
	}
	if l := attendeeLine(org, "carol@example.org"); !strings.Contains(l, "SCHEDULE-STATUS=1.2") || strings.Contains(l, "ACCEPTED") {
		t.Errorf("bob's reply touched carol: %q", l)
	}
	if in := e.inbox(t, "alice"); len(in) != 1 || !strings.Contains(in[0], "METHOD:REPLY") {
		t.Fatalf("alice's inbox: %q", in)
	}
	// A summary change keeps bob's answer in his copy.
	headBefore := e.store.Head()
	resp, _ = e.do(t, "alice", "PUT", "/dav/calendars/alice/calendar/inv-1.ics", nil, strings.Replace(org, "SUMMARY:Planning", "SUMMARY:Planning (agenda)", 1))
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("organizer update: %d", resp.StatusCode)
	}
	if _, cp := e.copyOf(t, "bob", "inv-1"); !strings.Contains(cp, "SUMMARY:Planning (agenda)") || !strings.Contains(attendeeLine(cp, "bob@example.org"), "PARTSTAT=ACCEPTED") {
		t.Errorf("bob's copy after a new summary:\n%s", cp)
	}
	if e.store.Head() <= headBefore {
		t.Error("no journal records for the deliveries")
	}
	// Alice cancels by deleting: bob's copy is kept, marked cancelled.
	resp, _ = e.do(t, "alice", "DELETE", "/dav/calendars/alice/calendar/inv-1.ics", nil, "")
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("organizer DELETE: %d", resp.StatusCode)
	}
	if _, cp := e.copyOf(t, "bob", "inv-1"); !strings.Contains(cp, "STATUS:CANCELLED") {
		t.Errorf("bob's copy after the cancel:\n%s", cp)
	}
	if in := e.inbox(t, "bob"); len(in) != 3 || !strings.Contains(strings.Join(in, ""), "METHOD:CANCEL") {
		t.Errorf("bob's inbox after the cancel holds %d messages", len(in))
	}
	// The attendee deleting the cancelled copy sends nothing (alice has no copy).
	name, _ = e.copyOf(t, "carol", "inv-1")
	if resp, _ := e.do(t, "carol", "DELETE", "/dav/calendars/carol/calendar/"+name, nil, ""); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("attendee DELETE: %d", resp.StatusCode)
	}
}

func TestScheduleAgentClientSendsNothing(t *testing.T) {
	e := newScheduleEnv(t)
	body := event("cl-1", "mailto:alice@example.org", "ATTENDEE;SCHEDULE-AGENT=CLIENT:mailto:bob@example.org")
	head := e.store.Head()
	resp, _ := e.do(t, "alice", "PUT", "/dav/calendars/alice/calendar/cl-1.ics", nil, body)
	if resp.StatusCode != http.StatusCreated || resp.Header.Get("ETag") == "" {
		t.Fatalf("PUT: %d ETag %q (the body is stored as sent, so the ETag is given)", resp.StatusCode, resp.Header.Get("ETag"))
	}
	if got := e.store.Head() - head; got != 1 {
		t.Errorf("%d journal records for a SCHEDULE-AGENT=CLIENT invitation, want only the organizer's PUT", got)
	}
	if in := e.inbox(t, "bob"); len(in) != 0 {
		t.Errorf("bob's inbox: %q", in)
	}
	if _, err := e.store.ByUID("bob", defaultCalendar, "cl-1"); err == nil {
		t.Error("bob got a copy")
	}
}

func TestScheduleHostile(t *testing.T) {
	e := newScheduleEnv(t)
	// Thousands of attendees: refused whole, nothing written.
	var many []string
	for i := range 5000 {
		many = append(many, fmt.Sprintf("ATTENDEE:mailto:u%d@example.org", i))
	}
	head := e.store.Head()
	resp, msg := e.do(t, "alice", "PUT", "/dav/calendars/alice/calendar/big.ics", nil, event("big", "mailto:alice@example.org", many...))
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(msg, "max-attendees-per-instance") {
		t.Fatalf("5000 attendees: %d %s", resp.StatusCode, msg)
	}
	if e.store.Head() != head {
		t.Fatal("a refused invitation wrote to the store")
	}
	// The organizer listed as an attendee under every address she has, bob
	// many times in many spellings: bob gets one message, alice none.
	att := []string{"ATTENDEE:mailto:alice@example.org", "ATTENDEE:mailto:A.Smith@example.org", "ATTENDEE:/dav/principals/alice/"}
	for i := range 50 {
		att = append(att, []string{"ATTENDEE:mailto:bob@example.org", "ATTENDEE:MAILTO:BOB@EXAMPLE.ORG"}[i%2])
	}
	resp, _ = e.do(t, "alice", "PUT", "/dav/calendars/alice/calendar/self.ics", nil, event("self", "mailto:alice@example.org", att...))
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("self-invitation: %d", resp.StatusCode)
	}
	if in := e.inbox(t, "alice"); len(in) != 0 {
		t.Errorf("alice messaged herself: %d", len(in))
	}
	if in := e.inbox(t, "bob"); len(in) != 1 {
		t.Errorf("bob got %d messages, want 1", len(in))
	}
	// Carol spoofs alice as organizer: stored as it is, nobody messaged.
	head = e.store.Head()
	resp, _ = e.do(t, "carol", "PUT", "/dav/calendars/carol/calendar/spoof.ics", nil, event("spoof", "mailto:alice@example.org", "ATTENDEE:mailto:bob@example.org"))
	if resp.StatusCode != http.StatusCreated || e.store.Head() != head+1 {
		t.Fatalf("spoofed organizer: %d, %d records", resp.StatusCode, e.store.Head()-head)
	}
	// Carol answers for an event of alice's she is not invited to, with
	// alice's UID: refused (alice, on this server, never invited her), and
	// alice's copy and inbox are untouched.
	_, before := e.do(t, "alice", "GET", "/dav/calendars/alice/calendar/self.ics", nil, "")
	resp, body := e.do(t, "carol", "PUT", "/dav/calendars/carol/calendar/reply.ics", nil, event("self", "mailto:alice@example.org", "ATTENDEE;PARTSTAT=ACCEPTED:mailto:carol@example.org", "ATTENDEE;PARTSTAT=DECLINED:mailto:bob@example.org"))
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "attendee-allowed") {
		t.Fatalf("carol's PUT: %d %s", resp.StatusCode, body)
	}
	if in := e.inbox(t, "alice"); len(in) != 0 {
		t.Errorf("carol's refused copy messaged alice: %q", in)
	}
	if _, after := e.do(t, "alice", "GET", "/dav/calendars/alice/calendar/self.ics", nil, ""); after != before {
		t.Errorf("a reply from an uninvited account changed the organizer's copy:\n%s", after)
	}
	// Nobody may write into an inbox or outbox, or delete them.
	for _, c := range []string{"inbox", "outbox"} {
		if resp, _ := e.do(t, "bob", "PUT", "/dav/calendars/bob/"+c+"/x.ics", nil, event("x", "mailto:bob@example.org")); resp.StatusCode != http.StatusForbidden {
			t.Errorf("PUT into the %s: %d", c, resp.StatusCode)
		}
		if resp, _ := e.do(t, "bob", "DELETE", "/dav/calendars/bob/"+c+"/", nil, ""); resp.StatusCode != http.StatusForbidden {
			t.Errorf("DELETE of the %s: %d", c, resp.StatusCode)
		}
	}
}
