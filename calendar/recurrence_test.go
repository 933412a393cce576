package calendar

import (
	"context"
	"errors"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"
)

// event wraps VEVENT lines (one per line, without CRLF) into a calendar object.
func event(lines ...string) string {
	var b strings.Builder
	b.WriteString("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//pimvault//test//EN\r\n")
	inEvent := false
	for _, l := range lines {
		if l == "--" { // a new component of the same UID
			b.WriteString("END:VEVENT\r\n")
			inEvent = false
			continue
		}
		if !inEvent {
			b.WriteString("BEGIN:VEVENT\r\nUID:r@example.com\r\nDTSTAMP:20240101T000000Z\r\n")
			inEvent = true
		}
		b.WriteString(l + "\r\n")
	}
	b.WriteString("END:VEVENT\r\nEND:VCALENDAR\r\n")
	return b.String()
}

// instancesIn lists "start/end" (UTC) of the instances that overlap tr by the §9.9 rules,
// with the RECURRENCE-ID when there is one, sorted.
func instancesIn(t *testing.T, body string, tr TimeRange, floating *time.Location) []string {
	t.Helper()
	obj, err := Parse([]byte(body), floating)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	z, err := newZones(obj.Cal, floating)
	if err != nil {
		t.Fatal(err)
	}
	ss, err := buildSeries(z, obj.Cal)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, s := range ss {
		lo, hi, err := s.window(z, &CompFilter{Name: obj.Component, TimeRange: &tr})
		if err != nil {
			t.Fatal(err)
		}
		err = s.each(context.Background(), lo, hi, func(inst *instance) (bool, error) {
			if instanceOverlaps(inst, tr, z) {
				out = append(out, fmtInstance(inst))
			}
			return false, nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	sort.Strings(out)
	return out
}

func fmtInstance(inst *instance) string {
	const f = "20060102T150405Z"
	s := inst.start.UTC().Format(f) + "/"
	if inst.hasEnd {
		s += inst.end.UTC().Format(f)
	}
	return s
}

// Expected instances are computed by hand (the derivation is in each comment) and were
// cross-checked with python3 dateutil.rrule + zoneinfo.
func TestRecurrenceTable(t *testing.T) {
	berlin := mustLoad("Europe/Berlin")
	tests := []struct {
		name     string
		body     string
		floating *time.Location
		tr       TimeRange
		want     []string
	}{
		{
			// 09:00 Berlin daily across the spring change (Sun 2024-03-31 02:00 CET -> 03:00 CEST):
			// Mar 30 09:00 CET = 08:00Z; Mar 31 and Apr 1 09:00 CEST = 07:00Z.
			name: "Europe/Berlin spring forward",
			body: event("DTSTART;TZID=Europe/Berlin:20240330T090000", "DURATION:PT1H", "RRULE:FREQ=DAILY;COUNT=3"),
			tr:   TimeRange{utc("20240301T000000Z"), utc("20240501T000000Z")},
			want: []string{"20240330T080000Z/20240330T090000Z", "20240331T070000Z/20240331T080000Z", "20240401T070000Z/20240401T080000Z"},
		},
		{
			// Fall back on Sun 2024-10-27 03:00 CEST -> 02:00 CET: Oct 26 09:00 CEST = 07:00Z,
			// Oct 27 and 28 09:00 CET = 08:00Z.
			name: "Europe/Berlin fall back",
			body: event("DTSTART;TZID=Europe/Berlin:20241026T090000", "DTEND;TZID=Europe/Berlin:20241026T100000", "RRULE:FREQ=DAILY;COUNT=3"),
			tr:   TimeRange{utc("20241001T000000Z"), utc("20241101T000000Z")},
			want: []string{"20241026T070000Z/20241026T080000Z", "20241027T080000Z/20241027T090000Z", "20241028T080000Z/20241028T090000Z"},
		},
		{
			// New York springs forward Sun 2024-03-10 02:00 EST -> 03:00 EDT: weekly 09:30 is
			// 14:30Z (EST, UTC-5) on Mar 3, then 13:30Z (EDT, UTC-4).
			name: "America/New_York weekly across DST",
			body: event("DTSTART;TZID=America/New_York:20240303T093000", "DURATION:PT30M", "RRULE:FREQ=WEEKLY;COUNT=3"),
			tr:   TimeRange{utc("20240301T000000Z"), utc("20240401T000000Z")},
			want: []string{"20240303T143000Z/20240303T150000Z", "20240310T133000Z/20240310T140000Z", "20240317T133000Z/20240317T140000Z"},
		},
		{
			// 02:30 does not exist on Mar 10 in New York; RFC 5545 §3.3.5 reads it with the
			// offset before the gap (EST): 07:30Z, i.e. 03:30 EDT.
			name: "America/New_York nonexistent local time",
			body: event("DTSTART;TZID=America/New_York:20240309T023000", "DURATION:PT1H", "RRULE:FREQ=DAILY;COUNT=2"),
			tr:   TimeRange{utc("20240301T000000Z"), utc("20240401T000000Z")},
			want: []string{"20240309T073000Z/20240309T083000Z", "20240310T073000Z/20240310T083000Z"},
		},
		{
			// A one-day DURATION is a calendar day: from 12:00 CET on Sat Mar 30 to 12:00
			// CEST on Sun Mar 31, which is 23 hours (11:00Z to 10:00Z).
			name: "nominal day across DST",
			body: event("DTSTART;TZID=Europe/Berlin:20240330T120000", "DURATION:P1D"),
			tr:   TimeRange{utc("20240301T000000Z"), utc("20240401T000000Z")},
			want: []string{"20240330T110000Z/20240331T100000Z"},
		},
		{
			// UNTIL in UTC equal to the third instance (Jan 3 10:00 CET = 09:00Z) includes it.
			name: "UNTIL in UTC, inclusive",
			body: event("DTSTART;TZID=Europe/Berlin:20240101T100000", "DURATION:PT1H", "RRULE:FREQ=DAILY;UNTIL=20240103T090000Z"),
			tr:   TimeRange{utc("20240101T000000Z"), utc("20240201T000000Z")},
			want: []string{"20240101T090000Z/20240101T100000Z", "20240102T090000Z/20240102T100000Z", "20240103T090000Z/20240103T100000Z"},
		},
		{
			// One second earlier excludes it.
			name: "UNTIL in UTC, a second before",
			body: event("DTSTART;TZID=Europe/Berlin:20240101T100000", "DURATION:PT1H", "RRULE:FREQ=DAILY;UNTIL=20240103T085959Z"),
			tr:   TimeRange{utc("20240101T000000Z"), utc("20240201T000000Z")},
			want: []string{"20240101T090000Z/20240101T100000Z", "20240102T090000Z/20240102T100000Z"},
		},
		{
			// A local UNTIL (not allowed with TZID by RFC 5545, but written by some clients)
			// is read in the event's zone: 10:00 Berlin = 09:00Z, so Jan 3 is included...
			name: "UNTIL in local time",
			body: event("DTSTART;TZID=Europe/Berlin:20240101T100000", "DURATION:PT1H", "RRULE:FREQ=DAILY;UNTIL=20240103T100000"),
			tr:   TimeRange{utc("20240101T000000Z"), utc("20240201T000000Z")},
			want: []string{"20240101T090000Z/20240101T100000Z", "20240102T090000Z/20240102T100000Z", "20240103T090000Z/20240103T100000Z"},
		},
		{
			// ...and 09:59:59 Berlin excludes it (were it read as UTC, it would include it).
			name: "UNTIL in local time, a second before",
			body: event("DTSTART;TZID=Europe/Berlin:20240101T100000", "DURATION:PT1H", "RRULE:FREQ=DAILY;UNTIL=20240103T095959"),
			tr:   TimeRange{utc("20240101T000000Z"), utc("20240201T000000Z")},
			want: []string{"20240101T090000Z/20240101T100000Z", "20240102T090000Z/20240102T100000Z"},
		},
		{
			// COUNT counts the rule's instances before EXDATE removes one: 5 - 1 = 4.
			name: "COUNT with EXDATE",
			body: event("DTSTART:20240101T100000Z", "DURATION:PT1H", "RRULE:FREQ=DAILY;COUNT=5", "EXDATE:20240103T100000Z"),
			tr:   TimeRange{utc("20240101T000000Z"), utc("20240201T000000Z")},
			want: []string{"20240101T100000Z/20240101T110000Z", "20240102T100000Z/20240102T110000Z", "20240104T100000Z/20240104T110000Z", "20240105T100000Z/20240105T110000Z"},
		},
		{
			// Last weekday of the month: Wed 2024-01-31, Thu 2024-02-29 (leap), Fri 2024-03-29
			// (Mar 30/31 are a weekend).
			name: "BYDAY with BYSETPOS=-1",
			body: event("DTSTART:20240131T170000Z", "DURATION:PT1H", "RRULE:FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1;COUNT=3"),
			tr:   TimeRange{utc("20240101T000000Z"), utc("20250101T000000Z")},
			want: []string{"20240131T170000Z/20240131T180000Z", "20240229T170000Z/20240229T180000Z", "20240329T170000Z/20240329T180000Z"},
		},
		{
			// Jan 2 is overridden (moved to 15:00) and also excluded by EXDATE: EXDATE wins,
			// the occurrence is gone with its override (RFC 5545 §3.8.5.1 removes it from the set).
			name: "EXDATE of an overridden instance",
			body: event("DTSTART:20240101T100000Z", "DURATION:PT1H", "RRULE:FREQ=DAILY;COUNT=3", "EXDATE:20240102T100000Z", "--",
				"RECURRENCE-ID:20240102T100000Z", "DTSTART:20240102T150000Z", "DURATION:PT1H"),
			tr:   TimeRange{utc("20240101T000000Z"), utc("20240201T000000Z")},
			want: []string{"20240101T100000Z/20240101T110000Z", "20240103T100000Z/20240103T110000Z"},
		},
		{
			// The override replaces its instance: the 10:00 slot is empty, 15:00 is taken.
			name: "override moves an instance",
			body: event("DTSTART:20240101T100000Z", "DURATION:PT1H", "RRULE:FREQ=DAILY;COUNT=3", "--",
				"RECURRENCE-ID:20240102T100000Z", "DTSTART:20240102T150000Z", "DURATION:PT2H"),
			tr:   TimeRange{utc("20240102T000000Z"), utc("20240103T000000Z")},
			want: []string{"20240102T150000Z/20240102T170000Z"},
		},
		{
			// RANGE=THISANDFUTURE on Jan 3 shifts it and every later instance by +2h and makes
			// them 30 minutes long.
			name: "RANGE=THISANDFUTURE",
			body: event("DTSTART:20240101T100000Z", "DURATION:PT1H", "RRULE:FREQ=DAILY;COUNT=5", "--",
				"RECURRENCE-ID;RANGE=THISANDFUTURE:20240103T100000Z", "DTSTART:20240103T120000Z", "DURATION:PT30M"),
			tr: TimeRange{utc("20240101T000000Z"), utc("20240201T000000Z")},
			want: []string{"20240101T100000Z/20240101T110000Z", "20240102T100000Z/20240102T110000Z", "20240103T120000Z/20240103T123000Z",
				"20240104T120000Z/20240104T123000Z", "20240105T120000Z/20240105T123000Z"},
		},
		{
			// All day for 3 days (Jan 30 - Feb 2), monthly: Feb 30 does not exist and is
			// skipped (RFC 5545 §3.3.10), so Jan 30, Mar 30 and Apr 30; each ends 3 days on.
			name: "all-day across months",
			body: event("DTSTART;VALUE=DATE:20240130", "DTEND;VALUE=DATE:20240202", "RRULE:FREQ=MONTHLY;COUNT=3"),
			tr:   TimeRange{utc("20240101T000000Z"), utc("20250101T000000Z")},
			want: []string{"20240130T000000Z/20240202T000000Z", "20240330T000000Z/20240402T000000Z", "20240430T000000Z/20240503T000000Z"},
		},
		{
			// The same in a Berlin calendar: dates are Berlin midnights (CET 23:00Z the day
			// before, CEST 22:00Z from Mar 31), and a 3-day event spanning the change is 71h.
			name:     "all-day in the calendar's time zone",
			body:     event("DTSTART;VALUE=DATE:20240130", "DTEND;VALUE=DATE:20240202", "RRULE:FREQ=MONTHLY;COUNT=3"),
			tr:       TimeRange{utc("20240101T000000Z"), utc("20250101T000000Z")},
			floating: berlin,
			want:     []string{"20240129T230000Z/20240201T230000Z", "20240329T230000Z/20240401T220000Z", "20240429T220000Z/20240502T220000Z"},
		},
		{
			// Unbounded, queried 20 years out: Fridays 09:00 New York (EST, 14:00Z) in Jan 2044
			// are Jan 1, 8, 15, 22, 29.
			name: "unbounded weekly, 20 years out",
			body: event("DTSTART;TZID=America/New_York:20240105T090000", "DURATION:PT1H", "RRULE:FREQ=WEEKLY;BYDAY=FR"),
			tr:   TimeRange{utc("20440101T000000Z"), utc("20440201T000000Z")},
			want: []string{"20440101T140000Z/20440101T150000Z", "20440108T140000Z/20440108T150000Z", "20440115T140000Z/20440115T150000Z",
				"20440122T140000Z/20440122T150000Z", "20440129T140000Z/20440129T150000Z"},
		},
		{
			// Unbounded daily 10:00 Berlin around the 2044 spring change (Sun Mar 27):
			// 09:00Z on Mar 26, 08:00Z after.
			name: "unbounded daily, DST 20 years out",
			body: event("DTSTART;TZID=Europe/Berlin:20240101T100000", "DURATION:PT1H", "RRULE:FREQ=DAILY"),
			tr:   TimeRange{utc("20440326T000000Z"), utc("20440329T000000Z")},
			want: []string{"20440326T090000Z/20440326T100000Z", "20440327T080000Z/20440327T090000Z", "20440328T080000Z/20440328T090000Z"},
		},
		{
			// Leap day yearly: 2024-02-29 and 2028-02-29 (non-leap years have no Feb 29).
			name: "yearly on Feb 29",
			body: event("DTSTART;VALUE=DATE:20240229", "RRULE:FREQ=YEARLY;COUNT=2"),
			tr:   TimeRange{utc("20240101T000000Z"), utc("20300101T000000Z")},
			want: []string{"20240229T000000Z/", "20280229T000000Z/"},
		},
		{
			// RDATE with its own TZID and a PERIOD, EXDATE as DATE on a DATE-TIME series
			// (removes that day's instance): Jan 1 and 3 at 09:00Z, RDATE Jan 10 14:00 Berlin =
			// 13:00Z for 2 hours.
			name: "RDATE with TZID and PERIOD, EXDATE as DATE",
			body: event("DTSTART:20240101T090000Z", "DURATION:PT1H", "RRULE:FREQ=DAILY;COUNT=3", "EXDATE;VALUE=DATE:20240102",
				"RDATE;VALUE=PERIOD;TZID=Europe/Berlin:20240110T140000/PT2H"),
			tr:   TimeRange{utc("20240101T000000Z"), utc("20240201T000000Z")},
			want: []string{"20240101T090000Z/20240101T100000Z", "20240103T090000Z/20240103T100000Z", "20240110T130000Z/20240110T150000Z"},
		},
		{
			// DTSTART is an instance of an RDATE-only set (RFC 5545 §3.8.2.4).
			name: "RDATE only",
			body: event("DTSTART:20240101T100000Z", "DURATION:PT1H", "RDATE:20240105T100000Z,20240103T100000Z"),
			tr:   TimeRange{utc("20240101T000000Z"), utc("20240201T000000Z")},
			want: []string{"20240101T100000Z/20240101T110000Z", "20240103T100000Z/20240103T110000Z", "20240105T100000Z/20240105T110000Z"},
		},
		{
			// A DTSTART the rule does not generate (a Wednesday, BYDAY=MO) is still the
			// first instance, as libical and Apple's server count it.
			name: "DTSTART not matching the rule",
			body: event("DTSTART:20240103T100000Z", "DURATION:PT1H", "RRULE:FREQ=WEEKLY;BYDAY=MO;UNTIL=20240116T000000Z"),
			tr:   TimeRange{utc("20240101T000000Z"), utc("20240201T000000Z")},
			want: []string{"20240103T100000Z/20240103T110000Z", "20240108T100000Z/20240108T110000Z", "20240115T100000Z/20240115T110000Z"},
		},
		{
			// Only the instances overlapping the window: Jan 2 10:00-11:00 ends at the
			// window start (excluded), Jan 3 is inside, Jan 4 starts at the end (excluded).
			name: "window edges",
			body: event("DTSTART:20240101T100000Z", "DURATION:PT1H", "RRULE:FREQ=DAILY"),
			tr:   TimeRange{utc("20240102T110000Z"), utc("20240104T100000Z")},
			want: []string{"20240103T100000Z/20240103T110000Z"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := instancesIn(t, tt.body, tt.tr, tt.floating)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("instances\n got %v\nwant %v", got, tt.want)
			}
			// Match must agree: the object matches the window iff it has an instance there.
			f := calendarFilter(CompFilter{Name: "VEVENT", TimeRange: &tt.tr})
			obj, _ := Parse([]byte(tt.body), tt.floating)
			ok, err := Match(obj.Cal, f, tt.floating)
			if err != nil || ok != (len(tt.want) > 0) {
				t.Errorf("Match = %v, %v; want %v", ok, err, len(tt.want) > 0)
			}
		})
	}
}

func TestRecurrenceBounded(t *testing.T) {
	// A rule that would expand to millions of instances in the window is refused quickly.
	body := event("DTSTART:20240101T000000Z", "RRULE:FREQ=SECONDLY")
	obj, err := Parse([]byte(body), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !obj.End.Equal(Forever) {
		t.Errorf("span end = %v, want Forever", obj.End)
	}
	month := &TimeRange{utc("20300101T000000Z"), utc("20300201T000000Z")}
	// Match stops at the first instance that satisfies the filter...
	f := calendarFilter(CompFilter{Name: "VEVENT", TimeRange: month})
	if ok, err := Match(obj.Cal, f, nil); !ok || err != nil {
		t.Errorf("Match = %v, %v; want true", ok, err)
	}
	// ...and, when no instance does before MaxInstances of them, matches (undecided
	// within the limits: the client evaluates the rule itself).
	f = calendarFilter(CompFilter{Name: "VEVENT", TimeRange: month,
		PropFilters: []PropFilter{{Name: "SUMMARY", IsNotDefined: false, TextMatch: &TextMatch{Text: "never"}}}})
	ok, err := Match(obj.Cal, f, nil)
	if !ok || err != nil {
		t.Errorf("Match = %v, %v; want true (undecided)", ok, err)
	}
	// A window that holds few instances of it is answered (fast-forwarded, not stepped).
	f = calendarFilter(CompFilter{Name: "VEVENT", TimeRange: &TimeRange{utc("20300101T000000Z"), utc("20300101T000010Z")}})
	if ok, err := Match(obj.Cal, f, nil); !ok || err != nil {
		t.Errorf("Match of a 10 s window = %v, %v; want true", ok, err)
	}
}

// Fast-forwarding to the window (rules without COUNT, and one-per-period COUNT rules)
// must give exactly the instances that stepping from DTSTART gives.
func TestFastForwardAgreesWithFullExpansion(t *testing.T) {
	rules := []string{
		"FREQ=DAILY", "FREQ=DAILY;INTERVAL=3", "FREQ=WEEKLY", "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TH",
		"FREQ=WEEKLY;BYDAY=SU;WKST=SU;INTERVAL=3", "FREQ=MONTHLY", "FREQ=MONTHLY;INTERVAL=5", "FREQ=MONTHLY;BYMONTHDAY=31",
		"FREQ=MONTHLY;BYDAY=-1FR", "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-2", "FREQ=YEARLY", "FREQ=YEARLY;INTERVAL=4",
		"FREQ=YEARLY;BYWEEKNO=20;BYDAY=MO", "FREQ=YEARLY;BYMONTH=3,10;BYDAY=-1SU", "FREQ=HOURLY;INTERVAL=7", "FREQ=HOURLY;BYHOUR=9,17",
		"FREQ=MINUTELY;INTERVAL=97", "FREQ=DAILY;COUNT=400", "FREQ=WEEKLY;COUNT=60;INTERVAL=2", "FREQ=MONTHLY;COUNT=30",
		"FREQ=YEARLY;COUNT=5", "FREQ=DAILY;UNTIL=20250301T000000Z", "FREQ=DAILY;BYHOUR=8,20;COUNT=100",
	}
	starts := []string{"DTSTART;TZID=Europe/Berlin:20240131T093000", "DTSTART;TZID=America/New_York:20240229T013000", "DTSTART:20240105T230000Z"}
	windows := []TimeRange{
		{utc("20240301T000000Z"), utc("20240315T000000Z")},
		{utc("20241027T000000Z"), utc("20241104T000000Z")},
		{utc("20250101T000000Z"), utc("20250201T000000Z")},
		{utc("20280220T000000Z"), utc("20280310T000000Z")},
	}
	for _, rule := range rules {
		for _, start := range starts {
			body := event(start, "DURATION:PT45M", "RRULE:"+rule)
			obj, err := Parse([]byte(body), nil)
			if err != nil {
				t.Fatalf("%s %s: %v", start, rule, err)
			}
			z, _ := newZones(obj.Cal, nil)
			ss, _ := buildSeries(z, obj.Cal)
			s := ss[0]
			for _, w := range windows {
				var fast, full []string
				_ = s.each(context.Background(), w.Start.Add(-time.Hour), w.End, func(inst *instance) (bool, error) {
					if instanceOverlaps(inst, w, z) {
						fast = append(fast, fmtInstance(inst))
					}
					return false, nil
				})
				// Reference: step from DTSTART (no lo), stop at the window's end. Years of
				// a MINUTELY rule are more than the reference may step through.
				err := s.each(context.Background(), time.Time{}, w.End, func(inst *instance) (bool, error) {
					if instanceOverlaps(inst, w, z) {
						full = append(full, fmtInstance(inst))
					}
					return false, nil
				})
				if errors.Is(err, ErrTooManyInstances) {
					continue
				}
				if !reflect.DeepEqual(fast, full) {
					t.Errorf("%s %s in %v: fast %d instances %.3v, full %d %.3v", start, rule, w.Start, len(fast), fast, len(full), full)
				}
			}
		}
	}
}

// A rule starting in 1601 (fuzzing found the year 4) is fast-forwarded like any other:
// time.Duration saturates after 292 years, so distances are counted in Unix seconds.
func TestFastForwardFromAncientStart(t *testing.T) {
	for _, rule := range []string{"FREQ=DAILY", "FREQ=HOURLY;INTERVAL=5", "FREQ=WEEKLY;COUNT=200000"} {
		got := instancesIn(t, event("DTSTART:16010101T120000Z", "RRULE:"+rule), TimeRange{utc("20240101T000000Z"), utc("20240108T000000Z")}, nil)
		if len(got) == 0 {
			t.Errorf("%s: no instance in the first week of 2024", rule)
		}
	}
}
