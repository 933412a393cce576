package calendar

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestFilterValidate(t *testing.T) {
	tr := func(s, e string) *TimeRange {
		r := &TimeRange{}
		if s != "" {
			r.Start = utc(s)
		}
		if e != "" {
			r.End = utc(e)
		}
		return r
	}
	tests := []struct {
		name string
		f    CompFilter
		want error
	}{
		{"empty VCALENDAR", CompFilter{Name: "VCALENDAR"}, nil},
		{"lowercase top", CompFilter{Name: "vcalendar"}, nil},
		{"top not VCALENDAR", CompFilter{Name: "VEVENT"}, ErrBadFilter},
		{"unnamed comp", calendarFilter(CompFilter{}), ErrBadFilter},
		{"open start", calendarFilter(CompFilter{Name: "VEVENT", TimeRange: tr("", "20060104T000000Z")}), nil},
		{"no bounds", calendarFilter(CompFilter{Name: "VEVENT", TimeRange: tr("", "")}), ErrBadFilter},
		{"start after end", calendarFilter(CompFilter{Name: "VEVENT", TimeRange: tr("20060105T000000Z", "20060104T000000Z")}), ErrBadFilter},
		{"start equals end", calendarFilter(CompFilter{Name: "VEVENT", TimeRange: tr("20060104T000000Z", "20060104T000000Z")}), ErrBadFilter},
		{"time-range on VTIMEZONE", calendarFilter(CompFilter{Name: "VTIMEZONE", TimeRange: tr("20060104T000000Z", "")}), ErrBadFilter},
		{"is-not-defined with more", calendarFilter(CompFilter{Name: "VEVENT", IsNotDefined: true, TimeRange: tr("20060104T000000Z", "")}), ErrBadFilter},
		{"unknown collation", calendarFilter(CompFilter{Name: "VEVENT", PropFilters: []PropFilter{{Name: "SUMMARY", TextMatch: &TextMatch{Text: "x", Collation: "i;klingon"}}}}), ErrUnsupportedCollation},
		{"unknown match type", calendarFilter(CompFilter{Name: "VEVENT", PropFilters: []PropFilter{{Name: "SUMMARY", TextMatch: &TextMatch{Text: "x", MatchType: "sounds-like"}}}}), ErrBadFilter},
		{"prop both time-range and text-match", calendarFilter(CompFilter{Name: "VEVENT", PropFilters: []PropFilter{{Name: "DTSTART", TextMatch: &TextMatch{Text: "x"}, TimeRange: tr("20060104T000000Z", "")}}}), ErrBadFilter},
		{"unnamed param", calendarFilter(CompFilter{Name: "VEVENT", PropFilters: []PropFilter{{Name: "ATTENDEE", ParamFilters: []ParamFilter{{}}}}}), ErrBadFilter},
		{"param is-not-defined with text", calendarFilter(CompFilter{Name: "VEVENT", PropFilters: []PropFilter{{Name: "ATTENDEE", ParamFilters: []ParamFilter{{Name: "PARTSTAT", IsNotDefined: true, TextMatch: &TextMatch{Text: "x"}}}}}}), ErrBadFilter},
		{"too deep", deepFilter(MaxDepth + 1), ErrBadFilter},
		{"deep enough", deepFilter(MaxDepth), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.f.Validate()
			if (tt.want == nil) != (err == nil) || (tt.want != nil && !errors.Is(err, tt.want)) {
				t.Errorf("Validate = %v, want %v", err, tt.want)
			}
			// Match refuses an invalid filter with the same error.
			if tt.want != nil {
				cal := loadRFC4791(t)["abcd1.ics"]
				if _, err := Match(cal, tt.f, nil); !errors.Is(err, tt.want) {
					t.Errorf("Match = %v, want %v", err, tt.want)
				}
			}
		})
	}
}

func deepFilter(depth int) CompFilter {
	f := CompFilter{Name: "X-LEAF"}
	for i := 1; i < depth-1; i++ {
		f = CompFilter{Name: "X-NEST", CompFilters: []CompFilter{f}}
	}
	return calendarFilter(f)
}

