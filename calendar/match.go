package calendar

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/emersion/go-ical"
)

// instancesMatch evaluates a comp-filter with time ranges on the VEVENT, VTODO, VJOURNAL
// or VFREEBUSY components of the calendar: it matches when one instance satisfies the
// time range, the prop-filters and the nested comp-filters together.
func (m *matcher) instancesMatch(name string, f *CompFilter) (bool, error) {
	z, err := m.zones()
	if err != nil {
		return false, err
	}
	if m.series == nil {
		if m.series, err = buildSeries(z, m.cal); err != nil {
			return false, fmt.Errorf("%w: %v", ErrInvalidData, err)
		}
	}
	for _, s := range m.series {
		if !s.is(name) {
			continue
		}
		var lo, hi time.Time
		if s.recurring() {
			if lo, hi, err = s.window(z, f); err != nil {
				return false, err
			}
		}
		found := false
		err = s.each(m.ctx, lo, hi, func(inst *instance) (bool, error) {
			if f.TimeRange != nil && !instanceOverlaps(inst, *f.TimeRange, z) {
				return false, nil
			}
			ok, err := m.propsMatch(inst.comp, f.PropFilters, inst)
			if !ok || err != nil {
				return err != nil, err
			}
			for i := range f.CompFilters {
				ok, err := m.childMatches(inst.comp, &f.CompFilters[i], inst)
				if !ok || err != nil {
					return err != nil, err
				}
			}
			found = true
			return true, nil
		})
		if errors.Is(err, ErrTooManyInstances) {
			return true, nil // undecided within the limits: a candidate (see Match)
		}
		if found || err != nil {
			return found, err
		}
	}
	return false, nil
}

// alarmMatches evaluates a VALARM comp-filter on one alarm of an instance (§9.9: any
// trigger, with its repetitions, in the range).
func (m *matcher) alarmMatches(a *ical.Component, f *CompFilter, inst *instance) (bool, error) {
	if f.TimeRange != nil {
		z, err := m.zones()
		if err != nil {
			return false, err
		}
		al, err := z.alarmOf(a)
		if err != nil || !alarmOverlaps(al, inst, *f.TimeRange) {
			return false, nil
		}
	}
	g := *f
	g.TimeRange = nil
	return m.compMatches(a, &g, inst)
}

func (s *series) is(name string) bool {
	if s.master != nil {
		return s.master.Name == name
	}
	return len(s.overrides) > 0 && s.overrides[0].comp.Name == name
}

// window is the range of recurrence values whose instances can satisfy the time ranges
// of f and its nested comp-filters: the union of those ranges, widened by the longest
// instance, the largest THISANDFUTURE shift and the farthest alarm trigger. Zero bounds
// are open; an absolute alarm trigger opens the start.
func (s *series) window(z *zones, f *CompFilter) (lo, hi time.Time, err error) {
	var ranges []TimeRange
	var collect func(f *CompFilter)
	collect = func(f *CompFilter) {
		if f.TimeRange != nil {
			ranges = append(ranges, *f.TimeRange)
		}
		for i := range f.CompFilters {
			collect(&f.CompFilters[i])
		}
	}
	collect(f)
	openLo, openHi := false, false
	for i, r := range ranges {
		if r.Start.IsZero() {
			openLo = true
		} else if i == 0 || r.Start.Before(lo) {
			lo = r.Start
		}
		if r.End.IsZero() {
			openHi = true
		} else if i == 0 || r.End.After(hi) {
			hi = r.End
		}
	}
	var comps []*ical.Component
	var longest, shift time.Duration
	if s.master != nil {
		comps = append(comps, s.master)
		longest = s.mt.length()
		for _, r := range s.rdates {
			if r.period != nil {
				longest = max(longest, r.period.length())
			}
		}
	}
	for _, o := range s.overrides {
		comps = append(comps, o.comp)
		longest = max(longest, o.t.length())
		if o.t.thisAndFuture && o.t.hasStart {
			d := o.t.start.t.Sub(o.t.rid.t)
			shift = max(shift, d, -d)
		}
	}
	var alarmSpan time.Duration
	alarmRanges := len(ranges) > 1 || f.TimeRange == nil
	for _, c := range comps {
		if !alarmRanges {
			break // only the component's own range: alarms do not widen it
		}
		als, err := z.alarms(c)
		if err != nil {
			return time.Time{}, time.Time{}, err
		}
		for _, al := range als {
			if al.absolute {
				openLo = true
				continue
			}
			alarmSpan = max(alarmSpan, al.offset.length()+time.Duration(al.repeat)*al.interval.length())
		}
	}
	if openLo {
		lo = time.Time{}
	} else {
		lo = lo.Add(-(longest + shift + alarmSpan + time.Second))
	}
	if openHi {
		hi = time.Time{}
	} else {
		hi = hi.Add(shift + alarmSpan + time.Second)
	}
	return lo, hi, nil
}

