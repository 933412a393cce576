package card

import (
	"bytes"
	"encoding/xml"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/emersion/go-vcard"
)

// FuzzValidate: Validate never panics; what it accepts has a UID of at most
// MaxUIDLen bytes and version 3.0 or 4.0; every refusal wraps a sentinel.
func FuzzValidate(f *testing.F) {
	f.Add([]byte("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:x\r\nFN:y\r\nEND:VCARD\r\n"))
	f.Add([]byte("BEGIN:VCARD\r\nVERSION:9.0\r\nUID:x\r\nFN:y\r\nEND:VCARD\r\n"))
	f.Add([]byte("BEGIN:VCARD\r\nVERSION:4.0\r\nUID:x\r\nFN:a\x01b\r\nEND:VCARD\r\n"))
	f.Add([]byte("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:x\r\nEND:VCARD\r\nBEGIN:VCARD\r\n"))
	f.Add([]byte("BEGIN:VCARD\r\nVERSION:2.1\r\nN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:M=C3=BCller;Hans\r\nTEL;CELL:1\r\nNOTE;ENCODING=QUOTED-PRINTABLE:a=\r\nb\r\nEND:VCARD\r\n"))
	f.Add([]byte("BEGIN:VCARD\nVERSION:2.1\nN;CHARSET=ISO-8859-1:Gr\xfcn;Anna\nEND:VCARD\n"))
	// The shapes real clients send (testdata/clients).
	files, _ := filepath.Glob(filepath.Join("testdata", "clients", "*.vcf"))
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		info, err := Validate(body)
		if err != nil {
			if !errors.Is(err, ErrInvalidData) && !errors.Is(err, ErrUnsupportedVersion) {
				t.Fatalf("refusal without a sentinel: %v", err)
			}
			return
		}
		if info.UID == "" || len(info.UID) > MaxUIDLen || (info.Version != "3.0" && info.Version != "4.0") {
			t.Fatalf("accepted %+v", info)
		}
		if info.Body != nil {
			// A rewritten vCard 2.1 is a plain 3.0 card with the same UID.
			again, err := Validate(info.Body)
			if err != nil || again.Body != nil || again.UID != info.UID || again.Version != "3.0" {
				t.Fatalf("rewritten card: %v %+v\n%q", err, again, info.Body)
			}
		}
	})
}

// FuzzFilter: any CARDDAV:filter body compiles or is refused with a
// sentinel, and a compiled filter matches a card without panicking.
func FuzzFilter(f *testing.F) {
	f.Add(`<filter test="allof"><prop-filter name="FN"><text-match match-type="equals" collation="i;octet">x</text-match><param-filter name="TYPE"><is-not-defined/></param-filter></prop-filter></filter>`)
	f.Add(`<filter><prop-filter name="EMAIL"><text-match collation="i;nope">x</text-match></prop-filter></filter>`)
	card, err := vcard.NewDecoder(bytes.NewReader([]byte("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:x\r\nFN:Ann\r\nEMAIL;TYPE=work:a@b\r\nEND:VCARD\r\n"))).Decode()
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body string) {
		var fx FilterXML
		if xml.Unmarshal([]byte(body), &fx) != nil {
			return
		}
		flt, err := Compile(fx)
		if err != nil {
			if !errors.Is(err, ErrBadFilter) && !errors.Is(err, ErrUnsupportedCollation) {
				t.Fatalf("refusal without a sentinel: %v", err)
			}
			return
		}
		flt.Match(card)
	})
}
