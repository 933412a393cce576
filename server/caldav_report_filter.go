package server

import (
	"encoding/xml"
	"strings"
	"time"

	"github.com/pimvault/pimvault/calendar"
	"github.com/pimvault/pimvault/server/internal/dav"
)

// Bounds on a filter beyond the XML body limits.
const (
	maxFilterNodes = 256
	maxTextMatch   = 4096
)

func badFilter(format string, args ...any) error {
	return dav.Forbidden(dav.NSCalDAV, "valid-filter", format, args...)
}

// parseUTC reads a date-time with UTC time as time-range attributes must be.
func parseUTC(what, v string) (time.Time, error) {
	t, err := time.Parse(icalUTC, strings.TrimSpace(v))
	if err != nil {
		return time.Time{}, badFilter("%s %q is not a UTC date-time like 20060102T150405Z", what, v)
	}
	return t, nil
}

// decodeTimeRange converts a time-range; at least one bound is required, and
// both when need is set (expand, limit-recurrence-set, free-busy).
func decodeTimeRange(x *timeRangeXML, what string, needBoth bool) (*calendar.TimeRange, error) {
	if x == nil {
		return nil, nil
	}
	var tr calendar.TimeRange
	var err error
	if x.Start == "" && x.End == "" {
		return nil, badFilter("%s needs a start or an end", what)
	}
	if needBoth && (x.Start == "" || x.End == "") {
		return nil, badFilter("%s needs both start and end", what)
	}
	if x.Start != "" {
		if tr.Start, err = parseUTC(what+" start", x.Start); err != nil {
			return nil, err
		}
	}
	if x.End != "" {
		if tr.End, err = parseUTC(what+" end", x.End); err != nil {
			return nil, err
		}
	}
	if !tr.Start.IsZero() && !tr.End.IsZero() && !tr.Start.Before(tr.End) {
		return nil, badFilter("%s ends before it starts", what)
	}
	return &tr, nil
}

type filterDecoder struct{ nodes int }

func (d *filterDecoder) count() error {
	d.nodes++
	if d.nodes > maxFilterNodes {
		return badFilter("filter has more than %d elements", maxFilterNodes)
	}
	return nil
}

func (d *filterDecoder) textMatch(xs []calTextMatchXML, where string) (*calendar.TextMatch, error) {
	switch len(xs) {
	case 0:
		return nil, nil
	case 1:
	default:
		return nil, badFilter("%s has more than one text-match", where)
	}
	x := xs[0]
	if len(x.Text) > maxTextMatch {
		return nil, badFilter("text-match over %d bytes", maxTextMatch)
	}
	tm := &calendar.TextMatch{Text: x.Text, Collation: x.Collation, MatchType: x.MatchType}
	switch x.Negate {
	case "", "no":
	case "yes":
		tm.Negate = true
	default:
		return nil, badFilter("negate-condition must be yes or no")
	}
	return tm, nil
}

