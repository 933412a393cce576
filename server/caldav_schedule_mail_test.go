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

// TestScheduleIMIP: an invitation to an address of another server reaches a
// real SMTP listener as an RFC 6047 message (SCHEDULE-STATUS 1.1), a local
// attendee is still delivered locally, and a relay that refuses gives 5.1.
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
	cfg := Config{FailedLoginDelay: 10 * time.Millisecond, MailDomain: "example.org",
		Mailer: &imip.SMTP{Addr: relay.Addr, Insecure: true, Timeout: 5 * time.Second}}
	srv := httptest.NewServer(New(st, cfg, log).Handler())
	defer srv.Close()
	e := &testEnv{store: st, srv: srv}
	body := event("ext", "mailto:alice@example.org", "ATTENDEE:mailto:bob@example.org", "ATTENDEE;CN=Zed:mailto:Zed@Elsewhere.test", "ATTENDEE:mailto:ghost@example.org")
	if resp, _ := e.do(t, "alice", "PUT", "/dav/calendars/alice/calendar/ext.ics", nil, body); resp.StatusCode != http.StatusCreated {
		t.Fatalf("PUT: %d", resp.StatusCode)
	}
	_, org := e.do(t, "alice", "GET", "/dav/calendars/alice/calendar/ext.ics", nil, "")
	for addr, want := range map[string]string{"zed@elsewhere.test": "1.1", "bob@example.org": "1.2", "ghost@example.org": "3.7"} {
		if l := attendeeLine(org, addr); !strings.Contains(l, "SCHEDULE-STATUS="+want) {
			t.Errorf("%s: %q, want %s", addr, l, want)
		}
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
	// The relay goes away: the next change's mail fails and says so.
	relay.Close()
	if resp, _ := e.do(t, "alice", "PUT", "/dav/calendars/alice/calendar/ext.ics", nil, strings.Replace(org, "SUMMARY:Planning", "SUMMARY:Moved", 1)); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("second PUT: %d", resp.StatusCode)
	}
	_, org = e.do(t, "alice", "GET", "/dav/calendars/alice/calendar/ext.ics", nil, "")
	if l := attendeeLine(org, "zed@elsewhere.test"); !strings.Contains(l, "SCHEDULE-STATUS=5.1") {
		t.Errorf("with the relay down: %q", l)
	}
	if rep, err := st.Verify(ctx); err != nil || !rep.OK() {
		t.Errorf("verify: %v %v", err, rep)
	}
}
