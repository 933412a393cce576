package calendar

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/emersion/go-ical"
)

func addTestdataSeeds(f *testing.F) {
	for _, dir := range []string{"valid", "invalid", "rfc4791"} {
		files, _ := filepath.Glob(filepath.Join("testdata", dir, "*.ics"))
		for _, file := range files {
			b, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
}

// FuzzParse: Parse never panics or hangs, and whatever it accepts re-encodes and parses
// again to the same object.
func FuzzParse(f *testing.F) {
	addTestdataSeeds(f)
	f.Add([]byte("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART;TZID=\"a\r\n"))
	f.Add([]byte("BEGIN:VCALENDAR\r\nX;A=\"b\"c:d\r\nEND:VCALENDAR\r\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		obj, err := Parse(body, nil)
		if err != nil {
			return
		}
		var buf bytes.Buffer
		for _, c := range obj.Cal.Children { // go-ical's encoder insists on DTSTAMP
			if c.Name != ical.CompTimezone && c.Props.Get(ical.PropDateTimeStamp) == nil {
				c.Props.SetDateTime(ical.PropDateTimeStamp, time.Unix(0, 0).UTC())
			}
		}
		if err := ical.NewEncoder(&buf).Encode(obj.Cal); err != nil {
			t.Fatalf("accepted object does not encode: %v", err)
		}
		again, err := Parse(buf.Bytes(), nil)
		if err != nil {
			t.Fatalf("re-encoded object does not parse: %v\n%s", err, buf.Bytes())
		}
		if again.UID != obj.UID || again.Component != obj.Component || again.HasSpan != obj.HasSpan ||
			!again.Start.Equal(obj.Start) || !again.End.Equal(obj.End) {
			t.Fatalf("round trip changed the object: %+v vs %+v", again, obj)
		}
	})
}

// FuzzMatch: on any object Parse accepts and any time range, Match never panics, fails
// only with ErrTooManyInstances, and never matches outside the object's span (the store
// prefilters candidates by span, so a match outside it would be lost).
func FuzzMatch(f *testing.F) {
	addTestdataSeeds(f)
	for _, b := range []string{
		event("DTSTART;TZID=Europe/Berlin:20240330T090000", "DURATION:PT1H", "RRULE:FREQ=DAILY;COUNT=3",
			"BEGIN:VALARM", "ACTION:DISPLAY", "TRIGGER;RELATED=END:-P1D", "REPEAT:3", "DURATION:PT1H", "END:VALARM"),
		event("DTSTART:20240101T100000Z", "DURATION:PT1H", "RRULE:FREQ=DAILY;COUNT=5", "--",
			"RECURRENCE-ID;RANGE=THISANDFUTURE:20240103T100000Z", "DTSTART:20240102T120000Z", "DURATION:PT30M"),
		event("DTSTART;VALUE=DATE:20240130", "DTEND;VALUE=DATE:20240202", "RRULE:FREQ=MONTHLY;BYMONTHDAY=-1", "RDATE;VALUE=PERIOD:20230101T000000Z/P3W"),
	} {
		f.Add([]byte(b))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		obj, err := Parse(body, nil)
		if err != nil {
			return
		}
		// Probe windows derived from the span and the body length, without timing.
		base := utc("20240101T000000Z")
		if obj.HasSpan {
			base = obj.Start
		}
		probes := []TimeRange{
			{base.Add(-time.Hour), base},
			{base, base.Add(time.Second)},
			{base.Add(-48 * time.Hour), base.Add(-24 * time.Hour)},
			{base.Add(time.Duration(len(body)) * time.Hour), base.Add(time.Duration(len(body)+30) * time.Hour)},
		}
		if obj.HasSpan && !obj.End.Equal(Forever) {
			probes = append(probes, TimeRange{obj.End, obj.End.Add(time.Hour)}, TimeRange{obj.End.Add(-time.Second), obj.End})
		}
		for _, tr := range probes {
			r := tr
			for _, cf := range []CompFilter{
				{Name: obj.Component, TimeRange: &r},
				{Name: obj.Component, CompFilters: []CompFilter{{Name: "VALARM", TimeRange: &r}}},
			} {
				ok, err := Match(obj.Cal, calendarFilter(cf), nil)
				if err != nil && !errors.Is(err, ErrTooManyInstances) {
					t.Fatalf("Match: %v", err)
				}
				if ok && obj.HasSpan && !(r.Start.Before(obj.End) && r.End.After(obj.Start)) {
					t.Fatalf("matches %v..%v outside the span %v..%v", r.Start, r.End, obj.Start, obj.End)
				}
			}
		}
	})
}
