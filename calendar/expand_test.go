package calendar

import (
	"errors"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-ical"
)

// render lists a calendar's components as "NAME" followed by its sorted property lines,
// for comparisons that do not depend on property order.
func render(cal *ical.Calendar) []string {
	var out []string
	var walk func(c *ical.Component, indent string)
	walk = func(c *ical.Component, indent string) {
		out = append(out, indent+c.Name)
		var lines []string
		for name, ps := range c.Props {
			for _, p := range ps {
				l := name
				keys := make([]string, 0, len(p.Params))
				for k := range p.Params {
					keys = append(keys, k)
				}
				sort.Strings(keys)
				for _, k := range keys {
					l += ";" + k + "=" + strings.Join(p.Params[k], ",")
				}
				lines = append(lines, indent+"  "+l+":"+p.Value)
			}
		}
		sort.Strings(lines)
		out = append(out, lines...)
		for _, ch := range c.Children {
			walk(ch, indent+"  ")
		}
	}
	walk(cal.Component, "")
	return out
}

func parseCal(t *testing.T, text string) *ical.Calendar {
	t.Helper()
	obj, err := Parse([]byte(strings.ReplaceAll(strings.ReplaceAll(text, "\r\n", "\n"), "\n", "\r\n")), nil)
	if err != nil {
		t.Fatalf("Parse: %v\n%s", err, text)
	}
	return obj.Cal
}

func diffRender(t *testing.T, got, want *ical.Calendar) {
	t.Helper()
	g, w := render(got), render(want)
	if !reflect.DeepEqual(g, w) {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(g, "\n"), strings.Join(w, "\n"))
	}
}

// RFC 4791 §7.8.3 (with verified erratum 4155: the values are UTC): expand Jan 3-5.
func TestExpandRFC4791(t *testing.T) {
	cals := loadRFC4791(t)
	tr := TimeRange{utc("20060103T000000Z"), utc("20060105T000000Z")}
	got, err := Expand(cals["abcd2.ics"], tr, nil)
	if err != nil {
		t.Fatal(err)
	}
	diffRender(t, got, parseCal(t, `BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Example Corp.//CalDAV Client//EN
BEGIN:VEVENT
DTSTAMP:20060206T001121Z
DTSTART:20060103T170000Z
DURATION:PT1H
RECURRENCE-ID:20060103T170000Z
SUMMARY:Event #2
UID:00959BC664CA650E933C892C@example.com
END:VEVENT
BEGIN:VEVENT
DTSTAMP:20060206T001121Z
DTSTART:20060104T190000Z
DURATION:PT1H
RECURRENCE-ID:20060104T170000Z
SUMMARY:Event #2 bis
UID:00959BC664CA650E933C892C@example.com
END:VEVENT
END:VCALENDAR
`))
	got, err = Expand(cals["abcd3.ics"], tr, nil)
	if err != nil {
		t.Fatal(err)
	}
	diffRender(t, got, parseCal(t, `BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Example Corp.//CalDAV Client//EN
BEGIN:VEVENT
ATTENDEE;PARTSTAT=ACCEPTED;ROLE=CHAIR:mailto:cyrus@example.com
ATTENDEE;PARTSTAT=NEEDS-ACTION:mailto:lisa@example.com
DTSTAMP:20060206T001220Z
DTSTART:20060104T150000Z
DURATION:PT1H
LAST-MODIFIED:20060206T001330Z
ORGANIZER:mailto:cyrus@example.com
SEQUENCE:1
STATUS:TENTATIVE
SUMMARY:Event #3
UID:DC6C50A017428C5216A2F1CD@example.com
X-ABC-GUID:E1CX5Dr-0007ym-Hz@example.com
END:VEVENT
END:VCALENDAR
`))
	// The input is not modified.
	if cals["abcd2.ics"].Children[1].Props.Get("RRULE") == nil {
		t.Error("Expand changed its input")
	}
}

