package calendar

import (
	"fmt"
	"reflect"
	"sort"
	"testing"

	"github.com/emersion/go-ical"
)

// The example calendar of RFC 4791 Appendix B (testdata/rfc4791/abcd1..8.ics) and the
// calendar-query examples of §7.8, with the resources the RFC answers.

func loadRFC4791(t testing.TB) map[string]*ical.Calendar {
	t.Helper()
	cals := map[string]*ical.Calendar{}
	for i := 1; i <= 8; i++ {
		name := fmt.Sprintf("abcd%d.ics", i)
		obj, err := Parse(readTestdata(t, "rfc4791/"+name), nil)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		cals[name] = obj.Cal
	}
	return cals
}

func calendarFilter(comps ...CompFilter) CompFilter {
	return CompFilter{Name: "VCALENDAR", CompFilters: comps}
}

func TestRFC4791Queries(t *testing.T) {
	cals := loadRFC4791(t)
	tests := []struct {
		section string
		filter  CompFilter
		want    []string
	}{
		{"7.8.1 events by time range", calendarFilter(CompFilter{Name: "VEVENT",
			TimeRange: &TimeRange{utc("20060104T000000Z"), utc("20060105T000000Z")}}),
			[]string{"abcd2.ics", "abcd3.ics"}},
		{"7.8.2/7.8.3 recurring events by time range", calendarFilter(CompFilter{Name: "VEVENT",
			TimeRange: &TimeRange{utc("20060103T000000Z"), utc("20060105T000000Z")}}),
			[]string{"abcd2.ics", "abcd3.ics"}},
		{"7.8.4 stored free busy components", calendarFilter(CompFilter{Name: "VFREEBUSY",
			TimeRange: &TimeRange{utc("20060102T000000Z"), utc("20060103T000000Z")}}),
			[]string{"abcd8.ics"}},
		{"7.8.5 to-dos by alarm time range", calendarFilter(CompFilter{Name: "VTODO",
			CompFilters: []CompFilter{{Name: "VALARM", TimeRange: &TimeRange{utc("20060106T100000Z"), utc("20060107T100000Z")}}}}),
			[]string{"abcd5.ics"}},
		{"7.8.6 event by UID", calendarFilter(CompFilter{Name: "VEVENT",
			PropFilters: []PropFilter{{Name: "UID", TextMatch: &TextMatch{Text: "DC6C50A017428C5216A2F1CD@example.com", Collation: "i;octet"}}}}),
			[]string{"abcd3.ics"}},
		{"7.8.7 events by PARTSTAT", calendarFilter(CompFilter{Name: "VEVENT",
			PropFilters: []PropFilter{{Name: "ATTENDEE",
				TextMatch:    &TextMatch{Text: "mailto:lisa@example.com", Collation: "i;ascii-casemap"},
				ParamFilters: []ParamFilter{{Name: "PARTSTAT", TextMatch: &TextMatch{Text: "NEEDS-ACTION", Collation: "i;ascii-casemap"}}}}}}),
			[]string{"abcd3.ics"}},
		{"7.8.8 events only", calendarFilter(CompFilter{Name: "VEVENT"}),
			[]string{"abcd1.ics", "abcd2.ics", "abcd3.ics"}},
		{"7.8.9 all pending to-dos", calendarFilter(CompFilter{Name: "VTODO", PropFilters: []PropFilter{
			{Name: "COMPLETED", IsNotDefined: true},
			{Name: "STATUS", TextMatch: &TextMatch{Text: "CANCELLED", Negate: true}}}}),
			[]string{"abcd4.ics", "abcd5.ics"}},
		// Beyond the RFC's examples, on the same data:
		{"open-ended range from Jan 4", calendarFilter(CompFilter{Name: "VEVENT",
			TimeRange: &TimeRange{Start: utc("20060104T000000Z")}}),
			[]string{"abcd2.ics", "abcd3.ics"}},
		{"range before everything", calendarFilter(CompFilter{Name: "VEVENT",
			TimeRange: &TimeRange{End: utc("20060102T153000Z")}}), // Event #1 is 15:00-16:00Z
			[]string{"abcd1.ics"}},
		{"only the moved instance: Jan 6 19:00Z", calendarFilter(CompFilter{Name: "VEVENT",
			TimeRange: &TimeRange{utc("20060106T183000Z"), utc("20060106T193000Z")}}),
			[]string{"abcd2.ics"}},
		{"the Jan 6 original slot is empty (overridden)", calendarFilter(CompFilter{Name: "VEVENT",
			TimeRange: &TimeRange{utc("20060106T170000Z"), utc("20060106T180000Z")}}),
			nil},
		{"to-dos due in a range (DUE only: start < DUE <= end)", calendarFilter(CompFilter{Name: "VTODO",
			TimeRange: &TimeRange{utc("20060103T000000Z"), utc("20060104T000000Z")}}),
			[]string{"abcd4.ics"}},
		{"completed to-do by COMPLETED/DUE", calendarFilter(CompFilter{Name: "VTODO",
			TimeRange: &TimeRange{utc("20051224T000000Z"), utc("20051226T000000Z")}}),
			[]string{"abcd6.ics"}},
		{"VEVENT is-not-defined", calendarFilter(CompFilter{Name: "VEVENT", IsNotDefined: true}),
			[]string{"abcd4.ics", "abcd5.ics", "abcd6.ics", "abcd7.ics", "abcd8.ics"}},
		{"prop-filter time-range on DTSTART of an instance", calendarFilter(CompFilter{Name: "VEVENT",
			PropFilters: []PropFilter{{Name: "DTSTART", TimeRange: &TimeRange{utc("20060105T170000Z"), utc("20060105T170001Z")}}}}),
			nil}, // no time-range on the comp-filter: DTSTART is the master's (Jan 2)
	}
	for _, tt := range tests {
		t.Run(tt.section, func(t *testing.T) {
			var got []string
			for name, cal := range cals {
				ok, err := Match(cal, tt.filter, nil)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				if ok {
					got = append(got, name)
				}
			}
			sort.Strings(got)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}
