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
	// The phone edits the card, still without a UID: the UID made for it
	// changes with the body, which does not count as overwriting another UID.
	edited := strings.Replace(body, "+49 170 1", "+49 170 2", 1)
	if resp, msg := e.do(t, "alice", "PUT", path, nil, edited); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("PUT of the edited 2.1 card: %d %s", resp.StatusCode, msg)
	}
	if _, got := e.do(t, "alice", "GET", path, nil, ""); !strings.Contains(got, "+49 170 2") {
		t.Errorf("edited card not stored:\n%s", got)
	}
	// A card that carries its own UID keeps it.
	withUID := strings.Replace(body, "END:VCARD", "UID:phone-1\r\nEND:VCARD", 1)
	const other = "/dav/addressbooks/alice/contacts/own.vcf"
	e.do(t, "alice", "PUT", other, nil, withUID)
	if resp, msg := e.do(t, "alice", "PUT", other, nil, strings.Replace(withUID, "phone-1", "phone-2", 1)); resp.StatusCode != http.StatusForbidden || !strings.Contains(msg, "no-uid-conflict") {
		t.Errorf("a 2.1 card's own UID changed: %d %s", resp.StatusCode, msg)
	}
}
