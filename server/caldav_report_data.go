package server

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"time"

	"github.com/emersion/go-ical"

	"github.com/pimvault/pimvault/calendar"
	"github.com/pimvault/pimvault/server/internal/dav"
	"github.com/pimvault/pimvault/storage"
)

// calendarDataReq is a decoded, checked calendar-data request.
type calendarDataReq struct {
	comp    *compSelXML
	expand  *calendar.TimeRange
	limit   *calendar.TimeRange
	limitFB *calendar.TimeRange
	cache   *calendar.Cache // parsed objects to expand from; nil: decode each body
	ctx     context.Context // the request's: expansion stops when it ends; nil: none
}

func (x *calendarDataXML) decode() (*calendarDataReq, error) {
	if x.ContentType != "" && x.ContentType != "text/calendar" || x.Version != "" && x.Version != "2.0" {
		return nil, dav.Forbidden(dav.NSCalDAV, "supported-calendar-data", "calendar-data %s version %s is not supported (text/calendar 2.0 is)", x.ContentType, x.Version)
	}
	req := &calendarDataReq{comp: x.Comp}
	if x.Comp != nil && x.Comp.empty() {
		req.comp = nil // <comp name=""/> or <comp name="VCALENDAR"/>: the whole object, as clients mean it
	}
	var err error
	if req.expand, err = decodeTimeRange(x.Expand, "expand", true); err != nil {
		return nil, err
	}
	if req.limit, err = decodeTimeRange(x.Limit, "limit-recurrence-set", true); err != nil {
		return nil, err
	}
	if req.limitFB, err = decodeTimeRange(x.LimitFB, "limit-freebusy-set", true); err != nil {
		return nil, err
	}
	if req.expand != nil && req.limit != nil {
		return nil, dav.BadRequest("expand and limit-recurrence-set cannot both be asked for")
	}
	if req.comp != nil && !strings.EqualFold(x.Comp.Name, "VCALENDAR") {
		return nil, dav.BadRequest("calendar-data comp must name VCALENDAR at the top, not %q", x.Comp.Name)
	}
	return req, nil
}

// plain reports whether the stored body can be returned as is.
func (c *calendarDataReq) plain() bool {
	return c == nil || c.comp == nil && c.expand == nil && c.limit == nil && c.limitFB == nil
}

// render returns the calendar-data for a stored object: its body, or the
// body reshaped by expand, limit-recurrence-set, limit-freebusy-set and
// comp/prop selection.
func (c *calendarDataReq) render(o storage.Object, floating *time.Location) (string, error) {
	if c.plain() || c.expandsToItself(o) {
		return string(o.Body), nil
	}
	ctx := c.ctx
	if ctx == nil {
		ctx = context.Background()
	}
	if c.expand != nil && c.limitFB == nil && c.cache != nil {
		// Expand and selectComponent only read the cached object. An object
		// Parse refuses now is expanded from its decoded text below.
		if obj, err := c.cache.Object(o.ETag, o.Body, floating); err == nil {
			if c.comp == nil {
				return obj.ExpandTextContext(ctx, *c.expand, floating, encodeICal)
			}
			cal, err := obj.ExpandContext(ctx, *c.expand, floating)
			if err != nil {
				return "", err
			}
			if c.comp != nil {
				cal = &ical.Calendar{Component: selectComponent(cal.Component, c.comp)}
			}
			return encodeICal(cal), nil
		}
	}
	cal, err := ical.NewDecoder(bytes.NewReader(o.Body)).Decode()
	if err != nil {
		return "", err
	}
	switch {
	case c.expand != nil:
		if cal, err = calendar.ExpandContext(ctx, cal, *c.expand, floating); err != nil {
			return "", err
		}
	case c.limit != nil:
		if cal, err = calendar.LimitRecurrenceSet(cal, *c.limit, floating); err != nil {
			return "", err
		}
	}
	if c.limitFB != nil {
		limitFreeBusy(cal.Component, *c.limitFB)
	}
	if c.comp != nil {
		cal = &ical.Calendar{Component: selectComponent(cal.Component, c.comp)}
	}
	return encodeICal(cal), nil
}

// empty reports whether a comp selects nothing in particular.
func (sel *compSelXML) empty() bool {
	return sel.AllProp == nil && len(sel.Props) == 0 && sel.AllComp == nil && len(sel.Comps) == 0
}