func TestTextMatch(t *testing.T) {
	tests := []struct {
		tm    TextMatch
		value string
		want  bool
	}{
		{TextMatch{Text: "steelers"}, "Go Steelers!", true},                                     // ascii-casemap default, contains
		{TextMatch{Text: "steelers", Collation: "i;octet"}, "Go Steelers!", false},              // octet is case-sensitive
		{TextMatch{Text: "Steelers", Collation: "i;octet"}, "Go Steelers!", true},               //
		{TextMatch{Text: "ÄRGER"}, "ärger", false},                                              // ascii-casemap folds ASCII only
		{TextMatch{Text: "ÄRGER", Collation: "i;unicode-casemap"}, "ärger", true},               // unicode folds Ä
		{TextMatch{Text: "go", MatchType: "starts-with"}, "Go Steelers!", true},                 //
		{TextMatch{Text: "steelers", MatchType: "starts-with"}, "Go Steelers!", false},          //
		{TextMatch{Text: "STEELERS!", MatchType: "ends-with"}, "Go Steelers!", true},            //
		{TextMatch{Text: "go steelers!", MatchType: "equals"}, "Go Steelers!", true},            //
		{TextMatch{Text: "go", MatchType: "equals"}, "Go Steelers!", false},                     //
		{TextMatch{Text: "cancelled", Negate: true}, "CANCELLED", false},                        // negate-condition
		{TextMatch{Text: "cancelled", Negate: true}, "NEEDS-ACTION", true},                      //
		{TextMatch{Text: ""}, "anything", true},                                                 // empty text is contained in every value
		{TextMatch{Text: "a,b", Collation: "i;octet"}, "a,b", true},                             //
		{TextMatch{Text: "K", Collation: "i;unicode-casemap"}, "\u212a", true},                  // Kelvin sign folds to k
		{TextMatch{Text: "x", Collation: "i;unicode-casemap"}, string([]byte{0xff, 'x'}), true}, // invalid UTF-8 does not hide the rest
	}
	for _, tt := range tests {
		if got := tt.tm.matches(tt.value); got != tt.want {
			t.Errorf("%+v on %q = %v, want %v", tt.tm, tt.value, got, tt.want)
		}
	}
}

func TestMatchTextValuesAreUnescaped(t *testing.T) {
	body := event("DTSTART:20240101T100000Z", `SUMMARY:Lunch\, then a walk\nby the river`, `LOCATION:Café; Main St`)
	obj, err := Parse([]byte(body), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		prop, text string
		want       bool
	}{
		{"SUMMARY", "lunch, then", true},
		{"SUMMARY", "walk\nby", true},
		{"SUMMARY", `\,`, false},
		{"LOCATION", "CAFÉ", false}, // ascii-casemap folds C but not É
		{"LOCATION", "café", true},
		{"LOCATION", "Café", true},
	} {
		f := calendarFilter(CompFilter{Name: "VEVENT", PropFilters: []PropFilter{{Name: tt.prop, TextMatch: &TextMatch{Text: tt.text}}}})
		if ok, err := Match(obj.Cal, f, nil); ok != tt.want || err != nil {
			t.Errorf("%s contains %q = %v, %v; want %v", tt.prop, tt.text, ok, err, tt.want)
		}
	}
}

