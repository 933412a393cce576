package calendar

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	// Test files are written with LF; iCalendar uses CRLF. Both must parse.
	return bytes.ReplaceAll(b, []byte("\n"), []byte("\r\n"))
}

func utc(s string) time.Time {
	t, err := time.Parse("20060102T150405Z", s)
	if err != nil {
		panic(err)
	}
	return t
}

func mustLoad(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

func TestParseValid(t *testing.T) {
	tests := []struct {
		file      string
		floating  *time.Location
		component string
		uid       string
		hasSpan   bool
		start     string // UTC; "" when !hasSpan
		end       string // UTC, or "forever"
	}{
		// 10:30-11:30 PDT (UTC-7); the alarm 30 minutes before starts the span.
		{"apple_event.ics", nil, "VEVENT", "6A1F8E2B-4C1D-4E8F-9A3B-2C5D7E9F1A3B", true, "20240415T170000Z", "20240415T183000Z"},
		// Unbounded MO/WE/FR from 09:30 EST (UTC-5).
		{"google_recurring.ics", nil, "VEVENT", "7kukuqrfedlm2f9t6vn7p6u0o7@google.com", true, "20240304T143000Z", "forever"},
		// All day Jan 30 - Feb 3 (exclusive) in UTC; the alarm is 15 h before the start.
		{"thunderbird_allday.ics", nil, "VEVENT", "2f0c4f1e-8a3d-4c1e-9b6d-5e7f8a9b0c1d", true, "20240129T090000Z", "20240203T000000Z"},
		// Same, with the calendar in Europe/Berlin (UTC+1 in winter): dates shift by an hour.
		{"thunderbird_allday.ics", mustLoad("Europe/Berlin"), "VEVENT", "2f0c4f1e-8a3d-4c1e-9b6d-5e7f8a9b0c1d", true, "20240129T080000Z", "20240202T230000Z"},
		// DUE only (row 4 of the VTODO table, padded a second each side); the alarm
		// RELATED=END -P1D fires on Apr 14 00:00.
		{"todo.ics", nil, "VTODO", "9b1f7c2e-tasks@example.com", true, "20240414T000000Z", "20240415T000001Z"},
		// "W. Europe Standard Time" compiled from its VTIMEZONE: 14:00 CEST = 12:00Z.
		{"outlook_windows_tz.ics", nil, "VEVENT", "040000008200E00074C5B7101A82E00800000000A0B1C2D3E4F5", true, "20240703T120000Z", "20240703T130000Z"},
		// Floating 18:30: in UTC, or in New York (EST, UTC-5).
		{"floating_journal.ics", nil, "VJOURNAL", "journal-1@example.com", true, "20240202T183000Z", "20240202T183001Z"},
		{"floating_journal.ics", mustLoad("America/New_York"), "VJOURNAL", "journal-1@example.com", true, "20240202T233000Z", "20240202T233001Z"},
		// Daily 10:00 CET (09:00Z) Jan 1..10 (UNTIL inclusive) plus RDATE Jan 15 10:00-11:00 CET.
		// No DTSTAMP (RFC 5545 requires it, clients omit it): accepted. 10:00Z, instant.
		{"no_dtstamp.ics", nil, "VEVENT", "a", true, "20240102T100000Z", "20240102T100001Z"},
		{"recurring_overrides.ics", nil, "VEVENT", "series-1@example.com", true, "20240101T090000Z", "20240115T100000Z"},
	}
	for _, tt := range tests {
		name := tt.file
		if tt.floating != nil {
			name += "/" + tt.floating.String()
		}
		t.Run(name, func(t *testing.T) {
			obj, err := Parse(readTestdata(t, "valid/"+tt.file), tt.floating)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if obj.Component != tt.component || obj.UID != tt.uid {
				t.Errorf("got %s %q, want %s %q", obj.Component, obj.UID, tt.component, tt.uid)
			}
			if obj.HasSpan != tt.hasSpan {
				t.Fatalf("HasSpan = %v, want %v", obj.HasSpan, tt.hasSpan)
			}
			if !tt.hasSpan {
				return
			}
			wantEnd := Forever
			if tt.end != "forever" {
				wantEnd = utc(tt.end)
			}
			if !obj.Start.Equal(utc(tt.start)) || !obj.End.Equal(wantEnd) {
				t.Errorf("span = [%s, %s), want [%s, %s)", obj.Start.Format(time.RFC3339), obj.End.Format(time.RFC3339), utc(tt.start).Format(time.RFC3339), wantEnd.Format(time.RFC3339))
			}
			if obj.Start.Location() != time.UTC || obj.End.Location() != time.UTC {
				t.Errorf("span not in UTC: %v %v", obj.Start.Location(), obj.End.Location())
			}
		})
	}
}

func TestParseInvalid(t *testing.T) {
	tests := []struct {
		file string
		want error
		msg  string // part of the message
	}{
		{"two_uids.ics", ErrInvalidObject, "two UIDs"},
		{"two_types.ics", ErrInvalidObject, "both VEVENT and VTODO"},
		{"two_masters.ics", ErrInvalidObject, "two components without RECURRENCE-ID"},
		{"duplicate_override.ics", ErrInvalidObject, "two overrides"},
		{"no_uid.ics", ErrInvalidObject, "UID"},
		{"unknown_tzid.ics", ErrInvalidData, `unknown time zone TZID="Mars/Olympus_Mons"`},
		{"dtend_and_duration.ics", ErrInvalidData, "both DTEND and DURATION"},
		{"bad_rrule.ics", ErrInvalidData, "RRULE"},
		{"count_and_until.ics", ErrInvalidData, "COUNT and UNTIL"},
		{"impossible_rrule.ics", ErrInvalidData, "never occurs"},
		{"bad_duration.ics", ErrInvalidData, "DURATION"},
		{"no_dtstart.ics", ErrInvalidData, "DTSTART is required"},
		{"empty_calendar.ics", ErrInvalidObject, "no VEVENT"},
		{"two_calendars.ics", ErrInvalidObject, "more than one VCALENDAR"},
		{"unterminated.ics", ErrInvalidData, ""},
		{"vcard.ics", ErrInvalidData, "VCALENDAR"},
		{"param_no_colon.ics", ErrInvalidData, "malformed"},
		{"alarm_no_trigger.ics", ErrInvalidData, "TRIGGER"},
		{"nested_todo.ics", ErrInvalidData, "only VALARM"},
		{"x_component.ics", ErrInvalidObject, "X-THING"},
		{"vtimezone_without_observance.ics", ErrInvalidData, "no STANDARD or DAYLIGHT"},
		{"two_dtstart.ics", ErrInvalidData, "DTSTART"},
		{"bad_exdate.ics", ErrInvalidData, "EXDATE"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			obj, err := Parse(readTestdata(t, "invalid/"+tt.file), nil)
			if err == nil {
				t.Fatalf("Parse accepted it: %+v", obj)
			}
			if !errors.Is(err, tt.want) {
				t.Errorf("error %q does not wrap %q", err, tt.want)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q does not say %q", err, tt.msg)
			}
		})
	}
}

