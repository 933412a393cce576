package calendar

import "testing"

// BenchmarkTextMatch10k: a SUMMARY text-match over 10,000 events under each
// collation (no time range, so no recurrence work): the cost of the matcher
// itself per calendar-query.
func BenchmarkTextMatch10k(b *testing.B) {
	objs := parseAll(b, benchCalendar(10000))
	for _, coll := range []string{"i;octet", "i;ascii-casemap", "i;unicode-casemap"} {
		f := calendarFilter(CompFilter{Name: "VEVENT", PropFilters: []PropFilter{{Name: "SUMMARY",
			TextMatch: &TextMatch{Text: "Event 42", Collation: coll, MatchType: "starts-with"}}}})
		b.Run(coll, func(b *testing.B) {
			defer reportCPU(b, cpuTime())
			matched := 0
			for i := 0; i < b.N; i++ {
				matched = 0
				for _, o := range objs {
					ok, err := Match(o.Cal, f, nil)
					if err != nil {
						b.Fatal(err)
					}
					if ok {
						matched++
					}
				}
			}
			b.ReportMetric(float64(matched), "matches")
		})
	}
}
