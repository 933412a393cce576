package calendar

import (
	"context"
	"errors"
	"runtime/debug"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-ical"
)

// within runs fn and fails the test when it takes longer than d (a goroutine stuck in a
// loop without end is left behind: the test has failed already).
func within(t *testing.T, d time.Duration, what string, fn func()) time.Duration {
	t.Helper()
	done := make(chan struct{})
	start := time.Now()
	go func() { defer close(done); fn() }()
	select {
	case <-done:
		return time.Since(start)
	case <-time.After(d):
		t.Fatalf("%s: no answer after %v", what, d)
		return 0
	}
}

// slowdown is how much slower than a plain build this test binary runs (the race
// detector makes the generator about ten times slower).
func slowdown() time.Duration {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "-race" && s.Value == "true" {
				return 10
			}
		}
	}
	return 1
}

// vtzEvent is an event in a custom zone whose DAYLIGHT observance repeats by rule.
func vtzEvent(rule string) string {
	return "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VTIMEZONE\r\nTZID:Custom\r\n" +
		"BEGIN:STANDARD\r\nDTSTART:19701025T030000\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nEND:STANDARD\r\n" +
		"BEGIN:DAYLIGHT\r\nDTSTART:19700329T020000\r\nRRULE:" + rule + "\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\nEND:DAYLIGHT\r\n" +
		"END:VTIMEZONE\r\nBEGIN:VEVENT\r\nUID:a\r\nDTSTAMP:20240101T000000Z\r\nDTSTART;TZID=Custom:20240101T100000\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
}

// Rules whose INTERVAL never reaches their BY times made rrule-go loop for ever inside
// Parse (the PUT never answered); they are refused, saying why, in the event and in a
// VTIMEZONE.
func TestParseRefusesRulesThatNeverReachTheirTimes(t *testing.T) {
	for _, rule := range []string{
		"FREQ=HOURLY;INTERVAL=2;BYHOUR=1", "FREQ=MINUTELY;INTERVAL=2;BYMINUTE=1", "FREQ=SECONDLY;INTERVAL=10;BYSECOND=5",
		"FREQ=MINUTELY;INTERVAL=120;BYHOUR=1", "FREQ=SECONDLY;INTERVAL=3600;BYMINUTE=30", "FREQ=HOURLY;INTERVAL=24;BYHOUR=5;COUNT=3",
	} {
		for _, body := range []string{event("DTSTART:20240101T000000Z", "RRULE:"+rule), vtzEvent(rule)} {
			var err error
			d := within(t, 10*time.Second, rule, func() { _, err = Parse([]byte(body), nil) })
			if !errors.Is(err, ErrInvalidData) || !strings.Contains(err.Error(), "never occurs") || !strings.Contains(err.Error(), "INTERVAL=") {
				t.Errorf("%s: got %v, want a refusal saying the rule never occurs", rule, err)
			}
			t.Logf("%s refused in %v: %v", rule, d, err)
		}
	}
	// The same rules from a time they do reach are fine.
	for _, rule := range []string{"FREQ=HOURLY;INTERVAL=2;BYHOUR=1", "FREQ=MINUTELY;INTERVAL=120;BYHOUR=1"} {
		if _, err := Parse([]byte(event("DTSTART:20240101T010000Z", "RRULE:"+rule)), nil); err != nil {
			t.Errorf("%s from 01:00: %v", rule, err)
		}
	}
}

// Rules that need too many steps per instance (rrule-go took seconds per query for
// them) are refused at Parse.
func TestParseRefusesRulesTooCostlyPerInstance(t *testing.T) {
	for _, rule := range []string{
		"FREQ=SECONDLY;INTERVAL=7;BYHOUR=1;BYMINUTE=0;BYSECOND=0",              // 86,400 steps a day for one instance a week
		"FREQ=MINUTELY;INTERVAL=7;BYMONTH=2;BYMONTHDAY=29;BYHOUR=1;BYMINUTE=0", // once in 28 years
		"FREQ=DAILY;INTERVAL=7;BYDAY=TU",                                       // from a Monday: never
		"FREQ=YEARLY;INTERVAL=4;BYMONTH=2;BYMONTHDAY=29",                       // from 2023: never a leap year
	} {
		body := event("DTSTART:20230102T000000Z", "RRULE:"+rule)
		var err error
		d := within(t, 10*time.Second, rule, func() { _, err = Parse([]byte(body), nil) })
		if !errors.Is(err, ErrInvalidData) || !strings.Contains(err.Error(), "steps to find its next instance") {
			t.Errorf("%s: got %v, want a refusal for too much work per instance", rule, err)
		}
		if d > 2*time.Second*slowdown() {
			t.Errorf("%s: refused after %v", rule, d)
		}
	}
}

