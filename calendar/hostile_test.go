package calendar

import (
	"errors"
	"strings"
	"testing"
)

func TestParseRefusesDeepNesting(t *testing.T) {
	for _, depth := range []int{MaxDepth + 1, 100000} {
		var b strings.Builder
		b.WriteString("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\n")
		for i := 1; i < depth; i++ {
			b.WriteString("BEGIN:X-NEST\r\n")
		}
		for i := 1; i < depth; i++ {
			b.WriteString("END:X-NEST\r\n")
		}
		b.WriteString("END:VCALENDAR\r\n")
		_, err := Parse([]byte(b.String()), nil)
		if !errors.Is(err, ErrInvalidData) || !strings.Contains(err.Error(), "nested deeper") {
			t.Errorf("depth %d: got %v, want a nesting error wrapping ErrInvalidData", depth, err)
		}
	}
}

func TestParseRefusesHugeParameters(t *testing.T) {
	body := "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VEVENT\r\nUID:a\r\nDTSTAMP:20240101T000000Z\r\nDTSTART:20240101T000000Z\r\nX-BIG;P=\"" +
		strings.Repeat("a", 1<<20) + "\":v\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
	_, err := Parse([]byte(body), nil)
	if !errors.Is(err, ErrInvalidData) || !strings.Contains(err.Error(), "parameters longer") {
		t.Errorf("got %v, want a parameter size error", err)
	}
}

// Rules that rrule-go would search until the year 9999 on every query, or build huge
// periods for, are refused when the object is stored.
func TestParseRefusesRulesThatNeverOccur(t *testing.T) {
	for _, rule := range []string{
		"FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30",
		"FREQ=DAILY;BYYEARDAY=366;BYMONTH=1",
		"FREQ=DAILY;BYWEEKNO=1;BYMONTH=6",
		"FREQ=MINUTELY;BYWEEKNO=1;BYMONTH=6",
		"FREQ=MONTHLY;BYDAY=6MO",
		"FREQ=MONTHLY;BYDAY=-1FR;BYMONTHDAY=1,2,3,4,5,6,7",
		"FREQ=HOURLY;BYSETPOS=2",
		"FREQ=WEEKLY;BYDAY=MO;BYSETPOS=2",
		"FREQ=YEARLY;BYHOUR=0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23;BYMINUTE=0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30",
		"FREQ=YEARLY;BYEASTER=0",
		"FREQ=MONTHLY;BYDAY=2MO,10FR;BYMONTH=1", // rrule-go indexes past its month masks (found by fuzzing)
		"FREQ=YEARLY;BYMONTH=1;BYDAY=-6MO",
	} {
		_, err := Parse([]byte(event("DTSTART:20240101T000000Z", "RRULE:"+rule)), nil)
		if !errors.Is(err, ErrInvalidData) || !strings.Contains(err.Error(), "RRULE") {
			t.Errorf("%s: got %v, want a refused RRULE", rule, err)
		}
	}
	// Rare but possible rules are accepted: Feb 29 on a Monday (2044), Friday 13th.
	for _, rule := range []string{"FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29;BYDAY=MO", "FREQ=MONTHLY;BYDAY=FR;BYMONTHDAY=13", "FREQ=MONTHLY;BYDAY=-1FR"} {
		if _, err := Parse([]byte(event("DTSTART:20240101T000000Z", "RRULE:"+rule)), nil); err != nil {
			t.Errorf("%s: %v", rule, err)
		}
	}
}

// Feb 29 on a Monday: 2044-02-29 is the next one after 2024 (2028, 2032, 2036, 2040 fall
// on Tue, Sun, Fri, Wed).
func TestRareRuleFindsItsInstance(t *testing.T) {
	got := instancesIn(t, event("DTSTART:20240101T120000Z", "RRULE:FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29;BYDAY=MO"),
		TimeRange{utc("20240102T000000Z"), utc("20500101T000000Z")}, nil) // after DTSTART, itself an instance
	if len(got) != 1 || got[0] != "20440229T120000Z/" {
		t.Errorf("got %v", got)
	}
}

// Years before the Gregorian calendar are refused (found by fuzzing: rrule-go skips the
// rest of year 0, and 0001-01-01T00:00:00Z is time.Time's zero, an open TimeRange bound).
// Outlook's VTIMEZONE onsets in 1601 and Apple's year-less birthdays in 1604 are fine.
func TestParseRefusesPreGregorianYears(t *testing.T) {
	for _, v := range []string{"00000110", "00010101T000000Z", "15821015"} {
		_, err := Parse([]byte(event("DTSTART:"+v, "RRULE:FREQ=DAILY")), nil)
		if !errors.Is(err, ErrInvalidData) || !strings.Contains(err.Error(), "before 1583") {
			t.Errorf("%s: got %v", v, err)
		}
	}
	if _, err := Parse([]byte(event("DTSTART;VALUE=DATE:16040614", "RRULE:FREQ=YEARLY", "X-APPLE-OMIT-YEAR:1604")), nil); err != nil {
		t.Errorf("a 1604 birthday: %v", err)
	}
}

