package calendar

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/teambition/rrule-go"
)

// ruleIterRules are rules rrule-go expands in bounded time, covering every frequency
// and BY part the generator ports.
var ruleIterRules = []string{
	"FREQ=DAILY", "FREQ=DAILY;INTERVAL=3", "FREQ=WEEKLY", "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TH",
	"FREQ=WEEKLY;BYDAY=SU;WKST=SU;INTERVAL=3", "FREQ=WEEKLY;BYDAY=MO,SU;WKST=TU", "FREQ=MONTHLY",
	"FREQ=MONTHLY;INTERVAL=5", "FREQ=MONTHLY;BYMONTHDAY=31", "FREQ=MONTHLY;BYMONTHDAY=-1,15",
	"FREQ=MONTHLY;BYDAY=-1FR", "FREQ=MONTHLY;BYDAY=2MO,-2TU", "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-2",
	"FREQ=MONTHLY;BYDAY=FR;BYMONTHDAY=13", "FREQ=YEARLY", "FREQ=YEARLY;INTERVAL=4", "FREQ=YEARLY;BYWEEKNO=20;BYDAY=MO",
	"FREQ=YEARLY;BYWEEKNO=1,-1;BYDAY=MO,SU;WKST=SU", "FREQ=YEARLY;BYWEEKNO=53", "FREQ=YEARLY;BYMONTH=3,10;BYDAY=-1SU",
	"FREQ=YEARLY;BYYEARDAY=1,100,-1,366", "FREQ=YEARLY;BYDAY=20MO", "FREQ=YEARLY;BYDAY=-10FR",
	"FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29", "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29;BYDAY=MO",
	"FREQ=YEARLY;BYMONTH=1,7;BYHOUR=8,20;BYMINUTE=15,45;BYSETPOS=1,-1",
	"FREQ=HOURLY;INTERVAL=7", "FREQ=HOURLY;BYHOUR=9,17", "FREQ=HOURLY;INTERVAL=5;BYDAY=MO;BYMINUTE=0,30",
	"FREQ=HOURLY;BYMONTH=2;BYMONTHDAY=29", "FREQ=MINUTELY;INTERVAL=97", "FREQ=MINUTELY;INTERVAL=15;BYHOUR=9,10",
	"FREQ=MINUTELY;BYDAY=TU;BYSECOND=5,10", "FREQ=SECONDLY;INTERVAL=3601", "FREQ=SECONDLY;BYMINUTE=1;BYSECOND=0,30",
	"FREQ=SECONDLY;BYDAY=WE;INTERVAL=7", "FREQ=DAILY;COUNT=400", "FREQ=WEEKLY;COUNT=60;INTERVAL=2",
	"FREQ=DAILY;UNTIL=20250301T000000Z", "FREQ=DAILY;BYHOUR=8,20;COUNT=100", "FREQ=DAILY;BYMONTH=2;BYMONTHDAY=29",
	"FREQ=DAILY;BYYEARDAY=60,-306", "FREQ=WEEKLY;BYMONTH=1,2;BYDAY=TU,FR;BYSETPOS=1,3",
}

// The generator yields exactly rrule-go's values.
func TestRuleIterAgreesWithRRuleGo(t *testing.T) {
	starts := []time.Time{
		time.Date(2024, 1, 31, 9, 30, 0, 0, time.UTC), time.Date(2024, 2, 29, 1, 30, 17, 0, time.UTC),
		time.Date(2023, 12, 31, 23, 59, 59, 0, time.UTC), time.Date(1999, 1, 4, 0, 0, 0, 0, time.UTC),
	}
	for _, rule := range ruleIterRules {
		for _, ds := range starts {
			opt, err := rrule.StrToROptionInLocation(rule, time.UTC)
			if err != nil {
				t.Fatalf("%s: %v", rule, err)
			}
			opt.Dtstart = ds
			if opt.Until.IsZero() {
				opt.Until = time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)
			}
			r, err := rrule.NewRRule(*opt)
			if err != nil {
				t.Fatalf("%s: %v", rule, err)
			}
			want := takeTimes(r.Iterator(), 300)
			it := newRuleIter(*opt, newBudget(context.Background(), MaxWork))
			got := takeTimes(it.next, 300)
			if it.b.err != nil {
				t.Errorf("%s from %v: %v", rule, ds, it.b.err)
			}
			if g, w := fmt.Sprint(got), fmt.Sprint(want); g != w {
				t.Errorf("%s from %v:\n got %d %.300s\nwant %d %.300s", rule, ds, len(got), g, len(want), w)
			}
		}
	}
}

func takeTimes(next func() (time.Time, bool), n int) []time.Time {
	var out []time.Time
	for len(out) < n {
		v, ok := next()
		if !ok {
			break
		}
		out = append(out, v)
	}
	return out
}

// Rules on which rrule-go never returns (its HOURLY/MINUTELY/SECONDLY loop never reaches
// a BY value) or searches to the year 9999 stop when their budget is spent.
func TestRuleIterStopsOnBudget(t *testing.T) {
	for _, rule := range []string{
		"FREQ=HOURLY;INTERVAL=2;BYHOUR=1", "FREQ=MINUTELY;INTERVAL=2;BYMINUTE=1", "FREQ=SECONDLY;INTERVAL=10;BYSECOND=5",
		"FREQ=MINUTELY;INTERVAL=120;BYHOUR=1", "FREQ=DAILY;INTERVAL=7;BYDAY=TU", "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30",
	} {
		opt, err := rrule.StrToROptionInLocation(rule, time.UTC)
		if err != nil {
			t.Fatal(err)
		}
		opt.Dtstart, opt.Until = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), Forever // a Monday, at 00:00:00
		b := newBudget(context.Background(), 100000)
		start := time.Now()
		got := takeTimes(newRuleIter(*opt, b).next, 10)
		if len(got) != 0 || !errors.Is(b.err, ErrTooManyInstances) {
			t.Errorf("%s: %d values, %v; want none and the budget spent", rule, len(got), b.err)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("%s: %v to spend 100000 units", rule, d)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	opt, _ := rrule.StrToROptionInLocation("FREQ=SECONDLY", time.UTC)
	opt.Dtstart = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	b := newBudget(ctx, MaxWork)
	if got := takeTimes(newRuleIter(*opt, b).next, 10); len(got) != 0 || !errors.Is(b.err, context.Canceled) {
		t.Errorf("cancelled context: %d values, %v", len(got), b.err)
	}
}
