package card

import (
	"errors"
	"strings"
	"testing"
)

// A vCard holding a character XML 1.0 forbids would make every report that
// carries it malformed XML: Validate refuses it, naming the character.
func TestValidateRefusesXMLForbiddenCharacters(t *testing.T) {
	for _, tt := range []struct{ name, fn, want string }{
		{"U+FFFE", "a\uFFFEb", "U+FFFE"},
		{"U+FFFF", "a\uFFFFb", "U+FFFF"},
		{"C0 0x01", "a\x01b", "0x01"},
		{"C0 0x0b", "a\x0bb", "0x0b"},
		{"ESC", "a\x1bb", "0x1b"},
		{"NUL", "a\x00b", "0x00"},
		{"lone surrogate", "a\xed\xa0\x80b", "UTF-8"},
		{"invalid UTF-8", "a\xffb", "UTF-8"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			body := "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:x\r\nFN:" + tt.fn + "\r\nEND:VCARD\r\n"
			_, err := Validate([]byte(body))
			if !errors.Is(err, ErrInvalidData) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Validate: %v, want ErrInvalidData naming %s", err, tt.want)
			}
		})
	}
	for _, ok := range []string{"tab\there", "é ü 日本 \uFFFD \U0001F600", "\u0085 \u007f"} {
		body := "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:x\r\nFN:" + ok + "\r\nEND:VCARD\r\n"
		if _, err := Validate([]byte(body)); err != nil {
			t.Errorf("Validate refused %q: %v", ok, err)
		}
	}
}
