package server

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
)

// FuzzScheduleHandlers sends fuzzed calendar bodies through the scheduling
// handlers of one real server: an organizer's PUT, an attendee's PUT of the
// same object and a free-busy POST to the outbox. No answer may be a
// server error; the store verifies when the run ends.
func FuzzScheduleHandlers(f *testing.F) {
	f.Add(event("fz", "mailto:alice@example.org", "ATTENDEE:mailto:bob@example.org", "ATTENDEE;PARTSTAT=ACCEPTED:mailto:carol@example.org"))
	f.Add(standup)
	f.Add(strings.Replace(standup, "RRULE:FREQ=DAILY;COUNT=5", "RRULE:FREQ=SECONDLY", 1))
	f.Add("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nMETHOD:REQUEST\r\nBEGIN:VFREEBUSY\r\nUID:f\r\nDTSTART:20261210T000000Z\r\nDTEND:20261211T000000Z\r\nORGANIZER:mailto:alice@example.org\r\nATTENDEE:mailto:bob@example.org\r\nEND:VFREEBUSY\r\nEND:VCALENDAR\r\n")
	e := newScheduleEnv(f)
	f.Fuzz(func(t *testing.T, body string) {
		if len(body) > 32<<10 {
			return
		}
		for _, req := range []struct{ user, method, path string }{
			{"alice", "PUT", "/dav/calendars/alice/calendar/fz.ics"},
			{"bob", "PUT", "/dav/calendars/bob/calendar/fz.ics"},
			{"alice", "POST", "/dav/calendars/alice/outbox/"},
			{"alice", "DELETE", "/dav/calendars/alice/calendar/fz.ics"},
		} {
			resp, msg := e.do(t, req.user, req.method, req.path, map[string]string{"Content-Type": "text/calendar"}, body)
			if resp.StatusCode >= 500 {
				t.Fatalf("%s %s: %d %s", req.method, req.path, resp.StatusCode, msg)
			}
			if resp.StatusCode == http.StatusNotFound && req.method != "DELETE" {
				t.Fatalf("%s %s: 404", req.method, req.path)
			}
		}
	})
}

// FuzzReceiveIMIP feeds mail to ReceiveIMIP on one real store: it answers
// with ErrIMIP or succeeds, never panics, and the store verifies.
func FuzzReceiveIMIP(f *testing.F) {
	f.Add(imipMail("zed@elsewhere.test", "REPLY", "zed@elsewhere.test", "ACCEPTED", true))
	f.Add(imipMail("zed@elsewhere.test", "REPLY", "zed@elsewhere.test", "DECLINED", false))
	f.Add("From: a@b.c\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nContent-Type: multipart/alternative; boundary=y\r\n\r\n--y\r\nContent-Type: text/calendar\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nBEGIN:VCALENDAR=0D=0A\r\n--y--\r\n--x--\r\n")
	e := newScheduleEnv(f)
	s := New(e.store, Config{MailDomain: "example.org"}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	e.do(f, "alice", "PUT", "/dav/calendars/alice/calendar/mx.ics", nil, event("mx", "mailto:alice@example.org", "ATTENDEE:mailto:zed@elsewhere.test"))
	f.Fuzz(func(t *testing.T, msg string) {
		if _, err := s.ReceiveIMIP(context.Background(), []byte(msg)); err != nil && !errors.Is(err, ErrIMIP) {
			t.Fatalf("error outside ErrIMIP: %v", err)
		}
	})
}
