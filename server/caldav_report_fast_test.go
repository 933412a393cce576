package server

import (
	"strings"
	"testing"
	"time"

	"github.com/pimvault/pimvault/calendar"
	"github.com/pimvault/pimvault/storage"
)

// TestSpanMatchAgreesWithMatch: where the stored span decides a VEVENT
// time-range query, it decides it as calendar.Match does; where it cannot,
// it says so.
func TestSpanMatchAgreesWithMatch(t *testing.T) {
	tzBerlin := strings.TrimSuffix(strings.TrimPrefix(berlinTZ, "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//x//y//EN\r\n"), "END:VCALENDAR\r\n")
	tests := []struct {
		name  string
		body  string
		exact bool
	}{
		{"UTC", vcal(vevent("a", "20260310T100000Z", "20260310T110000Z")), true},
		{"zero length", vcal(vevent("a", "20260310T100000Z", "")), true},
		{"duration", vcal(vevent("a", "20260310T100000Z", "", "DURATION:PT90M")), true},
		{"named zone with its VTIMEZONE", vcal(tzBerlin, strings.ReplaceAll(strings.ReplaceAll(vevent("a", "20260329T013000", "20260329T033000"),
			"DTSTART:", "DTSTART;TZID=Europe/Berlin:"), "DTEND:", "DTEND;TZID=Europe/Berlin:")), true},
		{"floating", vcal(vevent("a", "20260310T100000", "20260310T110000")), false},
		{"all-day", vcal(strings.Replace(vevent("a", "20260310", "20260311"), "DTSTART:", "DTSTART;VALUE=DATE:", 1)), false},
		{"recurring", vcal(vevent("a", "20260310T100000Z", "20260310T110000Z", "RRULE:FREQ=DAILY;COUNT=3")), false},
		{"RDATE", vcal(vevent("a", "20260310T100000Z", "20260310T110000Z", "RDATE:20260320T100000Z")), false},
		{"folded RRULE", vcal(vevent("a", "20260310T100000Z", "20260310T110000Z", "RR\r\n ULE:FREQ=DAILY;COUNT=3")), false},
		{"lower-case rrule", vcal(vevent("a", "20260310T100000Z", "20260310T110000Z", "rrule:FREQ=DAILY;COUNT=3")), false},
		{"alarm", vcal(strings.Replace(vevent("a", "20260310T100000Z", "20260310T110000Z"), "END:VEVENT", "BEGIN:VALARM\r\nACTION:DISPLAY\r\nDESCRIPTION:x\r\nTRIGGER:-P2D\r\nEND:VALARM\r\nEND:VEVENT", 1)), false},
	}
	day := func(d, h int) time.Time { return time.Date(2026, 3, d, h, 0, 0, 0, time.UTC) }
	ranges := []calendar.TimeRange{
		{Start: day(10, 0), End: day(11, 0)},
		{Start: day(10, 10), End: day(10, 11)},
		{Start: day(10, 11), End: day(10, 12)},
		{Start: day(10, 9), End: day(10, 10)},
		{Start: day(28, 0), End: day(30, 0)},
		{Start: day(8, 0), End: day(9, 0)},
		{Start: day(10, 10)},
		{End: day(10, 10)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := spanIsExact([]byte(tt.body)); got != tt.exact {
				t.Fatalf("spanIsExact: got %v, want %v", got, tt.exact)
			}
			obj, err := calendar.Parse([]byte(tt.body), time.UTC)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			o := storage.Object{Body: []byte(tt.body), Meta: storage.ObjectMeta{UID: obj.UID, Component: obj.Component, Span: spanOf(obj)}}
			for _, tr := range ranges {
				f := calendar.CompFilter{Name: "VCALENDAR", CompFilters: []calendar.CompFilter{{Name: "VEVENT", TimeRange: &tr}}}
				if _, ok := eventRangeOnly(f); !ok {
					t.Fatalf("eventRangeOnly refused a plain event range")
				}
				match, decided := spanMatch(o, tr)
				if decided != tt.exact {
					t.Fatalf("spanMatch decided=%v, want %v", decided, tt.exact)
				}
				if !decided {
					continue
				}
				want, err := calendar.Match(obj.Cal, f, time.UTC)
				if err != nil {
					t.Fatal(err)
				}
				if match != want {
					t.Errorf("range %v–%v: span says %v, Match says %v", tr.Start, tr.End, match, want)
				}
				// Where expand is answered with the body itself, calendar.Expand
				// gives the same one component.
				req := &calendarDataReq{expand: &tr}
				if !req.expandsToItself(o) {
					continue
				}
				exp, err := calendar.Expand(obj.Cal, tr, time.UTC)
				if err != nil {
					t.Fatal(err)
				}
				orig := obj.Cal.Children[0]
				if len(exp.Children) != 1 || exp.Children[0].Props.Get("RECURRENCE-ID") != nil {
					t.Fatalf("range %v–%v: Expand gives %d components, want the event itself", tr.Start, tr.End, len(exp.Children))
				}
				for _, name := range []string{"UID", "DTSTART", "DTEND", "DURATION", "SUMMARY"} {
					a, b := exp.Children[0].Props.Get(name), orig.Props.Get(name)
					if (a == nil) != (b == nil) || a != nil && a.Value != b.Value {
						t.Errorf("range %v–%v: Expand changed %s: %v → %v", tr.Start, tr.End, name, b, a)
					}
				}
			}
		})
	}
	// Filters that ask more than an overlap are never decided by the span.
	tr := ranges[0]
	for _, f := range []calendar.CompFilter{
		{Name: "VCALENDAR", CompFilters: []calendar.CompFilter{{Name: "VTODO", TimeRange: &tr}}},
		{Name: "VCALENDAR", CompFilters: []calendar.CompFilter{{Name: "VEVENT", TimeRange: &tr, PropFilters: []calendar.PropFilter{{Name: "SUMMARY"}}}}},
		{Name: "VCALENDAR", CompFilters: []calendar.CompFilter{{Name: "VEVENT", TimeRange: &tr, CompFilters: []calendar.CompFilter{{Name: "VALARM"}}}}},
		{Name: "VCALENDAR", CompFilters: []calendar.CompFilter{{Name: "VEVENT", TimeRange: &tr}, {Name: "VTODO"}}},
		{Name: "VCALENDAR", CompFilters: []calendar.CompFilter{{Name: "VEVENT"}}},
	} {
		if _, ok := eventRangeOnly(f); ok {
			t.Errorf("eventRangeOnly accepted %+v", f)
		}
	}
}