func (d *filterDecoder) comp(x compFilterXML) (calendar.CompFilter, error) {
	f := calendar.CompFilter{Name: strings.ToUpper(x.Name), IsNotDefined: x.IsNotDefined != nil}
	if err := d.count(); err != nil {
		return f, err
	}
	if x.Name == "" {
		return f, badFilter("comp-filter without a name")
	}
	if len(x.TextMatches) > 0 {
		return f, badFilter("text-match is not allowed directly in comp-filter %s", x.Name)
	}
	if f.IsNotDefined && (x.TimeRange != nil || len(x.PropFilters)+len(x.CompFilters) > 0) {
		return f, badFilter("comp-filter %s: is-not-defined cannot be combined with other tests", x.Name)
	}
	var err error
	if f.TimeRange, err = decodeTimeRange(x.TimeRange, "time-range", false); err != nil {
		return f, err
	}
	for _, px := range x.PropFilters {
		if err := d.count(); err != nil {
			return f, err
		}
		if px.Name == "" {
			return f, badFilter("prop-filter without a name")
		}
		pf := calendar.PropFilter{Name: strings.ToUpper(px.Name), IsNotDefined: px.IsNotDefined != nil}
		if pf.TimeRange, err = decodeTimeRange(px.TimeRange, "time-range", false); err != nil {
			return f, err
		}
		if pf.TextMatch, err = d.textMatch(px.TextMatches, "prop-filter "+px.Name); err != nil {
			return f, err
		}
		if pf.IsNotDefined && (pf.TimeRange != nil || pf.TextMatch != nil || len(px.ParamFilters) > 0) {
			return f, badFilter("prop-filter %s: is-not-defined cannot be combined with other tests", px.Name)
		}
		if pf.TimeRange != nil && pf.TextMatch != nil {
			return f, badFilter("prop-filter %s: time-range and text-match are exclusive", px.Name)
		}
		for _, qx := range px.ParamFilters {
			if err := d.count(); err != nil {
				return f, err
			}
			if qx.Name == "" {
				return f, badFilter("param-filter without a name")
			}
			pr := calendar.ParamFilter{Name: strings.ToUpper(qx.Name), IsNotDefined: qx.IsNotDefined != nil}
			if pr.TextMatch, err = d.textMatch(qx.TextMatches, "param-filter "+qx.Name); err != nil {
				return f, err
			}
			if pr.IsNotDefined && pr.TextMatch != nil {
				return f, badFilter("param-filter %s: is-not-defined cannot be combined with text-match", qx.Name)
			}
			pf.ParamFilters = append(pf.ParamFilters, pr)
		}
		f.PropFilters = append(f.PropFilters, pf)
	}
	for _, cx := range x.CompFilters {
		c, err := d.comp(cx)
		if err != nil {
			return f, err
		}
		f.CompFilters = append(f.CompFilters, c)
	}
	return f, nil
}

// decodeFilter turns a CALDAV:filter into a validated calendar.CompFilter.
func decodeFilter(x *filterXML) (calendar.CompFilter, error) {
	if x == nil {
		return calendar.CompFilter{}, badFilter("calendar-query needs a filter")
	}
	if len(x.CompFilters) != 1 {
		return calendar.CompFilter{}, badFilter("filter must hold exactly one comp-filter, not %d", len(x.CompFilters))
	}
	var d filterDecoder
	f, err := d.comp(x.CompFilters[0])
	if err != nil {
		return f, err
	}
	if f.Name != "VCALENDAR" {
		return f, badFilter("the top comp-filter must name VCALENDAR, not %s", f.Name)
	}
	if err := f.Validate(); err != nil {
		return f, err
	}
	return f, nil
}

// parseCalendarQuery decodes a calendar-query body (already checked for size,
// depth and well-formedness by readXMLBody).
func parseCalendarQuery(body []byte) (*calendarQueryXML, calendar.CompFilter, error) {
	var q calendarQueryXML
	if err := xml.Unmarshal(body, &q); err != nil {
		return nil, calendar.CompFilter{}, dav.BadRequest("calendar-query: %v", err)
	}
	f, err := decodeFilter(q.Filter)
	if err != nil {
		return nil, f, err
	}
	if q.Prop != nil && q.Prop.CalendarData != nil {
		if _, err := q.Prop.CalendarData.decode(); err != nil {
			return nil, f, err
		}
	}
	return &q, f, nil
}

// indexRange returns the time range that every object matching f must
// overlap, from a time-range on a VEVENT, VTODO or VJOURNAL comp-filter
// directly under VCALENDAR; ok is false when the filter has none.
func indexRange(f calendar.CompFilter) (tr calendar.TimeRange, ok bool) {
	for _, c := range f.CompFilters {
		switch c.Name {
		case "VEVENT", "VTODO", "VJOURNAL":
			if c.TimeRange != nil && !c.IsNotDefined {
				return *c.TimeRange, true
			}
		}
	}
	return tr, false
}

// componentOf returns the component type every matching object must be, from
// a comp-filter under VCALENDAR, or "".
func componentOf(f calendar.CompFilter) string {
	for _, c := range f.CompFilters {
		switch c.Name {
		case "VEVENT", "VTODO", "VJOURNAL", "VFREEBUSY":
			if !c.IsNotDefined {
				return c.Name
			}
		}
	}
	return ""
}
