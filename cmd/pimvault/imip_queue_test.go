package main

import (
	"net"
	"net/mail"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pimvault/pimvault/imip/imiptest"
)

// TestIMIPQueueSurvivesKill: an invitation to another server's address is
// PUT while the SMTP relay is down; the server is SIGKILLed with the mail
// still queued; once restarted with the relay up, the mail arrives exactly
// once, with the Message-ID it was queued with, and the organizer's copy
// goes from SCHEDULE-STATUS 1.0 to 1.1. A further restart sends nothing
// again.
func TestIMIPQueueSurvivesKill(t *testing.T) {
	skipIfShort(t, "starts pimvault serve three times, SIGKILLs it and runs an SMTP listener")
	hold, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	relayAddr := hold.Addr().String()
	hold.Close() // the relay is down: connections are refused
	data := t.TempDir()
	serve := func() *runningServer {
		return startServer(t, data, "--smtp", relayAddr, "--smtp-insecure", "--metrics-addr", "127.0.0.1:0")
	}
	rs := serve()
	if res := pimvaultStdin(t, "password-olga\n", "user", "add", "olga", "--password-stdin", "--data", data); res.code != 0 {
		t.Fatalf("user add: %s", res)
	}
	if res := pimvault(t, "user", "email", "olga", "olga@example.org", "--data", data); res.code != 0 {
		t.Fatalf("user email: %s", res)
	}
	ev := "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VEVENT\r\nUID:crash-1\r\nDTSTAMP:20261201T000000Z\r\nDTSTART:20261210T100000Z\r\nSUMMARY:Budget\r\n" +
		"ORGANIZER:mailto:olga@example.org\r\nATTENDEE;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:mailto:zed@elsewhere.test\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
	if code := rs.request(t, "olga", "password-olga", "PUT", "/dav/calendars/olga/calendar/crash-1.ics", ev); code != 201 {
		t.Fatalf("PUT: %d", code)
	}
	statusOf := func(rs *runningServer) string {
		_, body := davDo(t, rs, "olga", "password-olga", "GET", "/dav/calendars/olga/calendar/crash-1.ics", nil, "")
		m := regexp.MustCompile(`SCHEDULE-STATUS=([0-9.]+)[^\r\n]*zed@elsewhere\.test`).FindStringSubmatch(strings.ReplaceAll(body, "\r\n ", ""))
		if m == nil {
			t.Fatalf("no SCHEDULE-STATUS for zed in:\n%s", body)
		}
		return m[1]
	}
	if st := statusOf(rs); st != "1.0" {
		t.Fatalf("SCHEDULE-STATUS while queued: %s, want 1.0", st)
	}
	// The queue tries at once and fails: the entry records the attempt.
	var queue string
	for deadline := time.Now().Add(30 * time.Second); ; {
		res := pimvault(t, "imip", "queue", "--data", data)
		queue = res.stdout
		if res.code == 0 && regexp.MustCompile(`(?m)^olga\s+\S+\s+REQUEST\s+zed@elsewhere\.test\s+\S+\s+1\s`).MatchString(queue) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the queue did not record a failed attempt: %s\n%s", res, rs.stderr.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !strings.Contains(queue, "connection refused") || !strings.Contains(queue, "1 message(s) queued") {
		t.Errorf("imip queue:\n%s", queue)
	}
	queuedID := regexp.MustCompile(`<[0-9a-f]+@example\.org>`).FindString(queue)
	if queuedID == "" {
		t.Fatalf("no Message-ID in the queue listing:\n%s", queue)
	}
	if got := imipMetric(t, rs, "pimvault_imip_queue_length", nil); got != 1 {
		t.Errorf("pimvault_imip_queue_length = %v, want 1", got)
	}
	if got := imipMetric(t, rs, "pimvault_imip_attempts_total", map[string]string{"outcome": "retry"}); got != 1 {
		t.Errorf("attempts{retry} = %v, want 1", got)
	}
	if err := rs.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	rs.cmd.Wait()

	relay, err := imiptest.StartAt(relayAddr)
	if err != nil {
		t.Fatalf("relay back on %s: %v", relayAddr, err)
	}
	defer relay.Close()
	rs = serve()
	for deadline := time.Now().Add(30 * time.Second); len(relay.Mails()) == 0 || statusOf(rs) != "1.1"; {
		if time.Now().After(deadline) {
			t.Fatalf("after the restart: %d mails, status %s\n%s", len(relay.Mails()), statusOf(rs), rs.stderr.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if res := pimvault(t, "imip", "queue", "--data", data); res.code != 0 || !strings.Contains(res.stdout, "no iMIP mail is queued") {
		t.Errorf("queue after sending: %s", res)
	}
	if got := imipMetric(t, rs, "pimvault_imip_attempts_total", map[string]string{"outcome": "sent"}); got != 1 {
		t.Errorf("attempts{sent} = %v, want 1", got)
	}
	if got := imipMetric(t, rs, "pimvault_imip_queue_length", nil); got != 0 {
		t.Errorf("pimvault_imip_queue_length = %v after sending, want 0", got)
	}
	rs.stop(t)
	rs = serve()
	time.Sleep(500 * time.Millisecond) // a resend would start at once
	rs.stop(t)
	mails := relay.Mails()
	if len(mails) != 1 {
		t.Fatalf("relay received %d mails, want exactly 1", len(mails))
	}
	m, err := mail.ReadMessage(strings.NewReader(mails[0].Data))
	if err != nil {
		t.Fatal(err)
	}
	if id := m.Header.Get("Message-ID"); id != queuedID || strings.Join(mails[0].To, ",") != "zed@elsewhere.test" ||
		!strings.HasPrefix(m.Header.Get("Content-Type"), "text/calendar; method=REQUEST") {
		t.Errorf("mail: Message-ID %q (queued %q), to %v, %q", id, queuedID, mails[0].To, m.Header.Get("Content-Type"))
	}
	expectVerifyOK(t, data)
}

// imipMetric reads one iMIP series from a running server's /metrics.
func imipMetric(t *testing.T, rs *runningServer, name string, labels map[string]string) float64 {
	t.Helper()
	m := metricsAddr.FindStringSubmatch(rs.stderr.String())
	if m == nil {
		t.Fatalf("no metrics address in the log:\n%s", rs.stderr.String())
	}
	return metricValue(scrape(t, "http://"+m[1]+"/metrics"), name, labels)
}
