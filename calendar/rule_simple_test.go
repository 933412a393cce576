package calendar

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// TestSimpleRuleMatchesRRuleGo compares the direct generation of one-instance-per-period
// rules with rrule-go's, value for value, across zones, DST transitions, month ends,
// COUNT, UNTIL (UTC, local and DATE) and fast-forward windows.
func TestSimpleRuleMatchesRRuleGo(t *testing.T) {
	starts := []string{
		"DTSTART:20260105T090000Z",
		"DTSTART;TZID=Europe/Berlin:20260325T023000",    // days before the spring-forward gap
		"DTSTART;TZID=America/New_York:20261030T013000", // before the fall-back repeat
		"DTSTART;TZID=Europe/Berlin:20240131T100000",    // day 31: not simple MONTHLY
		"DTSTART;TZID=America/New_York:20240229T080000", // Feb 29: not simple YEARLY
		"DTSTART;TZID=America/New_York:20240128T080000", // day 28: simple MONTHLY
		"DTSTART;VALUE=DATE:20260301",                   // all day
		"DTSTART:20260301T120000",                       // floating
		"DTSTART;TZID=Europe/Berlin:20250101T000000",    // midnight
		"DTSTART;TZID=America/New_York:20260308T023000", // inside the gap itself
		"DTSTART;TZID=America/New_York:20261101T013000", // inside the repeated hour
		"DTSTART;TZID=Europe/Berlin:19991231T235959",    // long ago
		"DTSTART;TZID=Europe/Berlin:20260105T090000",    // plain local
		"DTSTART;TZID=America/New_York:20260105T090000", // plain local
		"DTSTART;TZID=Europe/Berlin:20260629T173000",    // summer time
		"DTSTART;TZID=America/New_York:20261231T220000", // year end
		"DTSTART;TZID=Europe/Berlin:20260115T090000",    // mid-month
		"DTSTART;TZID=America/New_York:20260401T000000", // month start
		"DTSTART;TZID=Europe/Berlin:20261025T023000",    // the repeated hour in Berlin
		"DTSTART;TZID=Europe/Berlin:20260329T023000",    // the gap in Berlin
		"DTSTART;TZID=America/New_York:20260228T235900", // end of February
		"DTSTART;TZID=Europe/Berlin:20260131T090000",    // 31st
		"DTSTART;TZID=Europe/Berlin:20260130T090000",    // 30th
		"DTSTART;TZID=Europe/Berlin:20260129T090000",    // 29th
		"DTSTART;TZID=Europe/Berlin:20260101T090000",    // 1st
		"DTSTART;TZID=America/New_York:20260101T090000", // 1st
		"DTSTART;TZID=America/New_York:20260615T120000", // summer
		"DTSTART;TZID=America/New_York:20271231T235959", // year end
	}
	rules := []string{
		"FREQ=DAILY", "FREQ=DAILY;INTERVAL=3", "FREQ=DAILY;COUNT=10", "FREQ=DAILY;UNTIL=20260410T000000Z",
		"FREQ=WEEKLY", "FREQ=WEEKLY;COUNT=20", "FREQ=WEEKLY;INTERVAL=2;COUNT=7", "FREQ=WEEKLY;UNTIL=20261201",
		"FREQ=WEEKLY;UNTIL=20260601T070000Z", "FREQ=MONTHLY", "FREQ=MONTHLY;COUNT=5", "FREQ=MONTHLY;INTERVAL=5;UNTIL=20300101T000000Z",
		"FREQ=YEARLY", "FREQ=YEARLY;COUNT=3", "FREQ=YEARLY;INTERVAL=4", "FREQ=WEEKLY;BYDAY=MO,WE", // the last is not simple
	}
	los := []time.Time{{}, time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 11, 1, 5, 0, 0, 0, time.UTC), time.Date(2046, 1, 1, 0, 0, 0, 0, time.UTC)}
	simpleSeen := 0
	for _, st := range starts {
		for _, rule := range rules {
			if st == "DTSTART;VALUE=DATE:20260301" && rule == "FREQ=WEEKLY;UNTIL=20260601T070000Z" {
				continue // a DATE-TIME UNTIL on an all-day series is refused by Parse
			}
			body := event(st, "RRULE:"+rule)
			obj, err := Parse([]byte(body), time.UTC)
			if err != nil {
				t.Logf("%s %s: %v (skipped: Parse refuses it)", st, rule, err)
				continue
			}
			s := obj.prep.series[0]
			if simpleSource(s.rules[0], time.Time{}, s.loc) != nil {
				simpleSeen++
			}
			for _, lo := range los {
				got, want := take(s.iteratorWith(newBudget(context.Background(), MaxWork), lo, true), 60), take(s.iteratorWith(newBudget(context.Background(), MaxWork), lo, false), 60)
				if got != want {
					t.Errorf("%s RRULE:%s from %v:\nsimple  %s\nrrule-go %s", st, rule, lo, got, want)
				}
			}
		}
	}
	if simpleSeen < len(starts)*10 {
		t.Errorf("only %d series took the simple path; the comparison tests little", simpleSeen)
	}
}

// take formats the first n values of an iterator.
func take(next func() (time.Time, *dur, bool), n int) string {
	out := ""
	for i := 0; i < n; i++ {
		v, _, ok := next()
		if !ok {
			return out + "end"
		}
		out += fmt.Sprintf("%s ", v.UTC().Format("20060102T150405Z"))
	}
	return out
}