// The VTODO rows of RFC 4791 §9.9, each tested just inside and just outside its bounds.
func TestTodoTimeRangeRules(t *testing.T) {
	todo := func(lines ...string) string {
		b := "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VTODO\r\nUID:t\r\nDTSTAMP:20240101T000000Z\r\n"
		for _, l := range lines {
			b += l + "\r\n"
		}
		return b + "END:VTODO\r\nEND:VCALENDAR\r\n"
	}
	tests := []struct {
		name string
		body string
		tr   TimeRange
		want bool
	}{
		// DTSTART+DURATION: (start <= DTSTART+DURATION) AND ((end > DTSTART) OR (end >= DTSTART+DURATION))
		{"start+dur: range ends at DTSTART", todo("DTSTART:20240110T100000Z", "DURATION:PT1H"), TimeRange{utc("20240110T090000Z"), utc("20240110T100000Z")}, false},
		{"start+dur: range starts at the end", todo("DTSTART:20240110T100000Z", "DURATION:PT1H"), TimeRange{utc("20240110T110000Z"), utc("20240110T120000Z")}, true},
		{"start+dur: range after", todo("DTSTART:20240110T100000Z", "DURATION:PT1H"), TimeRange{utc("20240110T110001Z"), utc("20240110T120000Z")}, false},
		// DTSTART+DUE: ((start < DUE) OR (start <= DTSTART)) AND ((end > DTSTART) OR (end >= DUE))
		{"start+due: range starts at DUE", todo("DTSTART:20240110T100000Z", "DUE:20240110T110000Z"), TimeRange{utc("20240110T110000Z"), utc("20240110T120000Z")}, false},
		{"start+due: range inside", todo("DTSTART:20240110T100000Z", "DUE:20240110T110000Z"), TimeRange{utc("20240110T103000Z"), utc("20240110T104000Z")}, true},
		{"start+due: range ends at DTSTART", todo("DTSTART:20240110T100000Z", "DUE:20240110T110000Z"), TimeRange{utc("20240110T090000Z"), utc("20240110T100000Z")}, false},
		// DTSTART only: (start <= DTSTART) AND (end > DTSTART)
		{"start only: range starts at DTSTART", todo("DTSTART:20240110T100000Z"), TimeRange{utc("20240110T100000Z"), utc("20240110T100001Z")}, true},
		{"start only: range ends at DTSTART", todo("DTSTART:20240110T100000Z"), TimeRange{utc("20240110T090000Z"), utc("20240110T100000Z")}, false},
		// DUE only: (start < DUE) AND (end >= DUE)
		{"due only: range ends at DUE", todo("DUE:20240110T100000Z"), TimeRange{utc("20240110T090000Z"), utc("20240110T100000Z")}, true},
		{"due only: range starts at DUE", todo("DUE:20240110T100000Z"), TimeRange{utc("20240110T100000Z"), utc("20240110T110000Z")}, false},
		// COMPLETED and CREATED: ((start <= CREATED) OR (start <= COMPLETED)) AND ((end >= CREATED) OR (end >= COMPLETED))
		{"completed+created: inside", todo("CREATED:20240101T000000Z", "COMPLETED:20240110T000000Z"), TimeRange{utc("20240105T000000Z"), utc("20240106T000000Z")}, true},
		{"completed+created: range ends at CREATED", todo("CREATED:20240101T000000Z", "COMPLETED:20240110T000000Z"), TimeRange{utc("20231201T000000Z"), utc("20240101T000000Z")}, true},
		{"completed+created: after", todo("CREATED:20240101T000000Z", "COMPLETED:20240110T000000Z"), TimeRange{utc("20240110T000001Z"), utc("20240111T000000Z")}, false},
		// COMPLETED only: (start <= COMPLETED) AND (end >= COMPLETED)
		{"completed only: range ends at it", todo("COMPLETED:20240110T000000Z"), TimeRange{utc("20240109T000000Z"), utc("20240110T000000Z")}, true},
		{"completed only: before", todo("COMPLETED:20240110T000000Z"), TimeRange{utc("20240108T000000Z"), utc("20240109T000000Z")}, false},
		// CREATED only: (end > CREATED)
		{"created only: any later range", todo("CREATED:20240101T000000Z"), TimeRange{utc("20300101T000000Z"), utc("20300102T000000Z")}, true},
		{"created only: range ends at it", todo("CREATED:20240101T000000Z"), TimeRange{utc("20231231T000000Z"), utc("20240101T000000Z")}, false},
		// Nothing: TRUE.
		{"no times", todo("SUMMARY:someday"), TimeRange{utc("19700101T000000Z"), utc("19700102T000000Z")}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obj, err := Parse([]byte(tt.body), nil)
			if err != nil {
				t.Fatal(err)
			}
			f := calendarFilter(CompFilter{Name: "VTODO", TimeRange: &tt.tr})
			ok, err := Match(obj.Cal, f, nil)
			if err != nil || ok != tt.want {
				t.Errorf("Match = %v, %v; want %v", ok, err, tt.want)
			}
			// The span never excludes a match.
			if ok && obj.HasSpan && !(tt.tr.Start.Before(obj.End) && tt.tr.End.After(obj.Start)) {
				t.Errorf("span [%v, %v) misses a matching range %v", obj.Start, obj.End, tt.tr)
			}
		})
	}
}

