package imip

import (
	"context"
	"encoding/base64"
	"errors"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/pimvault/pimvault/calendar"
	"github.com/pimvault/pimvault/imip/imiptest"
)

const request = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nMETHOD:REQUEST\r\nBEGIN:VEVENT\r\nUID:m1\r\nDTSTAMP:20261201T000000Z\r\nDTSTART:20261210T100000Z\r\nSUMMARY:Café\r\nORGANIZER:mailto:alice@example.org\r\nATTENDEE:mailto:zed@elsewhere.test\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"

// TestSendToListener: a message reaches a real SMTP listener as a valid RFC
// 6047 message whose calendar part is the iTIP object, byte for byte.
func TestSendToListener(t *testing.T) {
	srv, err := imiptest.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	srv.Password = "s3cret"
	msg, err := Message("alice@example.org", "zed@elsewhere.test", "Invitation: Café", "REQUEST", []byte(request), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	sm := &SMTP{Addr: srv.Addr, Username: "relay", Password: "s3cret", Insecure: true, Timeout: 5 * time.Second}
	if err := sm.Send(context.Background(), "alice@example.org", []string{"zed@elsewhere.test"}, msg); err != nil {
		t.Fatal(err)
	}
	got := srv.Mails()
	if len(got) != 1 || got[0].From != "alice@example.org" || strings.Join(got[0].To, ",") != "zed@elsewhere.test" || got[0].User != "relay" {
		t.Fatalf("received %+v", got)
	}
	m, err := mail.ReadMessage(strings.NewReader(got[0].Data))
	if err != nil {
		t.Fatal(err)
	}
	if ct := m.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/calendar; method=REQUEST;") {
		t.Errorf("Content-Type %q", ct)
	}
	var b strings.Builder
	body := make([]byte, 4096)
	n, _ := m.Body.Read(body)
	b.Write(body[:n])
	cal, err := base64.StdEncoding.DecodeString(strings.ReplaceAll(b.String(), "\r\n", ""))
	if err != nil || string(cal) != request {
		t.Fatalf("calendar part: %v\n%q", err, cal)
	}
	if _, err := calendar.ParseMessage(cal); err != nil {
		t.Errorf("the calendar part is no iTIP message: %v", err)
	}
	// Wrong password and header injection are refused.
	bad := &SMTP{Addr: srv.Addr, Username: "relay", Password: "nope", Insecure: true, Timeout: 5 * time.Second}
	if err := bad.Send(context.Background(), "alice@example.org", []string{"zed@elsewhere.test"}, msg); err == nil {
		t.Error("a wrong password was accepted")
	}
	if _, err := Message("alice@example.org", "zed@x\r\nBcc: eve@x", "s", "REQUEST", []byte(request), time.Now()); !errors.Is(err, ErrHeader) {
		t.Errorf("header injection: %v", err)
	}
	strict := &SMTP{Addr: srv.Addr, Timeout: 5 * time.Second}
	if err := strict.Send(context.Background(), "a@b.c", []string{"d@e.f"}, msg); err == nil || !strings.Contains(err.Error(), "STARTTLS") {
		t.Errorf("a relay without STARTTLS was used: %v", err)
	}
}

func FuzzMessage(f *testing.F) {
	f.Add("alice@example.org", "zed@elsewhere.test", "Invitation", "REQUEST", []byte(request))
	f.Fuzz(func(t *testing.T, from, to, subject, method string, cal []byte) {
		msg, err := Message(from, to, subject, method, cal, time.Now())
		if err != nil {
			return
		}
		m, err := mail.ReadMessage(strings.NewReader(string(msg)))
		if err != nil {
			t.Fatalf("built a message net/mail cannot read: %v", err)
		}
		if m.Header.Get("To") != strings.TrimSpace(to) && strings.TrimSpace(to) != "" {
			t.Fatalf("To %q became %q", to, m.Header.Get("To"))
		}
	})
}