// RFC 4791 §7.8.2: limit-recurrence-set Jan 3-5 keeps the master and the Jan 4 override.
func TestLimitRecurrenceSetRFC4791(t *testing.T) {
	cals := loadRFC4791(t)
	tr := TimeRange{utc("20060103T000000Z"), utc("20060105T000000Z")}
	got, err := LimitRecurrenceSet(cals["abcd2.ics"], tr, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := parseCal(t, string(readTestdata(t, "rfc4791/abcd2.ics")))
	want.Children = want.Children[:3] // VTIMEZONE, master, "Event #2 bis"
	diffRender(t, got, want)

	// A THISANDFUTURE override before the range is kept: it shapes instances in it.
	cal := parseCal(t, event("DTSTART:20240101T100000Z", "DURATION:PT1H", "RRULE:FREQ=DAILY", "--",
		"RECURRENCE-ID;RANGE=THISANDFUTURE:20240103T100000Z", "DTSTART:20240103T120000Z", "DURATION:PT1H", "--",
		"RECURRENCE-ID:20240102T100000Z", "DTSTART:20240102T110000Z", "DURATION:PT1H"))
	got, err = LimitRecurrenceSet(cal, TimeRange{utc("20240110T000000Z"), utc("20240111T000000Z")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Children) != 2 || got.Children[1].Props.Get("RECURRENCE-ID").Params.Get("RANGE") != "THISANDFUTURE" {
		t.Errorf("got %v", render(got))
	}
}

func TestExpandRecurringKinds(t *testing.T) {
	tests := []struct {
		name string
		body string
		tr   TimeRange
		want []string // DTSTART / DTEND / RECURRENCE-ID lines per instance
	}{
		{
			name: "TZID to UTC with DTEND, overrides and THISANDFUTURE",
			body: event("DTSTART;TZID=Europe/Berlin:20240330T090000", "DTEND;TZID=Europe/Berlin:20240330T100000", "RRULE:FREQ=DAILY;COUNT=4", "--",
				"RECURRENCE-ID;TZID=Europe/Berlin;RANGE=THISANDFUTURE:20240401T090000", "DTSTART;TZID=Europe/Berlin:20240401T113000", "DTEND;TZID=Europe/Berlin:20240401T120000"),
			tr: TimeRange{utc("20240301T000000Z"), utc("20240501T000000Z")},
			want: []string{
				"DTSTART:20240330T080000Z DTEND:20240330T090000Z RECURRENCE-ID:20240330T080000Z",
				"DTSTART:20240331T070000Z DTEND:20240331T080000Z RECURRENCE-ID:20240331T070000Z",
				"DTSTART:20240401T093000Z DTEND:20240401T100000Z RECURRENCE-ID:20240401T070000Z",
				"DTSTART:20240402T093000Z DTEND:20240402T100000Z RECURRENCE-ID:20240402T070000Z",
			},
		},
		{
			name: "all-day stays DATE",
			body: event("DTSTART;VALUE=DATE:20240130", "DTEND;VALUE=DATE:20240131", "RRULE:FREQ=WEEKLY;COUNT=2"),
			tr:   TimeRange{utc("20240101T000000Z"), utc("20240301T000000Z")},
			want: []string{
				"DTSTART;VALUE=DATE:20240130 DTEND;VALUE=DATE:20240131 RECURRENCE-ID;VALUE=DATE:20240130",
				"DTSTART;VALUE=DATE:20240206 DTEND;VALUE=DATE:20240207 RECURRENCE-ID;VALUE=DATE:20240206",
			},
		},
		{
			name: "floating stays floating",
			body: event("DTSTART:20240130T080000", "DURATION:PT1H", "RRULE:FREQ=DAILY;COUNT=2"),
			tr:   TimeRange{utc("20240131T000000Z"), utc("20240201T000000Z")},
			want: []string{"DTSTART:20240131T080000 DTEND: RECURRENCE-ID:20240131T080000"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Expand(parseCal(t, tt.body), tt.tr, nil)
			if err != nil {
				t.Fatal(err)
			}
			var lines []string
			for _, c := range got.Children {
				if c.Props.Get("RRULE") != nil || c.Props.Get("EXDATE") != nil {
					t.Errorf("instance keeps recurrence properties")
				}
				line := ""
				for _, n := range []string{"DTSTART", "DTEND", "RECURRENCE-ID"} {
					p := c.Props.Get(n)
					if p == nil {
						line += " " + n + ":"
						continue
					}
					if v := p.Params.Get("VALUE"); v != "" {
						line += " " + n + ";VALUE=" + v + ":" + p.Value
					} else {
						line += " " + n + ":" + p.Value
					}
					if p.Params.Get("TZID") != "" || p.Params.Get("RANGE") != "" {
						t.Errorf("%s keeps parameters %v", n, p.Params)
					}
				}
				lines = append(lines, strings.TrimSpace(line))
			}
			if !reflect.DeepEqual(lines, tt.want) {
				t.Errorf("got\n%s\nwant\n%s", strings.Join(lines, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestExpandHostile(t *testing.T) {
	cal := parseCal(t, event("DTSTART:20240101T000000Z", "RRULE:FREQ=SECONDLY"))
	// A month of seconds is truncated at MaxInstances: the first ones, in order.
	got, err := Expand(cal, TimeRange{utc("20240101T000000Z"), utc("20240201T000000Z")}, nil)
	if err != nil || len(got.Children) != MaxInstances {
		t.Fatalf("Expand of a month of seconds: %v, %d instances; want the first %d", err, len(got.Children), MaxInstances)
	}
	for i, c := range got.Children {
		if want := utc("20240101T000000Z").Add(time.Duration(i) * time.Second).Format("20060102T150405Z"); c.Props.Get("DTSTART").Value != want {
			t.Fatalf("instance %d starts %s, want %s", i, c.Props.Get("DTSTART").Value, want)
		}
	}
	got, err = Expand(cal, TimeRange{utc("20300101T000000Z"), utc("20300101T000005Z")}, nil)
	if err != nil || len(got.Children) != 5 {
		t.Errorf("Expand of 5 seconds 6 years on: %d instances, %v; want 5", len(got.Children), err)
	}
}

// RFC 4791 §7.10.1: free-busy over Jan 4 14:00Z - Jan 5 22:00Z of the Appendix B calendar.
// The RFC prints the first two periods; the data also holds the Jan 5 instance of Event #2
// (12:00 EST = 17:00Z) and abcd8's BUSY-UNAVAILABLE period, which §7.10 includes.
func TestFreeBusyRFC4791(t *testing.T) {
	cals := loadRFC4791(t)
	var list []*ical.Calendar
	for _, c := range cals {
		list = append(list, c)
	}
	got, err := FreeBusy(list, TimeRange{utc("20060104T140000Z"), utc("20060105T220000Z")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	fb := got.Children[0]
	var periods []string
	for _, p := range fb.Props.Values("FREEBUSY") {
		periods = append(periods, p.Params.Get("FBTYPE")+" "+p.Value)
	}
	want := []string{
		"BUSY-TENTATIVE 20060104T150000Z/20060104T160000Z",   // Event #3, STATUS:TENTATIVE
		" 20060104T190000Z/20060104T200000Z",                 // Event #2 bis (moved to 14:00 EST)
		"BUSY-UNAVAILABLE 20060105T100000Z/20060105T120000Z", // abcd8
		" 20060105T170000Z/20060105T180000Z",                 // Event #2, Jan 5
	}
	if !reflect.DeepEqual(periods, want) {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(periods, "\n"), strings.Join(want, "\n"))
	}
	if fb.Props.Get("DTSTART").Value != "20060104T140000Z" || fb.Props.Get("DTEND").Value != "20060105T220000Z" {
		t.Errorf("DTSTART/DTEND = %v/%v", fb.Props.Get("DTSTART").Value, fb.Props.Get("DTEND").Value)
	}
}

func TestFreeBusyRules(t *testing.T) {
	cal := func(lines ...string) *ical.Calendar { return parseCal(t, event(lines...)) }
	tr := TimeRange{utc("20240101T000000Z"), utc("20240102T000000Z")}
	got, err := FreeBusy([]*ical.Calendar{
		cal("DTSTART:20240101T090000Z", "DTEND:20240101T100000Z"),
		cal("DTSTART:20240101T093000Z", "DTEND:20240101T110000Z"),                       // overlaps: coalesced
		cal("DTSTART:20240101T110000Z", "DTEND:20240101T113000Z"),                       // adjacent: coalesced
		cal("DTSTART:20240101T120000Z", "DTEND:20240101T130000Z", "TRANSP:TRANSPARENT"), // free
		cal("DTSTART:20240101T140000Z", "DTEND:20240101T150000Z", "STATUS:CANCELLED"),   // free
		cal("DTSTART:20240101T160000Z"),                                                 // zero length
		cal("DTSTART:20231231T230000Z", "DTEND:20240101T010000Z"),                       // clipped
		cal("DTSTART:20240101T230000Z", "DURATION:PT2H", "RRULE:FREQ=DAILY;COUNT=3"),    // clipped, recurring
		cal("DTSTART:20240101T170000Z", "DTEND:20240101T180000Z", "STATUS:TENTATIVE"),   // tentative
		cal("DTSTART:20240101T173000Z", "DTEND:20240101T190000Z"),                       // busy overlapping tentative: kept apart
	}, tr, nil)
	if err != nil {
		t.Fatal(err)
	}
	var periods []string
	for _, p := range got.Children[0].Props.Values("FREEBUSY") {
		periods = append(periods, p.Params.Get("FBTYPE")+" "+p.Value)
	}
	want := []string{
		" 20240101T000000Z/20240101T010000Z",
		" 20240101T090000Z/20240101T113000Z",
		"BUSY-TENTATIVE 20240101T170000Z/20240101T180000Z",
		" 20240101T173000Z/20240101T190000Z",
		" 20240101T230000Z/20240102T000000Z",
	}
	if !reflect.DeepEqual(periods, want) {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(periods, "\n"), strings.Join(want, "\n"))
	}
	if _, err := FreeBusy(nil, TimeRange{Start: utc("20240101T000000Z")}, nil); !errors.Is(err, ErrBadFilter) {
		t.Errorf("open range: %v, want ErrBadFilter", err)
	}
}

func TestExport(t *testing.T) {
	cals := loadRFC4791(t)
	var list []*ical.Calendar
	for i := 1; i <= 8; i++ {
		list = append(list, cals["abcd"+string(rune('0'+i))+".ics"])
	}
	got, err := Export(list, "-//pimvault//test//EN")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range got.Children {
		names = append(names, c.Name)
	}
	want := []string{"VTIMEZONE", "VEVENT", "VEVENT", "VEVENT", "VEVENT", "VEVENT", "VTODO", "VTODO", "VTODO", "VTODO", "VFREEBUSY"}
	if !reflect.DeepEqual(names, want) {
		t.Errorf("components %v, want %v (US/Eastern once)", names, want)
	}
	if got.Props.Get("PRODID").Value != "-//pimvault//test//EN" || got.Props.Get("VERSION").Value != "2.0" {
		t.Errorf("calendar properties %v", render(got)[:3])
	}
	empty, err := Export(nil, "-//x//EN")
	if err != nil || len(empty.Children) != 0 {
		t.Errorf("empty export: %v, %v", empty, err)
	}
}

// Expand and LimitRecurrenceSet never modify their input, which may be a cached Object.
func TestExpandLeavesInputAlone(t *testing.T) {
	body := event("DTSTART;TZID=Europe/Berlin:20240101T100000", "DTEND;TZID=Europe/Berlin:20240101T110000", "RRULE:FREQ=DAILY;COUNT=3",
		"EXDATE;TZID=Europe/Berlin:20240102T100000", "X-TZ-PROP;TZID=America/New_York:20240101T090000",
		"BEGIN:VALARM", "ACTION:DISPLAY", "TRIGGER:-PT5M", "X-SNOOZE;TZID=Europe/Berlin:20240101T095500", "END:VALARM")
	cal := parseCal(t, body)
	before := strings.Join(render(cal), "\n")
	x, err := Expand(cal, TimeRange{utc("20240101T000000Z"), utc("20240201T000000Z")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := LimitRecurrenceSet(cal, TimeRange{utc("20240101T000000Z"), utc("20240201T000000Z")}, nil); err != nil {
		t.Fatal(err)
	}
	if after := strings.Join(render(cal), "\n"); after != before {
		t.Errorf("input changed:\n%s\nwas\n%s", after, before)
	}
	// The output has the converted values, alarms included.
	got := strings.Join(render(x), "\n")
	for _, want := range []string{"X-TZ-PROP:20240101T140000Z", "X-SNOOZE:20240101T085500Z", "DTSTART:20240103T090000Z", "DTEND:20240103T100000Z"} {
		if !strings.Contains(got, want) {
			t.Errorf("expanded output lacks %s:\n%s", want, got)
		}
	}
	if len(x.Children) != 2 {
		t.Errorf("%d instances, want 2 (Jan 2 excluded)", len(x.Children))
	}
}