// A VTIMEZONE compiled from its observances (Outlook's "W. Europe Standard Time") gives
// the same instants as Go's Europe/Berlin for every wall clock from 2000 to 2060, DST
// gaps and repeated hours included.
func TestCompiledVTimezoneAgreesWithIANA(t *testing.T) {
	obj, err := Parse(readTestdata(t, "valid/outlook_windows_tz.ics"), nil)
	if err != nil {
		t.Fatal(err)
	}
	z, err := newZones(obj.Cal, nil)
	if err != nil {
		t.Fatal(err)
	}
	compiled, berlin := z.defs["W. Europe Standard Time"], mustLoad("Europe/Berlin")
	if compiled == nil || compiled == berlin {
		t.Fatal("the VTIMEZONE was not compiled")
	}
	for w := time.Date(2000, 1, 1, 0, 30, 0, 0, time.UTC); w.Year() < 2060; w = w.Add(61 * time.Hour) {
		if a, b := toZone(w, compiled), toZone(w, berlin); !a.Equal(b) {
			t.Fatalf("%s: compiled %s, IANA %s", w.Format("2006-01-02 15:04"), a.UTC(), b.UTC())
		}
	}
	for _, w := range []string{"20240331T023000Z", "20241027T023000Z", "20570325T020000Z", "20571028T025959Z"} {
		if a, b := toZone(utc(w), compiled), toZone(utc(w), berlin); !a.Equal(b) {
			t.Errorf("%s: compiled %s, IANA %s", w, a.UTC(), b.UTC())
		}
	}
	// RFC 5545 §3.3.5: 02:30 on the spring-forward day is 02:30 CET (01:30Z); 02:30 on the
	// fall-back day is its first occurrence, 02:30 CEST (00:30Z).
	if got := toZone(utc("20240331T023000Z"), compiled).UTC(); !got.Equal(utc("20240331T013000Z")) {
		t.Errorf("gap: %s", got)
	}
	if got := toZone(utc("20241027T023000Z"), compiled).UTC(); !got.Equal(utc("20241027T003000Z")) {
		t.Errorf("repeated hour: %s", got)
	}
}
