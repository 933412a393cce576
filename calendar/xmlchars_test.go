package calendar

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"strings"
	"testing"
)

// xmlCarries reports whether body, escaped as character data, makes a well-formed XML
// document that gives body back (what a calendar-data element in a REPORT needs).
func xmlCarries(body []byte) error {
	var esc bytes.Buffer
	esc.WriteString("<d>")
	if err := xml.EscapeText(&esc, body); err != nil {
		return err
	}
	esc.WriteString("</d>")
	var got string
	if err := xml.Unmarshal(esc.Bytes(), &got); err != nil {
		return err
	}
	// XML turns CR LF into LF: compare without CRs.
	if strings.ReplaceAll(got, "\r", "") != strings.ReplaceAll(string(body), "\r", "") {
		return fmt.Errorf("XML round trip changed the text")
	}
	return nil
}

// Characters XML 1.0 forbids made every REPORT that carried the object malformed XML;
// they are refused at Parse, saying which character on which line.
func TestParseRefusesCharactersXMLCannotCarry(t *testing.T) {
	for _, tt := range []struct{ name, line, want string }{
		{"SOH in SUMMARY", "SUMMARY:a\x01b", "U+0001"},
		{"vertical tab", "SUMMARY:a\x0bb", "U+000B"},
		{"escape", "DESCRIPTION:\x1b[31mred", "U+001B"},
		{"U+FFFE", "SUMMARY:a\uFFFEb", "U+FFFE"},
		{"U+FFFF", "LOCATION:a\uFFFFb", "U+FFFF"},
		{"invalid UTF-8", "SUMMARY:a\xffb", "not UTF-8"},
		{"encoded surrogate", "SUMMARY:a\xed\xa0\x80b", "not UTF-8"},
		{"in a parameter", "ATTENDEE;CN=\"a\x02\":mailto:a@example.com", "U+0002"},
		{"in a folded line", "SUMMARY:aaaa\r\n b\x1f", "U+001F"},
		{"in an X- property", "X-FOO:\x7f\x10", "U+0010"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(event("DTSTART:20240101T100000Z", tt.line)), nil)
			if !errors.Is(err, ErrInvalidData) || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "XML 1.0") {
				t.Errorf("got %v, want ErrInvalidData naming %s", err, tt.want)
			}
			t.Log(err)
		})
	}
	// Tab, DEL, U+FFFD, non-BMP characters and U+10FFFF are XML characters.
	for _, line := range []string{"SUMMARY:a\tb", "SUMMARY:a\x7fb", "SUMMARY:\uFFFD", "SUMMARY:😀", "SUMMARY:\U0010FFFF", "SUMMARY:\uE000\uD7FF"} {
		body := event("DTSTART:20240101T100000Z", line)
		if _, err := Parse([]byte(body), nil); err != nil {
			t.Errorf("%q: %v", line, err)
		}
		if err := xmlCarries([]byte(body)); err != nil {
			t.Errorf("%q: %v", line, err)
		}
	}
}
