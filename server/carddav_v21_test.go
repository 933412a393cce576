package server

import (
	"net/http"
	"strings"
	"testing"
)

// A vCard 2.1 PUT (an old phone's sync tool) is stored as vCard 3.0, answered
// without an ETag so the client fetches what was stored.
func TestPutVCard21(t *testing.T) {
	e := newTestEnv(t)
	const path = "/dav/addressbooks/alice/contacts/old.vcf"
	body := "BEGIN:VCARD\r\nVERSION:2.1\r\nN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:M=C3=BCller;Hans\r\nTEL;CELL:+49 170 1\r\nEND:VCARD\r\n"
	resp, msg := e.do(t, "alice", "PUT", path, map[string]string{"Content-Type": "text/x-vcard; charset=utf-8"}, body)
	if resp.StatusCode != http.StatusCreated || resp.Header.Get("ETag") != "" {
		t.Fatalf("PUT: %d ETag %q %s", resp.StatusCode, resp.Header.Get("ETag"), msg)
	}
	resp, got := e.do(t, "alice", "GET", path, nil, "")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET: %d", resp.StatusCode)
	}
	for _, want := range []string{"VERSION:3.0\r\n", "N:Müller;Hans\r\n", "TEL;TYPE=CELL:+49 170 1\r\n", "FN:Hans Müller\r\n", "UID:"} {
		if !strings.Contains(got, want) {
			t.Errorf("stored card lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "2.1") || strings.Contains(got, "QUOTED-PRINTABLE") {
		t.Errorf("stored card is still 2.1:\n%s", got)
	}
}