func TestParseLargeDescription(t *testing.T) {
	const size = 5 << 20
	// Folded at 75 octets as clients write it, with escapes.
	text := strings.Repeat(`Lorem ipsum\, dolor\n`, size/20)
	var b strings.Builder
	b.WriteString("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VEVENT\r\nUID:big\r\nDTSTAMP:20240101T000000Z\r\nDTSTART:20240101T100000Z\r\n")
	line := "DESCRIPTION:" + text
	for len(line) > 75 {
		b.WriteString(line[:75] + "\r\n ")
		line = line[75:]
	}
	b.WriteString(line + "\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
	obj, err := Parse([]byte(b.String()), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := obj.Cal.Children[0].Props.Get("DESCRIPTION").Value; got != text {
		t.Errorf("DESCRIPTION has %d bytes, want %d", len(got), len(text))
	}
	f := calendarFilter(CompFilter{Name: "VEVENT", PropFilters: []PropFilter{{Name: "DESCRIPTION", TextMatch: &TextMatch{Text: "IPSUM, DOLOR\nLOREM"}}}})
	if ok, err := Match(obj.Cal, f, nil); !ok || err != nil {
		t.Errorf("Match = %v, %v", ok, err)
	}
}

func TestParseRefusesBadTimeZones(t *testing.T) {
	vtz := func(body string) string {
		return "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VTIMEZONE\r\nTZID:Custom\r\n" + body +
			"END:VTIMEZONE\r\nBEGIN:VEVENT\r\nUID:a\r\nDTSTAMP:20240101T000000Z\r\nDTSTART;TZID=Custom:20240101T100000\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
	}
	tests := []struct{ name, body, msg string }{
		{"unknown TZID", event("DTSTART;TZID=Europe/Atlantis:20240101T100000"), `unknown time zone TZID="Europe/Atlantis"`},
		{"Local is not a zone", event("DTSTART;TZID=Local:20240101T100000"), `unknown time zone TZID="Local"`},
		{"path in TZID", event("DTSTART;TZID=../../etc/passwd:20240101T100000"), `unknown time zone`},
		{"empty TZID", event("DTSTART;TZID=:20240101T100000"), `empty TZID`},
		{"bad offset", vtz("BEGIN:STANDARD\r\nDTSTART:19700101T000000\r\nTZOFFSETFROM:+2500\r\nTZOFFSETTO:+0100\r\nEND:STANDARD\r\n"), "TZOFFSETFROM"},
		{"no observance", vtz(""), "no STANDARD or DAYLIGHT"},
		{"observance without DTSTART", vtz("BEGIN:STANDARD\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0100\r\nEND:STANDARD\r\n"), "no DTSTART"},
		{"transition every second", vtz("BEGIN:DAYLIGHT\r\nDTSTART:19700101T000000\r\nRRULE:FREQ=SECONDLY\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\nEND:DAYLIGHT\r\n"), "too many transitions"},
		{"observance rule that never occurs", vtz("BEGIN:DAYLIGHT\r\nDTSTART:19700101T000000\r\nRRULE:FREQ=DAILY;BYMONTH=2;BYMONTHDAY=31\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\nEND:DAYLIGHT\r\n"), "never occurs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.body), nil)
			if !errors.Is(err, ErrInvalidData) || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("got %v, want ErrInvalidData saying %q", err, tt.msg)
			}
		})
	}
}

func TestParseRefusesHugeAlarmRepeat(t *testing.T) {
	body := event("DTSTART:20240101T100000Z", "BEGIN:VALARM", "ACTION:DISPLAY", "TRIGGER:-PT5M", "REPEAT:1000000000", "DURATION:PT1S", "END:VALARM")
	if _, err := Parse([]byte(body), nil); !errors.Is(err, ErrInvalidData) || !strings.Contains(err.Error(), "REPEAT") {
		t.Errorf("got %v", err)
	}
}

// A non-IANA VTIMEZONE whose observances start in the year 1 still compiles.
func TestVTimezoneWithAncientOnsets(t *testing.T) {
	body := "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VTIMEZONE\r\nTZID:Custom Berlin\r\n" +
		"BEGIN:STANDARD\r\nDTSTART:00011028T030000\r\nRRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nEND:STANDARD\r\n" +
		"BEGIN:DAYLIGHT\r\nDTSTART:00010325T020000\r\nRRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\nEND:DAYLIGHT\r\n" +
		"END:VTIMEZONE\r\nBEGIN:VEVENT\r\nUID:a\r\nDTSTAMP:20240101T000000Z\r\nDTSTART;TZID=Custom Berlin:20240703T140000\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
	obj, err := Parse([]byte(body), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !obj.Start.Equal(utc("20240703T120000Z")) {
		t.Errorf("14:00 in summer = %v, want 12:00Z", obj.Start)
	}
}
