package server

import (
	"context"
	"encoding/base64"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/pimvault/pimvault/account"
	"github.com/pimvault/pimvault/calendar"
	"github.com/pimvault/pimvault/imip"
	"github.com/pimvault/pimvault/imip/imiptest"
	"github.com/pimvault/pimvault/storage"
)

// TestScheduleIMIP: an invitation to an address of another server is queued
// with the organizer's change (SCHEDULE-STATUS 1.0), the queue hands it to
// a real SMTP listener as an RFC 6047 message and the organizer's copy says
// 1.1; a local attendee is still delivered locally; with the relay down the
// message is retried and then given up (5.1); a relay's 550 gives 5.1 at
// once.
func TestScheduleIMIP(t *testing.T) {
	relay, err := imiptest.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer relay.Close()
	st, err := storage.Open(t.TempDir(), storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	for _, u := range []string{"alice", "bob"} {
		if err := account.AddUser(ctx, st, u, testPassword); err != nil {
			t.Fatal(err)
		}
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	mailer := &imip.SMTP{Addr: relay.Addr, Insecure: true, Timeout: 5 * time.Second}
	q := imip.NewQueue(st, mailer, log)
	q.MaxAttempts = 2
	kicked := 0
	cfg := Config{FailedLoginDelay: 10 * time.Millisecond, MailDomain: "example.org", Mailer: mailer, MailQueued: func() { kicked++ }}
	dav := New(st, cfg, log)
	q.Settle = dav.SettleMail
	srv := httptest.NewServer(dav.Handler())
	defer srv.Close()
	e := &testEnv{store: st, srv: srv}
	status := func(addr string) string {
		t.Helper()
		_, org := e.do(t, "alice", "GET", "/dav/calendars/alice/calendar/ext.ics", nil, "")
		l := attendeeLine(org, addr)
		if i := strings.Index(l, "SCHEDULE-STATUS="); i >= 0 {
			return l[i+len("SCHEDULE-STATUS=") : i+len("SCHEDULE-STATUS=")+3]
		}
		return l
	}
	body := event("ext", "mailto:alice@example.org", "ATTENDEE:mailto:bob@example.org", "ATTENDEE;CN=Zed:mailto:Zed@Elsewhere.test", "ATTENDEE:mailto:ghost@example.org")
	if resp, _ := e.do(t, "alice", "PUT", "/dav/calendars/alice/calendar/ext.ics", nil, body); resp.StatusCode != http.StatusCreated {
		t.Fatalf("PUT: %d", resp.StatusCode)
	}
	for addr, want := range map[string]string{"zed@elsewhere.test": "1.0", "bob@example.org": "1.2", "ghost@example.org": "3.7"} {
		if got := status(addr); got != want {
			t.Errorf("%s: %q, want %s", addr, got, want)
		}
	}
	if kicked != 1 || len(relay.Mails()) != 0 {
		t.Fatalf("after the PUT: queue told %d times, relay holds %d mails; want 1 and 0 (sent by the queue)", kicked, len(relay.Mails()))
	}
	queued, err := st.Outbox("alice")
	if err != nil || len(queued) != 1 || queued[0].To != "zed@elsewhere.test" {
		t.Fatalf("outbox: %+v %v", queued, err)
	}
	if n, err := q.RunOnce(ctx, time.Now(), false); err != nil || n != 1 {
		t.Fatalf("queue pass: %d, %v", n, err)
	}
	if got := status("zed@elsewhere.test"); got != "1.1" {
		t.Errorf("after sending: %q, want 1.1", got)
	}
	mails := relay.Mails()
	if len(mails) != 1 || mails[0].From != "alice@example.org" || strings.Join(mails[0].To, ",") != "zed@elsewhere.test" {
		t.Fatalf("relay received %+v", mails)
	}
	m, err := mail.ReadMessage(strings.NewReader(mails[0].Data))
	if err != nil {
		t.Fatal(err)
	}
	if ct := m.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/calendar; method=REQUEST") || m.Header.Get("Subject") != "Invitation: Planning" {
		t.Errorf("headers: %q %q", ct, m.Header.Get("Subject"))
	}
	if id := m.Header.Get("Message-ID"); id != queued[0].MessageID {
		t.Errorf("Message-ID %q, queued as %q", id, queued[0].MessageID)
	}
	raw, _ := io.ReadAll(m.Body)
	cal, err := base64.StdEncoding.DecodeString(strings.ReplaceAll(string(raw), "\r\n", ""))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := calendar.ParseMessage(cal); err != nil || !strings.Contains(string(cal), "METHOD:REQUEST") || strings.Contains(string(cal), "SCHEDULE-STATUS") {
		t.Errorf("calendar part (%v):\n%s", err, cal)
	}
	if _, err := st.ByUID("bob", defaultCalendar, "ext"); err != nil {
		t.Errorf("bob was not delivered locally: %v", err)
	}
	if n, _ := st.OutboxLen("alice"); n != 0 {
		t.Errorf("outbox holds %d after sending", n)
	}
	// The relay refuses the recipient for good: given up at once.
	relay.SetRefuse(true)
	_, org := e.do(t, "alice", "GET", "/dav/calendars/alice/calendar/ext.ics", nil, "")
	if resp, _ := e.do(t, "alice", "PUT", "/dav/calendars/alice/calendar/ext.ics", nil, strings.Replace(org, "SUMMARY:Planning", "SUMMARY:Moved", 1)); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("second PUT: %d", resp.StatusCode)
	}
	if n, err := q.RunOnce(ctx, time.Now(), false); err != nil || n != 1 {
		t.Fatalf("queue pass: %d, %v", n, err)
	}
	if got := status("zed@elsewhere.test"); got != "5.1" {
		t.Errorf("refused by the relay: %q, want 5.1", got)
	}
	// The relay goes away: retried later, then given up after MaxAttempts.
	relay.Close()
	_, org = e.do(t, "alice", "GET", "/dav/calendars/alice/calendar/ext.ics", nil, "")
	if resp, _ := e.do(t, "alice", "PUT", "/dav/calendars/alice/calendar/ext.ics", nil, strings.Replace(org, "SUMMARY:Moved", "SUMMARY:Moved again", 1)); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("third PUT: %d", resp.StatusCode)
	}
	now := time.Now()
	if n, err := q.RunOnce(ctx, now, false); err != nil || n != 1 {
		t.Fatalf("queue pass: %d, %v", n, err)
	}
	queued, _ = st.Outbox("alice")
	if len(queued) != 1 || queued[0].Attempts != 1 || !queued[0].Next.After(now) || queued[0].LastError == "" {
		t.Fatalf("after a failed attempt: %+v", queued)
	}
	if got := status("zed@elsewhere.test"); got != "1.0" {
		t.Errorf("while retrying: %q, want 1.0", got)
	}
	if n, _ := q.RunOnce(ctx, now, false); n != 0 {
		t.Errorf("an entry not yet due was tried")
	}
	if n, err := q.RunOnce(ctx, queued[0].Next, false); err != nil || n != 1 {
		t.Fatalf("queue pass: %d, %v", n, err)
	}
	if got := status("zed@elsewhere.test"); got != "5.1" {
		t.Errorf("with the relay down: %q, want 5.1", got)
	}
	if n, _ := st.OutboxLen("alice"); n != 0 {
		t.Errorf("outbox holds %d after giving up", n)
	}
	if rep, err := st.Verify(ctx); err != nil || !rep.OK() {
		t.Errorf("verify: %v %v", err, rep)
	}
}
