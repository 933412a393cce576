package calendar

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-ical"
)

// FuzzRecurrence drives random RRULEs, DTSTARTs and windows through Parse and, whether
// Parse accepts the rule or not (objects stored before a check existed are still
// queried), through Expand, Match and FreeBusy on the decoded object. Each returns within
// its work budget (no hang), none panics, and the expanded instances are in order, overlap
// the window and number at most MaxInstances.
func FuzzRecurrence(f *testing.F) {
	for _, rule := range append(ruleIterRules, "FREQ=MONTHLY;BYDAY=6MO", "FREQ=YEARLY;BYDAY=-53MO",
		"FREQ=WEEKLY;BYSETPOS=-366;BYDAY=MO", "FREQ=YEARLY;BYWEEKNO=-53;WKST=SU;BYDAY=SU", "FREQ=MINUTELY;INTERVAL=2;BYMINUTE=1") {
		f.Add(rule, int64(1704067200), int64(86400*30), int64(86400*7)) // 2024, a week from January 31
	}
	for _, rule := range []string{
		"FREQ=HOURLY;INTERVAL=2;BYHOUR=1", "FREQ=SECONDLY;INTERVAL=7;BYHOUR=1;BYMINUTE=0;BYSECOND=0",
		"FREQ=MINUTELY;INTERVAL=7;BYMONTH=2;BYMONTHDAY=29;BYHOUR=1;BYMINUTE=0", "FREQ=SECONDLY",
	} {
		f.Add(rule, int64(-2208988800), int64(0), int64(8000*365*86400)) // 1900, for 8000 years
	}
	f.Fuzz(func(t *testing.T, rule string, start, offset, length int64) {
		if strings.ContainsAny(rule, "\r\n") {
			return
		}
		lo, hi := time.Date(1583, 1, 1, 0, 0, 0, 0, time.UTC).Unix(), time.Date(9000, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
		clamp := func(v, a, b int64) int64 { return min(max(v, a), b) }
		ds := time.Unix(clamp(start, lo, hi), 0).UTC()
		wStart := time.Unix(clamp(ds.Unix()+clamp(offset, -1e11, 1e11), lo, hi), 0).UTC()
		wEnd := time.Unix(clamp(wStart.Unix()+clamp(length, 1, 1e12), wStart.Unix()+1, hi+1), 0).UTC()
		tr := TimeRange{wStart, wEnd}
		body := event("DTSTART:"+ds.Format("20060102T150405Z"), "DURATION:PT1H", "RRULE:"+rule)
		limit := 20 * time.Second // the budget takes well under a second; this is a hang
		var err error
		within(t, limit, "Parse", func() { _, err = Parse([]byte(body), nil) })
		cal, derr := ical.NewDecoder(strings.NewReader(body)).Decode()
		if derr != nil {
			return
		}
		var out *ical.Calendar
		within(t, limit, "Expand", func() { out, err = Expand(cal, tr, nil) })
		if err != nil {
			if !errors.Is(err, ErrInvalidData) {
				t.Fatalf("Expand: %v", err)
			}
			return // the rule does not parse at all
		}
		checkExpanded(t, out, tr)
		within(t, limit, "FreeBusy", func() { _, err = FreeBusy([]*ical.Calendar{cal}, tr, nil) })
		if err != nil {
			t.Fatalf("FreeBusy: %v", err)
		}
		never := calendarFilter(CompFilter{Name: "VEVENT", TimeRange: &tr, PropFilters: []PropFilter{{Name: "SUMMARY", TextMatch: &TextMatch{Text: "never"}}}})
		within(t, limit, "Match", func() { _, err = MatchContext(context.Background(), cal, never, nil) })
		if err != nil {
			t.Fatalf("Match: %v", err)
		}
	})
}

// checkExpanded: instances of one hour, in order, overlapping tr, at most MaxInstances
// (plus DTSTART, which the set always holds).
func checkExpanded(t *testing.T, cal *ical.Calendar, tr TimeRange) {
	t.Helper()
	var starts []time.Time
	for _, c := range cal.Children {
		s, err := time.Parse("20060102T150405Z", c.Props.Get(ical.PropDateTimeStart).Value)
		if err != nil {
			t.Fatal(err)
		}
		if !s.Before(tr.End) || !s.Add(time.Hour).After(tr.Start) {
			t.Fatalf("instance %v outside %v", s, tr)
		}
		starts = append(starts, s)
	}
	if !sort.SliceIsSorted(starts, func(i, j int) bool { return starts[i].Before(starts[j]) }) {
		t.Fatalf("instances out of order: %v", fmt.Sprint(starts))
	}
	if len(starts) > MaxInstances+1 {
		t.Fatalf("%d instances", len(starts))
	}
}
