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

// Shapes real clients send that RFC 5545 does not strictly allow but that can be
// stored safely: each is accepted, with the span RFC 4791 §9.9 gives it once the
// lenient reading (timing.lenientEnd, completeCalendar) is applied.
func TestParseClientShapes(t *testing.T) {
	utc := func(s string) time.Time {
		v, err := time.Parse("20060102T150405Z", s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	tests := []struct {
		file       string
		start, end time.Time
		fixed      []string // what completeCalendar added
	}{
		// DTEND before DTSTART: the DTEND is ignored, so a DATE-TIME event is a point
		// (the span index holds it as one second).
		{"dtend_before_dtstart.ics", utc("20240102T100000Z"), utc("20240102T100001Z"), nil},
		// A DATE DTEND after a DATE-TIME DTSTART: midnight (UTC, the floating zone here).
		{"dtend_type_mismatch.ics", utc("20240102T100000Z"), utc("20240103T000000Z"), nil},
		// Europe/Berlin noon (10:00Z) until midnight 11 July, read as a DATE-TIME.
		{"vevent_tzid_start_date_end.ics", utc("20240709T100000Z"), utc("20240711T000000Z"), nil},
		// A DATE DTSTART with a DATE-TIME DUE: the DUE is read as its date, so the
		// task spans 9 July to 11 July 00:00 (widened by a second on each side: the
		// §9.9 tests for a VTODO's DTSTART and DUE are inclusive).
		{"vtodo_date_start_datetime_due.ics", utc("20240708T235959Z"), utc("20240711T000001Z"), nil},
		{"no_version.ics", utc("20240102T100000Z"), utc("20240102T100001Z"), []string{"added VERSION:2.0"}},
		{"no_prodid.ics", utc("20240102T100000Z"), utc("20240102T100001Z"), []string{"added PRODID"}},
		// Ten daily instances from 1 July 10:00 Berlin (08:00Z); EXDATE forms remove
		// 2, 3 (a list), 4 (UTC), 6; the DATE EXDATE of 5 July matches no DATE-TIME
		// instance. The last instance, 10 July, stays, so the span ends at 09:00Z.
		{"exdate_forms.ics", utc("20240701T080000Z"), utc("20240710T090000Z"), nil},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			body := readTestdata(t, "clients/"+tt.file)
			obj, err := Parse(body, time.UTC)
			if err != nil {
				t.Fatalf("Parse refused it: %v", err)
			}
			if err := obj.CheckDates(); err != nil {
				t.Fatalf("CheckDates: %v", err)
			}
			if !obj.HasSpan || !obj.Start.Equal(tt.start) || !obj.End.Equal(tt.end) {
				t.Errorf("span %v..%v (has %v), want %v..%v", obj.Start, obj.End, obj.HasSpan, tt.start, tt.end)
			}
			if strings.Join(obj.Fixed, ",") != strings.Join(tt.fixed, ",") {
				t.Errorf("Fixed = %q, want %q", obj.Fixed, tt.fixed)
			}
			if len(tt.fixed) == 0 && obj.Body != nil {
				t.Errorf("the body was changed although nothing needed fixing:\n%s", obj.Body)
			}
			if len(tt.fixed) > 0 {
				checkCompleted(t, body, obj)
			}
		})
	}
}

// checkCompleted checks a completed body: it parses with nothing left to fix, it
// holds VERSION and PRODID once, and removing the added lines gives the body back.
func checkCompleted(t *testing.T, sent []byte, obj *Object) {
	t.Helper()
	again, err := Parse(obj.Body, time.UTC)
	if err != nil {
		t.Fatalf("the completed body does not parse: %v\n%s", err, obj.Body)
	}
	if again.Body != nil || len(again.Fixed) > 0 {
		t.Errorf("the completed body needed fixing again: %q", again.Fixed)
	}
	for _, name := range []string{ical.PropVersion, ical.PropProductID} {
		if n := len(again.Cal.Props.Values(name)); n != 1 {
			t.Errorf("%d %s in the completed body", n, name)
		}
	}
	back := obj.Body
	for _, line := range []string{"VERSION:2.0", "PRODID:" + ProductID} {
		for _, eol := range []string{"\r\n", "\n"} {
			if bytes.Contains(sent, []byte(line+eol)) {
				continue
			}
			back = bytes.Replace(back, []byte(line+eol), nil, 1)
		}
	}
	if !bytes.Equal(back, sent) {
		t.Errorf("the completed body differs from the sent one beyond the added lines:\nsent:\n%s\nstored:\n%s", sent, obj.Body)
	}
}