// Sparse rules over a huge window were stepped through for seconds on every query (on
// rrule-go: 8.4 s and 4.4 s to expand 1900-9999, 6.0 s and 6.7 s for free-busy). Parse
// refuses them now, but objects stored earlier or imported are still expanded: the work
// is bounded, and the instances found within it are returned.
func TestExpandOverHugeWindowIsBoundedByWork(t *testing.T) {
	all := TimeRange{utc("19000101T000000Z"), utc("99990101T000000Z")}
	for _, rule := range []string{
		"FREQ=SECONDLY;INTERVAL=7;BYHOUR=1;BYMINUTE=0;BYSECOND=0",
		"FREQ=MINUTELY;INTERVAL=7;BYMONTH=2;BYMONTHDAY=29;BYHOUR=1;BYMINUTE=0",
		"FREQ=MINUTELY;BYMONTH=2;BYMONTHDAY=29;BYHOUR=1;BYMINUTE=0",
		"FREQ=HOURLY;BYMONTH=2;BYMONTHDAY=29;BYHOUR=1",
		"FREQ=SECONDLY",
	} {
		cal, err := ical.NewDecoder(strings.NewReader(event("DTSTART:19000101T000000Z", "DURATION:PT1M", "RRULE:"+rule))).Decode()
		if err != nil {
			t.Fatal(err)
		}
		var out *ical.Calendar
		d := within(t, 60*time.Second, rule, func() { out, err = Expand(cal, all, nil) })
		if err != nil || len(out.Children) == 0 {
			t.Fatalf("%s: Expand: %v", rule, err)
		}
		checkInstances(t, out, all)
		var fb *ical.Calendar
		dfb := within(t, 60*time.Second, rule, func() { fb, err = FreeBusy([]*ical.Calendar{cal}, all, nil) })
		if err != nil {
			t.Fatalf("%s: FreeBusy: %v", rule, err)
		}
		t.Logf("%s: Expand 1900-9999 %d instances in %v; FreeBusy %d periods in %v", rule, len(out.Children), d,
			len(fb.Children[0].Props.Values("FREEBUSY")), dfb)
		if limit := 2 * time.Second * slowdown(); d > limit || dfb > limit {
			t.Errorf("%s: Expand took %v, FreeBusy %v", rule, d, dfb)
		}
	}
}

// checkInstances asserts the expanded instances start in order inside tr.
func checkInstances(t *testing.T, cal *ical.Calendar, tr TimeRange) {
	t.Helper()
	var starts []time.Time
	for _, c := range cal.Children {
		s, err := time.Parse("20060102T150405Z", c.Props.Get("DTSTART").Value)
		if err != nil {
			t.Fatal(err)
		}
		if s.Before(tr.Start) || !s.Before(tr.End) {
			t.Errorf("instance at %v outside %v", s, tr)
		}
		starts = append(starts, s)
	}
	if !sort.SliceIsSorted(starts, func(i, j int) bool { return starts[i].Before(starts[j]) }) {
		t.Error("instances out of order")
	}
}