// expandsToItself reports whether expanding o gives o's body back: a single
// event inside the expand range whose times are all in UTC (expand turns
// times into UTC and drops VTIMEZONEs, RFC 4791 §9.6.5).
func (c *calendarDataReq) expandsToItself(o storage.Object) bool {
	if c.expand == nil || c.comp != nil || c.limitFB != nil || bodyFacts(o)&factTZID != 0 {
		return false
	}
	match, decided := spanMatch(o, *c.expand)
	return decided && match
}

// containsFoldASCII reports whether b contains upper, an upper-case ASCII
// string, in any case (bytes.Contains of bytes.ToUpper without the copy).
func containsFoldASCII(b []byte, upper string) bool {
	first := upper[0] | 0x20 // lower case
	for i := 0; i+len(upper) <= len(b); i++ {
		if b[i]|0x20 == first && equalFoldASCII(b[i:i+len(upper)], upper) {
			return true
		}
	}
	return false
}

// selectComponent returns a copy of comp with only the properties and
// subcomponents sel asks for (RFC 4791 §9.6.1).
func selectComponent(comp *ical.Component, sel *compSelXML) *ical.Component {
	if sel.empty() {
		return comp
	}
	out := &ical.Component{Name: comp.Name, Props: ical.Props{}}
	if sel.AllProp != nil {
		for n, ps := range comp.Props {
			out.Props[n] = ps
		}
	} else {
		for _, ps := range sel.Props {
			name := strings.ToUpper(ps.Name)
			props, ok := comp.Props[name]
			if !ok {
				continue
			}
			if ps.NoValue == "yes" {
				stripped := make([]ical.Prop, len(props))
				for i, p := range props {
					stripped[i] = ical.Prop{Name: p.Name, Params: p.Params}
				}
				props = stripped
			}
			out.Props[name] = props
		}
	}
	for _, child := range comp.Children {
		if sel.AllComp != nil {
			out.Children = append(out.Children, child)
			continue
		}
		for i := range sel.Comps {
			if strings.EqualFold(sel.Comps[i].Name, child.Name) {
				out.Children = append(out.Children, selectComponent(child, &sel.Comps[i]))
				break
			}
		}
	}
	return out
}

// limitFreeBusy keeps only the FREEBUSY periods of VFREEBUSY components that
// overlap tr (RFC 4791 §9.6.7).
func limitFreeBusy(comp *ical.Component, tr calendar.TimeRange) {
	for _, child := range comp.Children {
		if child.Name != ical.CompFreeBusy {
			continue
		}
		var kept []ical.Prop
		for _, p := range child.Props[ical.PropFreeBusy] {
			var periods []string
			for _, period := range strings.Split(p.Value, ",") {
				if periodOverlaps(period, tr) {
					periods = append(periods, period)
				}
			}
			if len(periods) > 0 {
				p.Value = strings.Join(periods, ",")
				kept = append(kept, p)
			}
		}
		if len(kept) == 0 {
			delete(child.Props, ical.PropFreeBusy)
		} else {
			child.Props[ical.PropFreeBusy] = kept
		}
	}
}

var errBadPeriod = errors.New("bad period")

// periodOverlaps reports whether a UTC period "start/end" or "start/duration"
// overlaps tr; a period that does not parse is kept.
func periodOverlaps(period string, tr calendar.TimeRange) bool {
	start, end, err := parsePeriod(period)
	if err != nil {
		return true
	}
	return (tr.End.IsZero() || start.Before(tr.End)) && (tr.Start.IsZero() || end.After(tr.Start))
}

func parsePeriod(period string) (time.Time, time.Time, error) {
	a, b, ok := strings.Cut(strings.TrimSpace(period), "/")
	if !ok {
		return time.Time{}, time.Time{}, errBadPeriod
	}
	start, err := time.Parse(icalUTC, a)
	if err != nil {
		return start, start, err
	}
	if end, err := time.Parse(icalUTC, b); err == nil {
		return start, end, nil
	}
	p := ical.NewProp("DURATION")
	p.Value = b
	d, err := p.Duration()
	if err != nil {
		return start, start, err
	}
	return start, start.Add(d), nil
}