// python-caldav wraps a bare VEVENT in BEGIN/END:VCALENDAR with LF line endings and
// neither VERSION nor PRODID: stored completed, with LF kept.
func TestParseWrappedBareEvent(t *testing.T) {
	body, err := os.ReadFile(filepath.Join("testdata", "clients", "python_caldav_wrapped.ics"))
	if err != nil {
		t.Fatal(err)
	}
	obj, err := Parse(body, time.UTC)
	if err != nil {
		t.Fatalf("Parse refused the wrapped event: %v", err)
	}
	if obj.UID != "wrapped-1" || obj.Component != ical.CompEvent {
		t.Errorf("UID %q component %q", obj.UID, obj.Component)
	}
	if bytes.Contains(obj.Body, []byte("\r\n")) {
		t.Errorf("the completed body has CRLF although the client sent LF:\n%q", obj.Body)
	}
	if !bytes.HasPrefix(obj.Body, []byte("BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:"+ProductID+"\nBEGIN:VEVENT\n")) {
		t.Errorf("completed body:\n%s", obj.Body)
	}
	checkCompleted(t, body, obj)
}

// A VERSION other than 2.0 is another format (vCalendar 1.0) and stays refused.
func TestParseRefusesOtherVersion(t *testing.T) {
	body := []byte("BEGIN:VCALENDAR\r\nVERSION:1.0\r\nPRODID:x\r\nBEGIN:VEVENT\r\nUID:a\r\nDTSTART:20240102T100000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
	_, err := Parse(body, time.UTC)
	if err == nil || !strings.Contains(err.Error(), "VERSION:2.0") {
		t.Fatalf("Parse(VERSION:1.0) = %v, want a refusal naming VERSION:2.0", err)
	}
}

// A recurring VTODO with DUE and no DTSTART recurs from its DUE: five daily
// instances, each due at its recurrence time; expanded instances carry DUE and
// RECURRENCE-ID but no DTSTART the client never wrote.
func TestRecurringTodoWithoutStart(t *testing.T) {
	body := "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VTODO\r\nUID:t6\r\nDTSTAMP:20240101T000000Z\r\n" +
		"DUE:20240102T110000Z\r\nRRULE:FREQ=DAILY;COUNT=5\r\nSUMMARY:Task 6\r\nEND:VTODO\r\nEND:VCALENDAR\r\n"
	got := instancesIn(t, body, TimeRange{Start: time.Date(2024, 1, 3, 0, 0, 0, 0, time.UTC), End: time.Date(2024, 1, 5, 0, 0, 0, 0, time.UTC)}, nil)
	if len(got) != 2 || !strings.Contains(got[0], "20240103T110000Z") || !strings.Contains(got[1], "20240104T110000Z") {
		t.Errorf("instances due 3 and 4 January, got %q", got)
	}
	obj, err := Parse([]byte(body), time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	if !obj.Start.Before(time.Date(2024, 1, 2, 11, 0, 0, 0, time.UTC)) || !obj.End.After(time.Date(2024, 1, 6, 11, 0, 0, 0, time.UTC)) {
		t.Errorf("span %v..%v does not cover the five due times", obj.Start, obj.End)
	}
	exp, err := obj.Expand(TimeRange{Start: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), End: time.Date(2024, 2, 1, 0, 0, 0, 0, time.UTC)}, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	var dues []string
	for _, c := range exp.Children {
		if c.Props.Get(ical.PropDateTimeStart) != nil {
			t.Errorf("expanded instance has a DTSTART: %v", c.Props.Get(ical.PropDateTimeStart).Value)
		}
		if p := c.Props.Get(ical.PropDue); p != nil {
			dues = append(dues, p.Value)
		}
	}
	if strings.Join(dues, ",") != "20240102T110000Z,20240103T110000Z,20240104T110000Z,20240105T110000Z,20240106T110000Z" {
		t.Errorf("expanded DUEs %q", dues)
	}
	text, err := obj.ExpandText(TimeRange{Start: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), End: time.Date(2024, 2, 1, 0, 0, 0, 0, time.UTC)}, time.UTC, func(cal *ical.Calendar) string { return plainText(cal.Component) })
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(text, "DTSTART") || strings.Count(text, "DUE:") != 5 {
		t.Errorf("ExpandText:\n%s", text)
	}
}
