package server

import (
	"bytes"
	"math"

	"github.com/pimvault/pimvault/calendar"
	"github.com/pimvault/pimvault/server/internal/dav"
	"github.com/pimvault/pimvault/storage"
)

// The common calendar-query, "which events overlap this range" (every
// calendar app's view of a week or a month), is answered for most events
// from the span stored at PUT, without parsing the body: for a VEVENT with
// one instance, no alarms and times fixed in UTC or a named zone, the span
// calendar.Parse stored is exactly that instance, and RFC 4791 §9.9's VEVENT
// test is exactly an overlap test of it. Everything else goes through
// calendar.Match.

// eventRangeOnly returns the time range of a filter that asks only for
// VEVENTs overlapping it: VCALENDAR > VEVENT with a time-range and nothing
// else.
func eventRangeOnly(f calendar.CompFilter) (calendar.TimeRange, bool) {
	if f.IsNotDefined || f.TimeRange != nil || len(f.PropFilters) != 0 || len(f.CompFilters) != 1 {
		return calendar.TimeRange{}, false
	}
	c := f.CompFilters[0]
	if c.Name != "VEVENT" || c.IsNotDefined || c.TimeRange == nil || len(c.PropFilters) != 0 || len(c.CompFilters) != 0 {
		return calendar.TimeRange{}, false
	}
	return *c.TimeRange, true
}

// spanMatch decides an event-range-only filter from o's stored span; ok is
// false when the span does not decide it and calendar.Match must.
func spanMatch(o storage.Object, tr calendar.TimeRange) (match, ok bool) {
	sp := o.Meta.Span
	if o.Meta.Component != "VEVENT" || sp == nil || sp.Start == math.MinInt64 || bodyFacts(o)&factExact == 0 {
		return false, false
	}
	start, end := unixBounds(tr, 0)
	if sp.Start == sp.End { // a zero-length event (RFC 4791 §9.9: DTSTART in [start, end))
		return sp.Start >= start && sp.Start < end, true
	}
	return sp.Start < end && sp.End > start, true
}

// spanIsExact reports whether an iCalendar body holds one instance whose
// stored span is exact: no RRULE, RDATE, EXRULE or RECURRENCE-ID, no VALARM
// (alarm triggers widen the span), and DTSTART/DTEND in UTC or with a TZID
// (floating and all-day times depend on the zone a query reads them in).
// What a VTIMEZONE holds does not count.
func spanIsExact(body []byte) bool {
	if bytes.Contains(body, []byte("\n ")) || bytes.Contains(body, []byte("\n\t")) {
		body = bytes.ReplaceAll(bytes.ReplaceAll(body, []byte("\r\n"), []byte("\n")), []byte("\n "), nil)
		body = bytes.ReplaceAll(body, []byte("\n\t"), nil)
	}
	inTimezone := false // a VTIMEZONE's rules and local times say nothing of the event
	for len(body) > 0 {
		line := body
		if i := bytes.IndexByte(body, '\n'); i >= 0 {
			line, body = body[:i], body[i+1:]
		} else {
			body = nil
		}
		line = bytes.TrimRight(line, "\r")
		end := bytes.IndexAny(line, ";:")
		if end < 0 {
			continue
		}
		name := line[:end]
		if equalFoldASCII(name, "BEGIN") || equalFoldASCII(name, "END") {
			if equalFoldASCII(bytes.TrimSpace(line[end+1:]), "VTIMEZONE") {
				inTimezone = equalFoldASCII(name, "BEGIN")
				continue
			}
		}
		if inTimezone {
			continue
		}
		switch {
		case equalFoldASCII(name, "RRULE"), equalFoldASCII(name, "RDATE"), equalFoldASCII(name, "EXRULE"), equalFoldASCII(name, "RECURRENCE-ID"):
			return false
		case equalFoldASCII(name, "BEGIN"):
			if equalFoldASCII(bytes.TrimSpace(line[end+1:]), "VALARM") {
				return false
			}
		case equalFoldASCII(name, "DTSTART"), equalFoldASCII(name, "DTEND"):
			colon := bytes.LastIndexByte(line, ':')
			params := bytes.ToUpper(line[end:max(colon, end)])
			value := bytes.TrimSpace(line[colon+1:])
			if bytes.Contains(params, []byte("VALUE=DATE")) && !bytes.Contains(params, []byte("VALUE=DATE-TIME")) {
				return false
			}
			if !bytes.Contains(params, []byte("TZID=")) && !bytes.HasSuffix(value, []byte("Z")) && !bytes.HasSuffix(value, []byte("z")) {
				return false
			}
		}
	}
	return true
}

func equalFoldASCII(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}

// quickObjectProps builds a report response's properties directly when only
// getetag and calendar-data are asked for (what calendar-query and
// calendar-multiget ask in practice), instead of the full property set of
// objectProps; ok is false for any other request.
func (s *Server) quickObjectProps(o storage.Object, rp reportProps) (found []dav.PropValue, ok bool) {
	for _, n := range rp.names {
		switch n {
		case dav.NameGetETag:
			found = append(found, dav.PropValue{Name: n, Inner: dav.XMLEscape(dav.QuoteETag(o.ETag))})
		case nameCalendarData:
			if rp.calendarData == nil {
				return nil, false
			}
			v, err := rp.calendarData.render(o, rp.floating)
			if err != nil {
				return nil, false // objectResponse reports it
			}
			found = append(found, dav.PropValue{Name: n, Inner: dav.XMLEscape(v)})
		default:
			return nil, false
		}
	}
	return found, true
}
