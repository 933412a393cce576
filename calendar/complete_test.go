package calendar

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-ical"
)

// A VCALENDAR-level METHOD is removed, folded continuation lines included,
// while a property of the same name inside a component and every other byte
// stay as sent, in either line ending.
func TestParseRemovesCalendarMethod(t *testing.T) {
	const sent = "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//x//y//EN\nmethod:REQ\n UEST\nX-A:1\nBEGIN:VEVENT\nUID:m1\nDTSTART:20240102T100000Z\nX-METHOD:keep\nDESCRIPTION:METHOD:PUBLISH is text here\nEND:VEVENT\nEND:VCALENDAR\n"
	const want = "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//x//y//EN\nX-A:1\nBEGIN:VEVENT\nUID:m1\nDTSTART:20240102T100000Z\nX-METHOD:keep\nDESCRIPTION:METHOD:PUBLISH is text here\nEND:VEVENT\nEND:VCALENDAR\n"
	for _, eol := range []string{"\n", "\r\n"} {
		in := strings.ReplaceAll(sent, "\n", eol)
		obj, err := Parse([]byte(in), time.UTC)
		if err != nil {
			t.Fatalf("eol %q: refused: %v", eol, err)
		}
		if got, w := string(obj.Body), strings.ReplaceAll(want, "\n", eol); got != w {
			t.Errorf("eol %q: stored\n%q\nwant\n%q", eol, got, w)
		}
		if strings.Join(obj.Fixed, ",") != "removed METHOD:REQUEST" {
			t.Errorf("Fixed = %q", obj.Fixed)
		}
		if obj.Cal.Props.Get(ical.PropMethod) != nil {
			t.Error("METHOD still in the parsed calendar")
		}
		again, err := Parse(obj.Body, time.UTC)
		if err != nil {
			t.Fatalf("the stored body does not parse: %v", err)
		}
		if again.Body != nil || len(again.Fixed) > 0 {
			t.Errorf("the stored body needs fixing again: %q", again.Fixed)
		}
	}
}

// Outlook's export shape: METHOD:PUBLISH and no other problem; with VERSION
// missing too, both fixes apply and are both reported.
func TestParseOutlookPublish(t *testing.T) {
	// Read as it is (CRLF); readTestdata would turn LF files into CRLF.
	sent, err := os.ReadFile(filepath.Join("testdata", "clients", "outlook_synchronizer_windows_tzid.ics"))
	if err != nil {
		t.Fatal(err)
	}
	obj, err := Parse(sent, time.UTC)
	if err != nil {
		t.Fatalf("refused: %v", err)
	}
	if !bytes.Equal(obj.Body, bytes.Replace(sent, []byte("METHOD:PUBLISH\r\n"), nil, 1)) {
		t.Errorf("stored body is not the sent one without its METHOD line:\n%s", obj.Body)
	}
	// The event ends 15:00 W. Europe Standard Time (summer, +02:00), 13:00Z;
	// the span starts at the alarm, 15 minutes before 12:00Z.
	if !obj.Start.Equal(time.Date(2024, 6, 12, 11, 45, 0, 0, time.UTC)) || !obj.End.Equal(time.Date(2024, 6, 12, 13, 0, 0, 0, time.UTC)) {
		t.Errorf("span %v..%v, want 11:45Z..13:00Z", obj.Start, obj.End)
	}
	noVersion := bytes.Replace(sent, []byte("VERSION:2.0\r\n"), nil, 1)
	obj, err = Parse(noVersion, time.UTC)
	if err != nil {
		t.Fatalf("refused without VERSION: %v", err)
	}
	if strings.Join(obj.Fixed, ",") != "removed METHOD:PUBLISH,added VERSION:2.0" {
		t.Errorf("Fixed = %q", obj.Fixed)
	}
	if n := bytes.Count(obj.Body, []byte("VERSION:2.0\r\n")); n != 1 || bytes.Contains(obj.Body, []byte("METHOD")) {
		t.Errorf("stored body:\n%s", obj.Body)
	}
}