// An expansion stops when its context ends (the server's request went away or passed
// its deadline), whatever budget is left.
func TestExpansionStopsWhenContextEnds(t *testing.T) {
	obj, err := Parse([]byte(event("DTSTART:19000101T000000Z", "DURATION:PT1M", "RRULE:FREQ=HOURLY;BYMONTH=2;BYMONTHDAY=29;BYHOUR=1")), nil)
	if err != nil {
		t.Fatal(err)
	}
	all := TimeRange{utc("19000101T000000Z"), utc("99990101T000000Z")}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := obj.ExpandContext(ctx, all, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("ExpandContext, cancelled: %v", err)
	}
	if _, err := obj.ExpandTextContext(ctx, all, nil, func(*ical.Calendar) string { return "" }); !errors.Is(err, context.Canceled) {
		t.Errorf("ExpandTextContext, cancelled: %v", err)
	}
	if _, err := FreeBusyContext(ctx, []*ical.Calendar{obj.Cal}, all, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("FreeBusyContext, cancelled: %v", err)
	}
	f := calendarFilter(CompFilter{Name: "VEVENT", TimeRange: &all, PropFilters: []PropFilter{{Name: "SUMMARY", TextMatch: &TextMatch{Text: "never"}}}})
	if _, err := obj.MatchContext(ctx, f, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("MatchContext, cancelled: %v", err)
	}
	ctx, cancel = context.WithTimeout(context.Background(), 5*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = obj.ExpandContext(ctx, all, nil)
	if d := time.Since(start); !errors.Is(err, context.DeadlineExceeded) || d > 500*time.Millisecond*slowdown() {
		t.Errorf("ExpandContext with a 5 ms deadline: %v after %v", err, d)
	}
}

// One event with no end and an instance every second does not make the free-busy of
// its calendar fail: it is busy from its last counted instance to the end of the range,
// and the other events are answered as usual.
func TestFreeBusyWithUnboundedEvent(t *testing.T) {
	storm := parseCal(t, event("DTSTART:20240115T000000Z", "DURATION:PT1S", "RRULE:FREQ=SECONDLY"))
	meeting := parseCal(t, strings.Replace(event("DTSTART:20240102T100000Z", "DTEND:20240102T110000Z"), "UID:", "UID:m", 1))
	month := TimeRange{utc("20240101T000000Z"), utc("20240201T000000Z")}
	fb, err := FreeBusy([]*ical.Calendar{storm, meeting}, month, nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range fb.Children[0].Props.Values("FREEBUSY") {
		got = append(got, p.Value)
	}
	want := []string{"20240102T100000Z/20240102T110000Z", "20240115T000000Z/20240201T000000Z"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("FREEBUSY %v, want %v", got, want)
	}
}

// ExpandText truncates exactly as Expand does: the same first instances, then the
// overrides.
func TestExpandTextTruncatesAsExpand(t *testing.T) {
	body := event("DTSTART:20240101T000000Z", "DURATION:PT1S", "RRULE:FREQ=SECONDLY", "--",
		"RECURRENCE-ID:20240105T000000Z", "DTSTART:20240105T000030Z", "DURATION:PT1S")
	obj, err := Parse([]byte(body), nil)
	if err != nil {
		t.Fatal(err)
	}
	encode := func(cal *ical.Calendar) string { return plainText(cal.Component) }
	for _, tr := range []TimeRange{
		{utc("20240101T000000Z"), utc("20240201T000000Z")},
		{utc("20240104T235000Z"), utc("20240105T010000Z")},
	} {
		cal, err := obj.Expand(tr, nil)
		if err != nil {
			t.Fatal(err)
		}
		got, err := obj.ExpandText(tr, nil, encode)
		if err != nil {
			t.Fatal(err)
		}
		if want := encode(cal); got != want {
			t.Errorf("%v: ExpandText differs from Expand (%d vs %d bytes)", tr, len(got), len(want))
		}
		n := strings.Count(got, "BEGIN:VEVENT")
		if n < 2 || n > MaxInstances+1 || !strings.Contains(got, "DTSTART:20240105T000030Z") {
			t.Errorf("%v: %d instances, override included: %v", tr, n, strings.Contains(got, "DTSTART:20240105T000030Z"))
		}
	}
}

// plainText is a minimal deterministic encoder (no folding), for comparing texts.
func plainText(c *ical.Component) string {
	var b strings.Builder
	writePlain(&b, c)
	return b.String()
}

func writePlain(b *strings.Builder, c *ical.Component) {
	b.WriteString("BEGIN:" + c.Name + "\r\n")
	names := make([]string, 0, len(c.Props))
	for n := range c.Props {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		for _, p := range c.Props[n] {
			b.WriteString(n)
			keys := make([]string, 0, len(p.Params))
			for k := range p.Params {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				b.WriteString(";" + k + "=" + strings.Join(p.Params[k], ","))
			}
			b.WriteString(":" + p.Value + "\r\n")
		}
	}
	for _, ch := range c.Children {
		writePlain(b, ch)
	}
	b.WriteString("END:" + c.Name + "\r\n")
}
