package server

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/pimvault/pimvault/account"
	"github.com/pimvault/pimvault/imip"
	"github.com/pimvault/pimvault/imip/imiptest"
	"github.com/pimvault/pimvault/storage"
)

// mailEnv is a server with accounts alice and bob in example.org, a real
// SMTP listener and a mail queue run by hand.
type mailEnv struct {
	*testEnv
	relay *imiptest.Server
	queue *imip.Queue
}

func newMailEnv(t *testing.T) *mailEnv {
	t.Helper()
	relay, err := imiptest.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(relay.Close)
	st, err := storage.Open(t.TempDir(), storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"alice", "bob"} {
		if err := account.AddUser(context.Background(), st, u, testPassword); err != nil {
			t.Fatal(err)
		}
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	mailer := &imip.SMTP{Addr: relay.Addr, Insecure: true, Timeout: 5 * time.Second}
	q := imip.NewQueue(st, mailer, log)
	dav := New(st, Config{FailedLoginDelay: 10 * time.Millisecond, MailDomain: "example.org", Mailer: mailer}, log)
	q.Settle = dav.SettleMail
	srv := httptest.NewServer(dav.Handler())
	t.Cleanup(func() {
		srv.Close()
		if rep, err := st.Verify(context.Background()); err != nil || !rep.OK() {
			t.Errorf("verify: %v %v", err, rep)
		}
		st.Close()
	})
	return &mailEnv{testEnv: &testEnv{store: st, srv: srv}, relay: relay, queue: q}
}

// defaultCopy returns user's object with uid in their default calendar.
func (e *mailEnv) defaultCopy(user, uid string) (storage.Object, error) {
	name, err := e.store.ByUID(user, defaultCalendar, uid)
	if err != nil {
		return storage.Object{}, err
	}
	return e.store.Get(user, defaultCalendar, name)
}

// TestDeleteCalendarCancels: deleting a calendar cancels each event in it
// that the user organizes, for attendees here (their copies are marked
// cancelled) and by mail for attendees elsewhere (queued with the
// deletion); events the user is only invited to, or without attendees,
// send nothing.
func TestDeleteCalendarCancels(t *testing.T) {
	e := newMailEnv(t)
	ctx := context.Background()
	if resp, _ := e.do(t, "alice", "MKCALENDAR", "/dav/calendars/alice/office/", nil, ""); resp.StatusCode != http.StatusCreated {
		t.Fatalf("MKCALENDAR: %d", resp.StatusCode)
	}
	for _, uid := range []string{"w1", "w2"} {
		body := event(uid, "mailto:alice@example.org", "ATTENDEE:mailto:bob@example.org", "ATTENDEE:mailto:zed@elsewhere.test")
		if resp, _ := e.do(t, "alice", "PUT", "/dav/calendars/alice/office/"+uid+".ics", nil, body); resp.StatusCode != http.StatusCreated {
			t.Fatalf("PUT %s: %d", uid, resp.StatusCode)
		}
	}
	// bob invites alice, and she keeps a copy in office too: not hers to
	// cancel.
	invited := event("b1", "mailto:bob@example.org", "ATTENDEE:mailto:alice@example.org", "ATTENDEE:mailto:yan@elsewhere.test")
	if resp, _ := e.do(t, "bob", "PUT", "/dav/calendars/bob/calendar/b1.ics", nil, invited); resp.StatusCode != http.StatusCreated {
		t.Fatalf("bob's PUT: %d", resp.StatusCode)
	}
	if resp, _ := e.do(t, "alice", "PUT", "/dav/calendars/alice/office/b1.ics", nil, invited); resp.StatusCode != http.StatusCreated {
		t.Fatalf("alice's copy in office: %d", resp.StatusCode)
	}
	plain := "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VEVENT\r\nUID:p1\r\nDTSTAMP:20261201T000000Z\r\nDTSTART:20261211T100000Z\r\nSUMMARY:Alone\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
	if resp, _ := e.do(t, "alice", "PUT", "/dav/calendars/alice/office/p1.ics", nil, plain); resp.StatusCode != http.StatusCreated {
		t.Fatalf("PUT p1: %d", resp.StatusCode)
	}
	if n, err := e.queue.RunOnce(ctx, time.Now(), true); err != nil || n != 3 {
		t.Fatalf("queue pass before the delete: %d, %v", n, err)
	}
	before := len(e.relay.Mails())
	if resp, body := e.do(t, "alice", "DELETE", "/dav/calendars/alice/office/", nil, ""); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("DELETE calendar: %d %s", resp.StatusCode, body)
	}
	for _, uid := range []string{"w1", "w2"} {
		o, err := e.defaultCopy("bob", uid)
		if err != nil || !strings.Contains(string(o.Body), "STATUS:CANCELLED") {
			t.Errorf("bob's copy of %s after the delete (%v):\n%s", uid, err, o.Body)
		}
	}
	if o, err := e.defaultCopy("bob", "b1"); err != nil || strings.Contains(string(o.Body), "STATUS:CANCELLED") {
		t.Errorf("bob's own event was cancelled by alice's delete:\n%s", o.Body)
	}
	queued, err := e.store.Outbox("alice")
	if err != nil || len(queued) != 2 {
		t.Fatalf("alice's outbox after the delete: %+v %v", queued, err)
	}
	for _, q := range queued {
		if q.Method != "CANCEL" || q.To != "zed@elsewhere.test" || q.Object != "" {
			t.Errorf("queued %+v", q)
		}
	}
	if n, err := e.queue.RunOnce(ctx, time.Now(), false); err != nil || n != 2 {
		t.Fatalf("queue pass: %d, %v", n, err)
	}
	mails := e.relay.Mails()[before:]
	if len(mails) != 2 {
		t.Fatalf("%d mails after the delete, want 2 CANCELs", len(mails))
	}
	for _, m := range mails {
		if !strings.Contains(m.Data, "method=CANCEL") || m.To[0] != "zed@elsewhere.test" {
			t.Errorf("mail: %v %.200s", m.To, m.Data)
		}
	}
}

