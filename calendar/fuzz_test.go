package calendar

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/emersion/go-ical"
)

func addTestdataSeeds(f *testing.F) {
	for _, dir := range []string{"valid", "invalid", "rfc4791", "clients"} {
		files, _ := filepath.Glob(filepath.Join("testdata", dir, "*.ics"))
		for _, file := range files {
			b, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
}

// FuzzParse: Parse never panics or hangs, whatever it accepts is well-formed as XML
// character data (a CalDAV response carries it), re-encodes and parses again to the same
// object.
func FuzzParse(f *testing.F) {
	addTestdataSeeds(f)
	f.Add([]byte("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART;TZID=\"a\r\n"))
	f.Add([]byte("BEGIN:VCALENDAR\r\nX;A=\"b\"c:d\r\nEND:VCALENDAR\r\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		obj, err := Parse(body, nil)
		if err != nil {
			return
		}
		if err := xmlCarries(body); err != nil {
			t.Fatalf("accepted object is not XML character data: %v", err)
		}
		if obj.Body != nil {
			// A completed body (VERSION, PRODID added) parses with nothing
			// left to complete and describes the same object.
			done, err := Parse(obj.Body, nil)
			if err != nil || done.Body != nil || done.UID != obj.UID || !done.Start.Equal(obj.Start) || !done.End.Equal(obj.End) {
				t.Fatalf("completed body: %v %+v\n%s", err, done, obj.Body)
			}
		}
		var buf bytes.Buffer
		for _, c := range obj.Cal.Children { // go-ical's encoder insists on DTSTAMP
			if c.Name != ical.CompTimezone && c.Props.Get(ical.PropDateTimeStamp) == nil {
				c.Props.SetDateTime(ical.PropDateTimeStamp, time.Unix(0, 0).UTC())
			}
		}
		if err := ical.NewEncoder(&buf).Encode(obj.Cal); err != nil {
			t.Fatalf("accepted object does not encode: %v", err)
		}
		again, err := Parse(buf.Bytes(), nil)
		if err != nil {
			t.Fatalf("re-encoded object does not parse: %v\n%s", err, buf.Bytes())
		}
		if again.UID != obj.UID || again.Component != obj.Component || again.HasSpan != obj.HasSpan ||
			!again.Start.Equal(obj.Start) || !again.End.Equal(obj.End) {
			t.Fatalf("round trip changed the object: %+v vs %+v", again, obj)
		}
	})
}

// FuzzMatch: on any object Parse accepts and any time range, Match never panics, fails
// only with ErrTooManyInstances, and never matches outside the object's span (the store
// prefilters candidates by span, so a match outside it would be lost).
func FuzzMatch(f *testing.F) {
	addTestdataSeeds(f)
	for _, b := range []string{
		event("DTSTART;TZID=Europe/Berlin:20240330T090000", "DURATION:PT1H", "RRULE:FREQ=DAILY;COUNT=3",
			"BEGIN:VALARM", "ACTION:DISPLAY", "TRIGGER;RELATED=END:-P1D", "REPEAT:3", "DURATION:PT1H", "END:VALARM"),
		event("DTSTART:20240101T100000Z", "DURATION:PT1H", "RRULE:FREQ=DAILY;COUNT=5", "--",
			"RECURRENCE-ID;RANGE=THISANDFUTURE:20240103T100000Z", "DTSTART:20240102T120000Z", "DURATION:PT30M"),
		event("DTSTART;VALUE=DATE:20240130", "DTEND;VALUE=DATE:20240202", "RRULE:FREQ=MONTHLY;BYMONTHDAY=-1", "RDATE;VALUE=PERIOD:20230101T000000Z/P3W"),
	} {
		f.Add([]byte(b))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		obj, err := Parse(body, nil)
		if err != nil {
			return
		}
		// Probe windows derived from the span and the body length, without timing.
		base := utc("20240101T000000Z")
		if obj.HasSpan {
			base = obj.Start
		}
		probes := []TimeRange{
			{base.Add(-time.Hour), base},
			{base, base.Add(time.Second)},
			{base.Add(-48 * time.Hour), base.Add(-24 * time.Hour)},
			{base.Add(time.Duration(len(body)) * time.Hour), base.Add(time.Duration(len(body)+30) * time.Hour)},
		}
		if obj.HasSpan && !obj.End.Equal(Forever) {
			probes = append(probes, TimeRange{obj.End, obj.End.Add(time.Hour)}, TimeRange{obj.End.Add(-time.Second), obj.End})
		}
		for _, tr := range probes {
			if tr.Start.IsZero() || tr.End.IsZero() {
				continue // a zero bound is an open one
			}
			r := tr
			for _, cf := range []CompFilter{
				{Name: obj.Component, TimeRange: &r},
				{Name: obj.Component, CompFilters: []CompFilter{{Name: "VALARM", TimeRange: &r}}},
			} {
				ok, err := Match(obj.Cal, calendarFilter(cf), nil)
				if err != nil && !errors.Is(err, ErrTooManyInstances) {
					t.Fatalf("Match: %v", err)
				}
				if ok && obj.HasSpan && !(r.Start.Before(obj.End) && r.End.After(obj.Start)) {
					t.Fatalf("matches %v..%v outside the span %v..%v", r.Start, r.End, obj.Start, obj.End)
				}
			}
		}
	})
}

// filterFromBytes decodes fuzz bytes into a filter tree (a small grammar, so the fuzzer
// explores names, nesting, time ranges, text-match options and is-not-defined).
func filterFromBytes(b []byte) CompFilter {
	pos := 0
	next := func() byte {
		if pos >= len(b) {
			return 0
		}
		pos++
		return b[pos-1]
	}
	comps := []string{"VEVENT", "VTODO", "VJOURNAL", "VFREEBUSY", "VALARM", "VTIMEZONE", "STANDARD", "X-FOO", ""}
	props := []string{"SUMMARY", "UID", "DTSTART", "DTEND", "DUE", "ATTENDEE", "STATUS", "DESCRIPTION", "COMPLETED", "X-ABC-GUID", ""}
	params := []string{"PARTSTAT", "ROLE", "CN", "TZID", ""}
	texts := []string{"", "event", "Steelers", "NEEDS-ACTION", "lisa", "CANCELLED", "É", "bis"}
	colls := []string{"", "i;ascii-casemap", "i;octet", "i;unicode-casemap", "i;nope"}
	types := []string{"", "contains", "equals", "starts-with", "ends-with", "regex"}
	base := utc("20060101T000000Z")
	timeRange := func() *TimeRange {
		if next()%3 != 0 {
			return nil
		}
		r := &TimeRange{}
		if s := next(); s%4 != 0 {
			r.Start = base.Add(time.Duration(s) * 3 * time.Hour)
		}
		if e := next(); e%4 != 0 {
			r.End = base.Add(time.Duration(e) * 3 * time.Hour)
		}
		return r
	}
	textMatch := func() *TextMatch {
		if next()%2 != 0 {
			return nil
		}
		return &TextMatch{Text: texts[int(next())%len(texts)], Collation: colls[int(next())%len(colls)],
			MatchType: types[int(next())%len(types)], Negate: next()%2 == 0}
	}
	var comp func(depth int) CompFilter
	comp = func(depth int) CompFilter {
		f := CompFilter{Name: comps[int(next())%len(comps)], IsNotDefined: next()%5 == 0, TimeRange: timeRange()}
		for n := int(next()) % 3; n > 0; n-- {
			pf := PropFilter{Name: props[int(next())%len(props)], IsNotDefined: next()%5 == 0, TimeRange: timeRange(), TextMatch: textMatch()}
			for m := int(next()) % 2; m > 0; m-- {
				pf.ParamFilters = append(pf.ParamFilters, ParamFilter{Name: params[int(next())%len(params)], IsNotDefined: next()%4 == 0, TextMatch: textMatch()})
			}
			f.PropFilters = append(f.PropFilters, pf)
		}
		if depth < 10 {
			for n := int(next()) % 3; n > 0; n-- {
				f.CompFilters = append(f.CompFilters, comp(depth+1))
			}
		}
		return f
	}
	top := CompFilter{Name: "VCALENDAR"}
	if next()%7 == 0 {
		top.Name = "VEVENT"
	}
	for n := int(next())%2 + 1; n > 0; n-- {
		top.CompFilters = append(top.CompFilters, comp(2))
	}
	return top
}

// FuzzFilter: any filter tree either fails Validate (with ErrBadFilter or
// ErrUnsupportedCollation, and Match fails the same way) or Match answers on every
// Appendix B object without error; is-not-defined is the negation of an empty
// comp-filter.
func FuzzFilter(f *testing.F) {
	f.Add([]byte{0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1})
	f.Add([]byte("\x00\x01\x00\x03\x10\x20\x01\x00\x02\x00\x00\x01\x02\x03\x00\x01"))
	f.Add([]byte("time-range on VEVENT with alarms and text"))
	cals := loadRFC4791(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		filter := filterFromBytes(b)
		verr := filter.Validate()
		if verr != nil && !errors.Is(verr, ErrBadFilter) && !errors.Is(verr, ErrUnsupportedCollation) {
			t.Fatalf("Validate: %v wraps no sentinel", verr)
		}
		for name, cal := range cals {
			ok, err := Match(cal, filter, nil)
			if verr != nil {
				if ok || err == nil || err.Error() != verr.Error() {
					t.Fatalf("%s: Match = %v, %v after Validate = %v", name, ok, err, verr)
				}
				continue
			}
			if err != nil {
				t.Fatalf("%s: Match: %v", name, err)
			}
			for _, cf := range filter.CompFilters {
				if cf.Name == "" {
					continue
				}
				exists, _ := Match(cal, calendarFilter(CompFilter{Name: cf.Name}), nil)
				absent, _ := Match(cal, calendarFilter(CompFilter{Name: cf.Name, IsNotDefined: true}), nil)
				if exists == absent {
					t.Fatalf("%s: %s exists=%v and is-not-defined=%v", name, cf.Name, exists, absent)
				}
			}
		}
	})
}