// length bounds the distance from a DTSTART to the end a component's instances have.
func (t *timing) length() time.Duration {
	var d time.Duration
	if t.start.date {
		d = 25 * time.Hour // a DATE DTSTART alone lasts a day (25 hours on DST days)
	}
	switch {
	case t.hasEnd && t.hasStart && t.start.date:
		d = max(d, time.Duration(daysBetween(t.start.t, t.end.t))*25*time.Hour)
	case t.hasEnd && t.hasStart:
		d = max(d, t.end.t.Sub(t.start.t))
	case t.hasDur:
		d = max(d, t.dur.length())
	}
	return d
}

// length bounds a duration in exact time: a nominal day may last 25 hours.
func (d dur) length() time.Duration {
	return time.Duration(d.days)*25*time.Hour + time.Duration(d.secs)*time.Second
}

// propsMatch evaluates prop-filters on one component (RFC 4791 §9.7.2): all must match.
func (m *matcher) propsMatch(c *ical.Component, pfs []PropFilter, inst *instance) (bool, error) {
	for i := range pfs {
		ok, err := m.propMatches(c, &pfs[i], inst)
		if !ok || err != nil {
			return false, err
		}
	}
	return true, nil
}

func (m *matcher) propMatches(c *ical.Component, pf *PropFilter, inst *instance) (bool, error) {
	name := strings.ToUpper(pf.Name)
	props := c.Props.Values(name)
	if pf.IsNotDefined || len(props) == 0 {
		return pf.IsNotDefined && len(props) == 0, nil
	}
	for i := range props {
		p := &props[i]
		if pf.TimeRange != nil {
			ok, err := m.propInRange(p, *pf.TimeRange, inst)
			if err != nil {
				return false, err
			}
			if !ok {
				continue
			}
		}
		if pf.TextMatch != nil && !pf.TextMatch.matchesProp(p) {
			continue
		}
		if paramsMatch(p, pf.ParamFilters) {
			return true, nil
		}
	}
	return false, nil
}

// propInRange applies a time-range to a DATE or DATE-TIME property: one of its values
// lies in the range. DTSTART, DTEND and DUE of a recurring instance are the instance's.
func (m *matcher) propInRange(p *ical.Prop, r TimeRange, inst *instance) (bool, error) {
	if inst != nil && inst.recurring {
		switch p.Name {
		case ical.PropDateTimeStart:
			return inst.hasStart && r.point(inst.start), nil
		case ical.PropDateTimeEnd, ical.PropDue:
			return inst.hasEnd && r.point(inst.end), nil
		}
	}
	z, err := m.zones()
	if err != nil {
		return false, err
	}
	vals, _, err := z.propTimes(p)
	if err != nil {
		return false, nil // not a time: a time-range cannot match it
	}
	for _, v := range vals {
		if r.point(v.t) {
			return true, nil
		}
	}
	return false, nil
}

// paramsMatch evaluates param-filters on one property (RFC 4791 §9.7.3).
func paramsMatch(p *ical.Prop, pfs []ParamFilter) bool {
	for _, pf := range pfs {
		vals := p.Params.Values(pf.Name)
		if pf.IsNotDefined || len(vals) == 0 {
			if pf.IsNotDefined && len(vals) == 0 {
				continue
			}
			return false
		}
		if pf.TextMatch == nil {
			continue
		}
		if !pf.TextMatch.matches(vals...) {
			return false
		}
	}
	return true
}