// TestMailQueueBounded: one account cannot queue mail without limit. Each
// change may message at most MaxRecipients; the outbox holds at most
// MaxOutbox; past it, recipients get SCHEDULE-STATUS 5.1 and nothing is
// queued; and a calendar whose cancellation would send more than
// maxCollectionCancels messages is not deleted.
func TestMailQueueBounded(t *testing.T) {
	e := newMailEnv(t)
	// 10,000 attendees of other servers: refused whole, nothing queued.
	var huge []string
	for i := range 10000 {
		huge = append(huge, fmt.Sprintf("ATTENDEE:mailto:h%d@elsewhere.test", i))
	}
	e.do(t, "alice", "PROPFIND", "/dav/calendars/alice/", map[string]string{"Depth": "1"}, "") // sign-in creates the defaults
	head := e.store.Head()
	if resp, _ := e.do(t, "alice", "PUT", "/dav/calendars/alice/calendar/huge.ics", nil, event("huge", "mailto:alice@example.org", huge...)); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("10,000 attendees: %d, want 403", resp.StatusCode)
	}
	if n, _ := e.store.OutboxLen(""); n != 0 || e.store.Head() != head {
		t.Fatalf("a refused invitation queued %d messages or wrote %d records", n, e.store.Head()-head)
	}
	var attendees []string
	for i := range 100 {
		attendees = append(attendees, fmt.Sprintf("ATTENDEE:mailto:x%d@elsewhere.test", i))
	}
	n := storage.MaxOutbox/100 + 1
	for i := range n {
		uid := fmt.Sprintf("many-%d", i)
		if resp, body := e.do(t, "alice", "PUT", "/dav/calendars/alice/calendar/"+uid+".ics", nil, event(uid, "mailto:alice@example.org", attendees...)); resp.StatusCode != http.StatusCreated {
			t.Fatalf("PUT %s: %d %s", uid, resp.StatusCode, body)
		}
	}
	if q, err := e.store.OutboxLen("alice"); err != nil || q != storage.MaxOutbox {
		t.Fatalf("outbox holds %d (%v), want %d", q, err, storage.MaxOutbox)
	}
	_, last := e.do(t, "alice", "GET", fmt.Sprintf("/dav/calendars/alice/calendar/many-%d.ics", n-1), nil, "")
	if l := attendeeLine(last, "x7@elsewhere.test"); !strings.Contains(l, "SCHEDULE-STATUS=5.1") {
		t.Errorf("past the outbox bound: %q, want 5.1", l)
	}
	_, first := e.do(t, "alice", "GET", "/dav/calendars/alice/calendar/many-0.ics", nil, "")
	if l := attendeeLine(first, "x7@elsewhere.test"); !strings.Contains(l, "SCHEDULE-STATUS=1.0") {
		t.Errorf("within the bound: %q, want 1.0", l)
	}
	if resp, _ := e.do(t, "alice", "DELETE", "/dav/calendars/alice/calendar/", nil, ""); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("DELETE of a calendar needing %d cancellations: %d, want 403", n*100, resp.StatusCode)
	}
	if _, err := e.store.Collection("alice", "calendar"); err != nil {
		t.Errorf("the refused delete removed the calendar: %v", err)
	}
}

