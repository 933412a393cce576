package server

import (
	"context"
	"encoding/base64"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/pimvault/pimvault/account"
	"github.com/pimvault/pimvault/storage"
)

func imipMail(from, method, attendee, partstat string, b64 bool) string {
	cal := "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//other//EN\r\nMETHOD:" + method + "\r\nBEGIN:VEVENT\r\nUID:mx\r\nDTSTAMP:20261202T000000Z\r\n" +
		"ORGANIZER:mailto:alice@example.org\r\nATTENDEE;PARTSTAT=" + partstat + ":mailto:" + attendee + "\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
	part := "Content-Type: text/calendar; method=" + method + "; charset=UTF-8\r\n\r\n" + cal
	if b64 {
		part = "Content-Type: text/calendar; method=" + method + "\r\nContent-Transfer-Encoding: base64\r\n\r\n" + base64.StdEncoding.EncodeToString([]byte(cal)) + "\r\n"
	}
	return "From: Zed <" + from + ">\r\nTo: alice@example.org\r\nSubject: Accepted\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/alternative; boundary=b1\r\n\r\n--b1\r\nContent-Type: text/plain\r\n\r\nZed accepted.\r\n--b1\r\n" + part + "--b1--\r\n"
}

// TestReceiveIMIP: a reply by mail from an attendee of another server
// updates the organizer's copy; forged, misdirected or other mail changes
// nothing.
func TestReceiveIMIP(t *testing.T) {
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
	s := New(st, Config{FailedLoginDelay: 10 * time.Millisecond, MailDomain: "example.org"}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	srv := httptest.NewServer(s.Handler())
	defer srv.Close()
	e := &testEnv{store: st, srv: srv}
	url := "/dav/calendars/alice/calendar/mx.ics"
	e.do(t, "alice", "PUT", url, nil, event("mx", "mailto:alice@example.org", "ATTENDEE:mailto:zed@elsewhere.test", "ATTENDEE:mailto:bob@example.org"))
	head := st.Head()
	for name, msg := range map[string]string{
		"forged sender":    imipMail("eve@elsewhere.test", "REPLY", "zed@elsewhere.test", "DECLINED", false),
		"local account":    imipMail("bob@example.org", "REPLY", "bob@example.org", "DECLINED", false),
		"not invited":      imipMail("yan@elsewhere.test", "REPLY", "yan@elsewhere.test", "ACCEPTED", false),
		"a request":        imipMail("zed@elsewhere.test", "REQUEST", "zed@elsewhere.test", "ACCEPTED", false),
		"no calendar part": "From: zed@elsewhere.test\r\nContent-Type: text/plain\r\n\r\nhello\r\n",
		"not a mail":       "\x00\x01",
		"bad partstat":     imipMail("zed@elsewhere.test", "REPLY", "zed@elsewhere.test", "MAYBE", false),
	} {
		if _, err := s.ReceiveIMIP(ctx, []byte(msg)); !errors.Is(err, ErrIMIP) {
			t.Errorf("%s: %v", name, err)
		}
	}
	_, org := e.do(t, "alice", "GET", url, nil, "")
	if strings.Contains(org, "DECLINED") || strings.Contains(org, "yan@") {
		t.Fatalf("refused mail changed the organizer's copy:\n%s", org)
	}
	if got := st.Head() - head; got != 0 {
		t.Errorf("%d records written by refused mail", got)
	}
	out, err := s.ReceiveIMIP(ctx, []byte(imipMail("zed@elsewhere.test", "REPLY", "zed@elsewhere.test", "ACCEPTED", true)))
	if err != nil || !strings.Contains(out, "delivered") {
		t.Fatalf("zed's reply: %q %v", out, err)
	}
	_, org = e.do(t, "alice", "GET", url, nil, "")
	if l := attendeeLine(org, "zed@elsewhere.test"); !strings.Contains(l, "PARTSTAT=ACCEPTED") {
		t.Errorf("zed's answer: %q", l)
	}
	if l := attendeeLine(org, "bob@example.org"); strings.Contains(l, "ACCEPTED") {
		t.Errorf("zed's reply changed bob: %q", l)
	}

	// An invitation by mail from an organizer of another server reaches
	// bob's inbox and calendar; a forged one does not.
	invite := func(from, organizer string) string {
		cal := "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//other//EN\r\nMETHOD:REQUEST\r\nBEGIN:VEVENT\r\nUID:ext-1\r\nDTSTAMP:20261202T000000Z\r\n" +
			"DTSTART:20261220T100000Z\r\nDTEND:20261220T110000Z\r\nRRULE:FREQ=WEEKLY;COUNT=3\r\nSUMMARY:Vendor call\r\nORGANIZER:mailto:" + organizer + "\r\nATTENDEE;RSVP=TRUE:mailto:bob@example.org\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
		return "From: " + from + "\r\nContent-Type: text/calendar; method=REQUEST\r\n\r\n" + cal
	}
	head = st.Head()
	for _, bad := range []string{invite("eve@elsewhere.test", "zed@elsewhere.test"), invite("alice@example.org", "alice@example.org")} {
		if _, err := s.ReceiveIMIP(ctx, []byte(bad)); !errors.Is(err, ErrIMIP) {
			t.Errorf("forged invitation: %v", err)
		}
	}
	if st.Head() != head {
		t.Error("a refused invitation wrote")
	}
	if out, err := s.ReceiveIMIP(ctx, []byte(invite("zed@elsewhere.test", "zed@elsewhere.test"))); err != nil || !strings.Contains(out, "bob") {
		t.Fatalf("invitation by mail: %q %v", out, err)
	}
	name, cp := e.copyOf(t, "bob", "ext-1")
	if !strings.Contains(attendeeLine(cp, "bob@example.org"), "NEEDS-ACTION") || !strings.Contains(cp, "RRULE:FREQ=WEEKLY;COUNT=3") {
		t.Fatalf("bob's copy of an invitation by mail:\n%s", cp)
	}
	cancelOne := "From: zed@elsewhere.test\r\nContent-Type: text/calendar; method=CANCEL\r\n\r\nBEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nMETHOD:CANCEL\r\nBEGIN:VEVENT\r\nUID:ext-1\r\nDTSTAMP:20261203T000000Z\r\nRECURRENCE-ID:20261227T100000Z\r\nORGANIZER:mailto:zed@elsewhere.test\r\nATTENDEE:mailto:bob@example.org\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
	if _, err := s.ReceiveIMIP(ctx, []byte(cancelOne)); err != nil {
		t.Fatal(err)
	}
	o, _ := st.Get("bob", defaultCalendar, name)
	if b := unfold(string(o.Body)); !strings.Contains(b, "EXDATE:20261227T100000Z") || strings.Contains(b, "STATUS:CANCELLED") {
		t.Errorf("bob's copy after one instance was cancelled by mail:\n%s", b)
	}
}
