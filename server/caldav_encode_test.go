package server

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/emersion/go-ical"
)

// TestEncodeICal: lines are folded at 75 octets without splitting a UTF-8
// character, parameters that need it are quoted, and the text decodes back
// to the same properties.
func TestEncodeICal(t *testing.T) {
	long := strings.Repeat("Grüße aus Köln — ", 20)
	in := mustICal(t, vcal(vevent("enc", "20260310T100000Z", "", "DESCRIPTION:"+long,
		`ATTENDEE;CN="Doe, Jane";PARTSTAT=ACCEPTED:mailto:jane@example.com`)))
	out := encodeICal(in)
	for _, l := range strings.Split(strings.TrimSuffix(out, "\r\n"), "\r\n") {
		if len(l) > 75 {
			t.Errorf("line of %d octets: %q", len(l), l)
		}
		if !utf8.ValidString(l) {
			t.Errorf("a fold split a character: %q", l)
		}
	}
	if !strings.HasPrefix(out, "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:") {
		t.Errorf("VERSION and PRODID should come first:\n%s", out)
	}
	back, err := ical.NewDecoder(strings.NewReader(out)).Decode()
	if err != nil {
		t.Fatalf("encoded text does not decode: %v\n%s", err, out)
	}
	ev := back.Children[0]
	if got := ev.Props.Get("DESCRIPTION").Value; got != long {
		t.Errorf("DESCRIPTION after a round trip:\n got  %q\n want %q", got, long)
	}
	if a := ev.Props.Get("ATTENDEE"); a == nil || a.Params.Get("CN") != "Doe, Jane" || a.Value != "mailto:jane@example.com" {
		t.Errorf("ATTENDEE after a round trip: %+v", a)
	}
}