// VEVENT rows of §9.9 that differ from plain overlap, and VJOURNAL.
func TestEventAndJournalTimeRangeRules(t *testing.T) {
	journal := "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VJOURNAL\r\nUID:j\r\nDTSTAMP:20240101T000000Z\r\nDTSTART;VALUE=DATE:20240110\r\nEND:VJOURNAL\r\nEND:VCALENDAR\r\n"
	tests := []struct {
		name, body, comp string
		tr               TimeRange
		want             bool
	}{
		{"zero DURATION: range starting at DTSTART", event("DTSTART:20240110T100000Z", "DURATION:PT0S"), "VEVENT", TimeRange{utc("20240110T100000Z"), utc("20240110T110000Z")}, true},
		{"zero DURATION: range ending at DTSTART", event("DTSTART:20240110T100000Z", "DURATION:PT0S"), "VEVENT", TimeRange{utc("20240110T090000Z"), utc("20240110T100000Z")}, false},
		{"DATE-TIME DTSTART alone", event("DTSTART:20240110T100000Z"), "VEVENT", TimeRange{utc("20240110T100000Z"), utc("20240110T100001Z")}, true},
		{"DATE DTSTART alone lasts the day", event("DTSTART;VALUE=DATE:20240110"), "VEVENT", TimeRange{utc("20240110T235959Z"), utc("20240111T120000Z")}, true},
		{"DATE DTSTART alone: next day", event("DTSTART;VALUE=DATE:20240110"), "VEVENT", TimeRange{utc("20240111T000000Z"), utc("20240111T120000Z")}, false},
		{"DTEND exclusive", event("DTSTART:20240110T100000Z", "DTEND:20240110T110000Z"), "VEVENT", TimeRange{utc("20240110T110000Z"), utc("20240110T120000Z")}, false},
		{"VJOURNAL DATE lasts the day", journal, "VJOURNAL", TimeRange{utc("20240110T120000Z"), utc("20240110T130000Z")}, true},
		{"VJOURNAL DATE: day before", journal, "VJOURNAL", TimeRange{utc("20240109T000000Z"), utc("20240110T000000Z")}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obj, err := Parse([]byte(tt.body), nil)
			if err != nil {
				t.Fatal(err)
			}
			ok, err := Match(obj.Cal, calendarFilter(CompFilter{Name: tt.comp, TimeRange: &tt.tr}), nil)
			if err != nil || ok != tt.want {
				t.Errorf("Match = %v, %v; want %v", ok, err, tt.want)
			}
			if ok && !(tt.tr.Start.Before(obj.End) && tt.tr.End.After(obj.Start)) {
				t.Errorf("span [%v, %v) misses a matching range", obj.Start, obj.End)
			}
		})
	}
}

