package server

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pimvault/pimvault/calendar"
)

// TestExpandTextMatchesEncodedExpand checks that calendar.Object.ExpandText, which
// writes instances from per-component templates, gives byte for byte what encoding
// Expand's components gives, for the test calendars of calendar (real clients'
// objects, the RFC 4791 Appendix B calendar) and recurrence cases, over several
// windows, each asked twice (the second from the cached templates).
func TestExpandTextMatchesEncodedExpand(t *testing.T) {
	var bodies []string
	for _, dir := range []string{"../calendar/testdata/valid", "../calendar/testdata/rfc4791"} {
		files, err := filepath.Glob(filepath.Join(dir, "*.ics"))
		if err != nil || len(files) == 0 {
			t.Fatalf("no test calendars in %s: %v", dir, err)
		}
		for _, f := range files {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			bodies = append(bodies, string(b))
		}
	}
	tz := "BEGIN:VTIMEZONE\r\nTZID:Europe/Berlin\r\nBEGIN:STANDARD\r\nDTSTART:19701025T030000\r\nRRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nEND:STANDARD\r\nBEGIN:DAYLIGHT\r\nDTSTART:19700329T020000\r\nRRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\nEND:DAYLIGHT\r\nEND:VTIMEZONE\r\n"
	bodies = append(bodies,
		vcal(vevent("w", "20260105T090000Z", "20260105T100000Z", "RRULE:FREQ=WEEKLY;COUNT=40", "EXDATE:20260119T090000Z", "DESCRIPTION:"+strings.Repeat("long text ", 20)),
			vevent("w", "20260202T110000Z", "20260202T120000Z", "RECURRENCE-ID:20260202T090000Z")),
		"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\n"+tz+
			"BEGIN:VEVENT\r\nUID:b\r\nDTSTAMP:20260101T000000Z\r\nDTSTART;TZID=Europe/Berlin:20260301T093000\r\nDTEND;TZID=Europe/Berlin:20260301T103000\r\nRRULE:FREQ=DAILY;INTERVAL=2\r\nBEGIN:VALARM\r\nACTION:DISPLAY\r\nDESCRIPTION:x\r\nTRIGGER:-PT15M\r\nEND:VALARM\r\nEND:VEVENT\r\n"+
			"BEGIN:VEVENT\r\nUID:b\r\nDTSTAMP:20260101T000000Z\r\nRECURRENCE-ID;TZID=Europe/Berlin;RANGE=THISANDFUTURE:20260329T093000\r\nDTSTART;TZID=Europe/Berlin:20260329T113000\r\nDURATION:PT2H\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
		vcal("BEGIN:VEVENT\r\nUID:d\r\nDTSTAMP:20260101T000000Z\r\nDTSTART;VALUE=DATE:20260130\r\nDTEND;VALUE=DATE:20260202\r\nRRULE:FREQ=MONTHLY;BYMONTHDAY=30,-1;COUNT=12\r\nEND:VEVENT\r\n"),
		vcal(vevent("f", "20260301T120000", "20260301T130000", "RRULE:FREQ=WEEKLY;BYDAY=MO,TH;UNTIL=20261231T000000Z", "RDATE:20260310T080000")),
		vcal(vtodo("t", "DTSTART:20260101T080000Z", "DUE:20260101T090000Z", "RRULE:FREQ=WEEKLY")),
		vcal(vevent("s", "20260610T080000Z", "20260610T090000Z")),
	)
	windows := []calendar.TimeRange{
		{Start: time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC), End: time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)},
		{Start: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), End: time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)},
		{Start: time.Date(2006, 1, 1, 0, 0, 0, 0, time.UTC), End: time.Date(2006, 1, 8, 0, 0, 0, 0, time.UTC)}, // RFC 4791's week
		{Start: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC), End: time.Date(2030, 1, 2, 0, 0, 0, 0, time.UTC)},
	}
	checked := 0
	for i, body := range bodies {
		for _, floating := range []*time.Location{time.UTC, mustZone(t, "America/New_York")} {
			obj, err := calendar.Parse([]byte(body), floating)
			if err != nil {
				t.Fatalf("body %d: Parse: %v", i, err)
			}
			for _, tr := range windows {
				cal, wantErr := obj.Expand(tr, floating)
				for round := 0; round < 2; round++ {
					got, err := obj.ExpandText(tr, floating, encodeICal)
					if (err != nil) != (wantErr != nil) {
						t.Fatalf("body %d %v: ExpandText error %v, Expand error %v", i, tr, err, wantErr)
					}
					if wantErr != nil {
						continue
					}
					if want := encodeICal(cal); got != want {
						t.Fatalf("body %d in %s, window %v, round %d:\ngot\n%s\nwant\n%s", i, floating, tr, round, got, want)
					}
					checked++
				}
			}
		}
	}
	if checked < 100 {
		t.Errorf("only %d expansions compared", checked)
	}
}

func mustZone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// TestExpandTextConcurrent: one cached Object serves concurrent queries; its
// templates are made once and read by all (run with -race).
func TestExpandTextConcurrent(t *testing.T) {
	body := vcal(vevent("w", "20260105T090000Z", "20260105T100000Z", "RRULE:FREQ=WEEKLY;COUNT=40"),
		vevent("w", "20260202T110000Z", "20260202T120000Z", "RECURRENCE-ID:20260202T090000Z"))
	obj, err := calendar.Parse([]byte(body), time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	tr := calendar.TimeRange{Start: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), End: time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)}
	cal, err := obj.Expand(tr, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	want := encodeICal(cal)
	errs := make(chan string, 8)
	for g := 0; g < 8; g++ {
		go func() {
			got, err := obj.ExpandText(tr, time.UTC, encodeICal)
			if err != nil || got != want {
				errs <- fmt.Sprintf("got %q, %v", got, err)
				return
			}
			errs <- ""
		}()
	}
	for g := 0; g < 8; g++ {
		if e := <-errs; e != "" {
			t.Error(e)
		}
	}
}
