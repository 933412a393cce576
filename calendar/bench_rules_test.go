package calendar

import (
	"testing"
)

// benchRules are ordinary rules: the first two take the one-per-period path
// (rule_simple.go), the others the budgeted generator (rule_iter.go).
var benchRules = []struct{ name, rule string }{
	{"daily", "FREQ=DAILY"},
	{"weekly", "FREQ=WEEKLY"},
	{"workdays", "FREQ=DAILY;BYDAY=MO,TU,WE,TH,FR"},
	{"weekly-mo-we", "FREQ=WEEKLY;BYDAY=MO,WE"},
	{"weekly-2-count", "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,TH;COUNT=500"},
	{"monthly-2tu", "FREQ=MONTHLY;BYDAY=2TU"},
}

// BenchmarkExpandRule: expanding one recurring event over a month two years after its
// start (Object.Expand, as a calendar-query with expand does), per rule. Compare with
// the same benchmark before the budget (it uses only API that existed then).
func BenchmarkExpandRule(b *testing.B) {
	for _, r := range benchRules {
		b.Run(r.name, func(b *testing.B) {
			obj, err := Parse([]byte(event("DTSTART;TZID=Europe/Berlin:20230606T090000", "DURATION:PT1H", "RRULE:"+r.rule)), nil)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			start := cpuTime()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				cal, err := obj.Expand(benchMonth, nil)
				if err != nil || len(cal.Children) == 0 {
					b.Fatalf("%v, %v", cal, err)
				}
			}
			reportCPU(b, start)
		})
	}
}

// BenchmarkMatchRule: a time-range match of one recurring event over a month (the
// calendar-query without expand), per rule.
func BenchmarkMatchRule(b *testing.B) {
	for _, r := range benchRules {
		b.Run(r.name, func(b *testing.B) {
			obj, err := Parse([]byte(event("DTSTART;TZID=Europe/Berlin:20230606T090000", "DURATION:PT1H", "RRULE:"+r.rule)), nil)
			if err != nil {
				b.Fatal(err)
			}
			f := calendarFilter(CompFilter{Name: "VEVENT", TimeRange: &benchMonth, PropFilters: []PropFilter{{Name: "SUMMARY", IsNotDefined: true}}})
			start := cpuTime()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if ok, err := obj.Match(f, nil); !ok || err != nil {
					b.Fatalf("%v, %v", ok, err)
				}
			}
			reportCPU(b, start)
		})
	}
}