// VALARM triggers on recurring instances: each instance's alarm fires 15 minutes before it.
func TestAlarmOnRecurringInstances(t *testing.T) {
	body := event("DTSTART;TZID=Europe/Berlin:20240330T090000", "DURATION:PT1H", "RRULE:FREQ=DAILY;COUNT=3",
		"BEGIN:VALARM", "ACTION:DISPLAY", "DESCRIPTION:x", "TRIGGER:-PT15M", "END:VALARM",
		"BEGIN:VALARM", "ACTION:DISPLAY", "DESCRIPTION:y", "TRIGGER;RELATED=END:PT5M", "REPEAT:2", "DURATION:PT10M", "END:VALARM")
	obj, err := Parse([]byte(body), nil)
	if err != nil {
		t.Fatal(err)
	}
	alarmIn := func(s, e string) bool {
		f := calendarFilter(CompFilter{Name: "VEVENT", CompFilters: []CompFilter{{Name: "VALARM", TimeRange: &TimeRange{utc(s), utc(e)}}}})
		ok, err := Match(obj.Cal, f, nil)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	// Mar 31 09:00 CEST = 07:00Z: the first alarm at 06:45Z.
	if !alarmIn("20240331T064500Z", "20240331T064501Z") {
		t.Error("no alarm at 06:45Z on Mar 31 (after the DST change)")
	}
	// Mar 30 09:00 CET = 08:00Z: 07:45Z; the 06:45Z slot that day is empty.
	if alarmIn("20240330T064500Z", "20240330T064501Z") || !alarmIn("20240330T074500Z", "20240330T074501Z") {
		t.Error("Mar 30 alarm not at 07:45Z")
	}
	// RELATED=END +5m, repeated twice every 10m: 09:05Z, 09:15Z, 09:25Z on Mar 30 (end 09:00Z).
	for _, at := range []string{"20240330T090500Z", "20240330T091500Z", "20240330T092500Z"} {
		e := utc(at).Add(time.Second).Format("20060102T150405Z")
		if !alarmIn(at, e) {
			t.Errorf("no repeated END alarm at %s", at)
		}
	}
	if alarmIn("20240330T093500Z", "20240330T093501Z") {
		t.Error("a fourth repetition")
	}
	// Span covers every trigger: from 07:45Z Mar 30 to 08:25Z Apr 1 (+1s).
	if !obj.Start.Equal(utc("20240330T074500Z")) || !obj.End.Equal(utc("20240401T082501Z")) {
		t.Errorf("span [%v, %v)", obj.Start, obj.End)
	}
}

// A prop-filter on the VCALENDAR comp-filter naming a component property (what
// python-caldav sends to find an object by UID without a component type) is
// answered from the components; VCALENDAR's own properties are still its own.
func TestCalendarLevelPropFilter(t *testing.T) {
	body := strings.Replace(event("DTSTART:20240101T100000Z", "SUMMARY:Standup"), "UID:r@example.com", "UID:ev-1", 1)
	obj, err := Parse([]byte(body), nil)
	if err != nil {
		t.Fatal(err)
	}
	tm := func(s string) *TextMatch { return &TextMatch{Text: s} }
	for _, tt := range []struct {
		name string
		pf   PropFilter
		want bool
	}{
		{"uid contains", PropFilter{Name: "UID", TextMatch: tm("ev-1")}, true},
		{"uid other", PropFilter{Name: "UID", TextMatch: tm("ev-2")}, false},
		{"uid equals", PropFilter{Name: "uid", TextMatch: &TextMatch{Text: "EV-1", MatchType: "equals"}}, true},
		{"uid negated", PropFilter{Name: "UID", TextMatch: &TextMatch{Text: "ev-1", Negate: true}}, false},
		{"uid defined", PropFilter{Name: "UID"}, true},
		{"uid not defined", PropFilter{Name: "UID", IsNotDefined: true}, false},
		{"location not defined", PropFilter{Name: "LOCATION", IsNotDefined: true}, true},
		{"location", PropFilter{Name: "LOCATION"}, false},
		{"prodid of the calendar", PropFilter{Name: "PRODID", TextMatch: tm("pimvault")}, true},
		{"prodid other", PropFilter{Name: "PRODID", TextMatch: tm("outlook")}, false},
	} {
		f := CompFilter{Name: "VCALENDAR", PropFilters: []PropFilter{tt.pf}}
		if ok, err := Match(obj.Cal, f, nil); ok != tt.want || err != nil {
			t.Errorf("%s: %v, %v; want %v", tt.name, ok, err, tt.want)
		}
	}
}