// TestIMIPReplyAndDeleteQueued: an attendee's answer to an organizer of
// another server and an organizer's DELETE of an event with an attendee
// of another server are queued with the write that causes them and sent
// by the queue (REPLY and CANCEL); the CANCEL replaces the REQUEST that
// was still waiting.
func TestIMIPReplyAndDeleteQueued(t *testing.T) {
	e := newMailEnv(t)
	ctx := context.Background()
	dav := New(e.store, Config{MailDomain: "example.org"}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	invite := "From: zed@elsewhere.test\r\nContent-Type: text/calendar; method=REQUEST\r\n\r\nBEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//other//EN\r\nMETHOD:REQUEST\r\nBEGIN:VEVENT\r\nUID:ext-9\r\n" +
		"DTSTAMP:20261202T000000Z\r\nDTSTART:20261220T100000Z\r\nDTEND:20261220T110000Z\r\nSUMMARY:Vendor call\r\nORGANIZER:mailto:zed@elsewhere.test\r\nATTENDEE;RSVP=TRUE:mailto:bob@example.org\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
	if _, err := dav.ReceiveIMIP(ctx, []byte(invite)); err != nil {
		t.Fatal(err)
	}
	o, err := e.defaultCopy("bob", "ext-9")
	if err != nil {
		t.Fatal(err)
	}
	accepted := strings.Replace(unfold(string(o.Body)), "PARTSTAT=NEEDS-ACTION", "PARTSTAT=ACCEPTED", 1)
	if resp, body := e.do(t, "bob", "PUT", "/dav/calendars/bob/"+defaultCalendar+"/"+o.Name, map[string]string{"If-Match": `"` + o.ETag + `"`}, accepted); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("bob accepts: %d %s", resp.StatusCode, body)
	}
	if q, _ := e.store.Outbox("bob"); len(q) != 1 || q[0].Method != "REPLY" || q[0].To != "zed@elsewhere.test" {
		t.Fatalf("bob's outbox after accepting: %+v", q)
	}
	if resp, _ := e.do(t, "alice", "PUT", "/dav/calendars/alice/calendar/a9.ics", nil, event("a9", "mailto:alice@example.org", "ATTENDEE:mailto:zed@elsewhere.test")); resp.StatusCode != http.StatusCreated {
		t.Fatalf("alice's PUT: %d", resp.StatusCode)
	}
	if resp, _ := e.do(t, "alice", "DELETE", "/dav/calendars/alice/calendar/a9.ics", nil, ""); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("alice's DELETE: %d", resp.StatusCode)
	}
	// The CANCEL supersedes the REQUEST still waiting: zed gets only it.
	q, _ := e.store.Outbox("alice")
	if len(q) != 1 || q[0].Method != "CANCEL" || q[0].UID != "a9" {
		t.Fatalf("alice's outbox after PUT and DELETE: %d entries, want one CANCEL", len(q))
	}
	if n, err := e.queue.RunOnce(ctx, time.Now(), false); err != nil || n != 2 {
		t.Fatalf("queue pass: %d %v", n, err)
	}
	var methods []string
	for _, m := range e.relay.Mails() {
		for _, meth := range []string{"REPLY", "REQUEST", "CANCEL"} {
			if strings.Contains(m.Data, "method="+meth) {
				methods = append(methods, meth)
			}
		}
	}
	if strings.Join(methods, ",") != "REPLY,CANCEL" {
		t.Errorf("mails sent: %v", methods)
	}
	if n, _ := e.store.OutboxLen(""); n != 0 {
		t.Errorf("%d entries left in the outbox", n)
	}
}
