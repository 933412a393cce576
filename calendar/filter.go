package calendar

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/emersion/go-ical"
)

// maxFilterNodes bounds the size of a filter tree.
const maxFilterNodes = 1000

// Validate checks a filter tree (RFC 4791 §9.7): the top names VCALENDAR, names are
// non-empty, is-not-defined stands alone, time ranges have a bound and Start < End and sit
// only on components that have times, text-match uses a known collation and match type,
// and the tree is at most MaxDepth deep. Errors wrap ErrBadFilter or
// ErrUnsupportedCollation.
func (f CompFilter) Validate() error {
	if !strings.EqualFold(f.Name, ical.CompCalendar) {
		return fmt.Errorf("%w: the top comp-filter must name VCALENDAR, not %q", ErrBadFilter, f.Name)
	}
	nodes := 0
	return f.validate(1, &nodes)
}

func (f *CompFilter) validate(depth int, nodes *int) error {
	if *nodes++; *nodes > maxFilterNodes {
		return fmt.Errorf("%w: more than %d filter elements", ErrBadFilter, maxFilterNodes)
	}
	if depth > MaxDepth {
		return fmt.Errorf("%w: comp-filters nested deeper than %d", ErrBadFilter, MaxDepth)
	}
	if f.Name == "" {
		return fmt.Errorf("%w: comp-filter without a name", ErrBadFilter)
	}
	if f.IsNotDefined && (f.TimeRange != nil || len(f.PropFilters) > 0 || len(f.CompFilters) > 0) {
		return fmt.Errorf("%w: comp-filter %s: is-not-defined with other conditions", ErrBadFilter, f.Name)
	}
	if f.TimeRange != nil {
		switch strings.ToUpper(f.Name) {
		case ical.CompEvent, ical.CompToDo, ical.CompJournal, ical.CompFreeBusy, ical.CompAlarm:
		default:
			return fmt.Errorf("%w: time-range on %s", ErrBadFilter, f.Name)
		}
		if err := f.TimeRange.validate(); err != nil {
			return fmt.Errorf("comp-filter %s: %w", f.Name, err)
		}
	}
	for i := range f.PropFilters {
		if err := f.PropFilters[i].validate(nodes); err != nil {
			return fmt.Errorf("comp-filter %s: %w", f.Name, err)
		}
	}
	for i := range f.CompFilters {
		if err := f.CompFilters[i].validate(depth+1, nodes); err != nil {
			return err
		}
	}
	return nil
}

func (r *TimeRange) validate() error {
	if r.Start.IsZero() && r.End.IsZero() {
		return fmt.Errorf("%w: time-range without start or end", ErrBadFilter)
	}
	if !r.Start.IsZero() && !r.End.IsZero() && !r.Start.Before(r.End) {
		return fmt.Errorf("%w: time-range start %s is not before end %s", ErrBadFilter,
			r.Start.UTC().Format(time.RFC3339), r.End.UTC().Format(time.RFC3339))
	}
	return nil
}

func (p *PropFilter) validate(nodes *int) error {
	if *nodes++; *nodes > maxFilterNodes {
		return fmt.Errorf("%w: more than %d filter elements", ErrBadFilter, maxFilterNodes)
	}
	if p.Name == "" {
		return fmt.Errorf("%w: prop-filter without a name", ErrBadFilter)
	}
	if p.IsNotDefined && (p.TimeRange != nil || p.TextMatch != nil || len(p.ParamFilters) > 0) {
		return fmt.Errorf("%w: prop-filter %s: is-not-defined with other conditions", ErrBadFilter, p.Name)
	}
	if p.TimeRange != nil && p.TextMatch != nil {
		return fmt.Errorf("%w: prop-filter %s: both time-range and text-match", ErrBadFilter, p.Name)
	}
	if p.TimeRange != nil {
		if err := p.TimeRange.validate(); err != nil {
			return fmt.Errorf("prop-filter %s: %w", p.Name, err)
		}
	}
	if p.TextMatch != nil {
		if err := p.TextMatch.validate(); err != nil {
			return fmt.Errorf("prop-filter %s: %w", p.Name, err)
		}
	}
	for _, pf := range p.ParamFilters {
		if *nodes++; *nodes > maxFilterNodes {
			return fmt.Errorf("%w: more than %d filter elements", ErrBadFilter, maxFilterNodes)
		}
		if pf.Name == "" {
			return fmt.Errorf("%w: prop-filter %s: param-filter without a name", ErrBadFilter, p.Name)
		}
		if pf.IsNotDefined && pf.TextMatch != nil {
			return fmt.Errorf("%w: param-filter %s: is-not-defined with text-match", ErrBadFilter, pf.Name)
		}
		if pf.TextMatch != nil {
			if err := pf.TextMatch.validate(); err != nil {
				return fmt.Errorf("param-filter %s: %w", pf.Name, err)
			}
		}
	}
	return nil
}

// Match reports whether the object matches the filter (RFC 4791 §9.7), with the
// time-range rules of §9.9. A comp-filter on VEVENT, VTODO, VJOURNAL or VFREEBUSY matches
// when one instance satisfies all of its conditions together: its time-range, its
// prop-filters (on the master or override the instance comes from) and its nested
// comp-filters (VALARM triggers are computed for that instance). Recurrences are expanded
// only over the window the filter's time ranges need. When a component's instances in
// that window exceed MaxInstances or MaxWork before one matches, the object matches: a
// client evaluates the rule itself, and a wrong "no" would hide the event from it. Errors
// wrap ErrBadFilter, ErrUnsupportedCollation or ErrInvalidData (an object that does not
// resolve).
func Match(cal *ical.Calendar, f CompFilter, floating *time.Location) (bool, error) {
	return MatchContext(context.Background(), cal, f, floating)
}

// MatchContext is Match, stopping with ctx's error when ctx ends.
func MatchContext(ctx context.Context, cal *ical.Calendar, f CompFilter, floating *time.Location) (bool, error) {
	if err := f.Validate(); err != nil {
		return false, err
	}
	if cal == nil || cal.Component == nil {
		return false, fmt.Errorf("%w: no calendar", ErrInvalidData)
	}
	m := &matcher{ctx: ctx, cal: cal, floating: floating}
	if f.IsNotDefined {
		return false, nil
	}
	return m.compMatches(cal.Component, &f, nil)
}

// matcher evaluates one filter against one calendar, resolving zones and building
// recurrence sets only when a time range needs them.
type matcher struct {
	ctx      context.Context
	cal      *ical.Calendar
	floating *time.Location
	z        *zones
	series   []*series
}

func (m *matcher) zones() (*zones, error) {
	if m.z == nil {
		z, err := newZones(m.cal, m.floating)
		if err != nil {
			return nil, err
		}
		m.z = z
	}
	return m.z, nil
}

// compMatches evaluates f on one component without recurrence (VCALENDAR, VTIMEZONE,
// or any component when no time range is involved). inst is the instance a VALARM
// belongs to, if any.
func (m *matcher) compMatches(c *ical.Component, f *CompFilter, inst *instance) (bool, error) {
	if f.TimeRange != nil {
		return false, nil // only reached for components without times
	}
	var ok bool
	var err error
	if c == m.cal.Component {
		ok, err = m.calendarPropsMatch(f.PropFilters)
	} else {
		ok, err = m.propsMatch(c, f.PropFilters, nil)
	}
	if !ok || err != nil {
		return false, err
	}
	for i := range f.CompFilters {
		ok, err := m.childMatches(c, &f.CompFilters[i], inst)
		if !ok || err != nil {
			return false, err
		}
	}
	return true, nil
}

// calendarPropsMatch evaluates the prop-filters of the VCALENDAR comp-filter. A
// property the VCALENDAR itself does not carry (UID, SUMMARY, …) is looked up in
// its components instead, matching when one of them matches: python-caldav's
// object_by_uid and search(uid=…) put the UID prop-filter there when no component
// type is given, and RFC 4791 §9.7.2 would otherwise answer nothing at all.
func (m *matcher) calendarPropsMatch(pfs []PropFilter) (bool, error) {
	top := m.cal.Component
	for i := range pfs {
		pf := &pfs[i]
		if len(top.Props.Values(strings.ToUpper(pf.Name))) > 0 {
			if ok, err := m.propMatches(top, pf, nil); !ok || err != nil {
				return false, err
			}
			continue
		}
		// is-not-defined holds when no component has the property (each matches
		// it); any other filter when one component matches.
		found := pf.IsNotDefined
		for _, ch := range top.Children {
			if ch.Name == ical.CompTimezone {
				continue
			}
			ok, err := m.propMatches(ch, pf, nil)
			if err != nil {
				return false, err
			}
			if ok != pf.IsNotDefined {
				found = ok
				break
			}
		}
		if !found {
			return false, nil
		}
	}
	return true, nil
}

// childMatches evaluates a nested comp-filter against the children of c.
func (m *matcher) childMatches(c *ical.Component, f *CompFilter, inst *instance) (bool, error) {
	name := strings.ToUpper(f.Name)
	var kids []*ical.Component
	for _, ch := range c.Children {
		if ch.Name == name {
			kids = append(kids, ch)
		}
	}
	if f.IsNotDefined || len(kids) == 0 {
		return f.IsNotDefined && len(kids) == 0, nil
	}
	if c == m.cal.Component && timed(name) && needsInstances(f) {
		return m.instancesMatch(name, f)
	}
	for _, k := range kids {
		var ok bool
		var err error
		if name == ical.CompAlarm && inst != nil {
			ok, err = m.alarmMatches(k, f, inst)
		} else {
			ok, err = m.compMatches(k, f, inst)
		}
		if ok || err != nil {
			return ok, err
		}
	}
	return false, nil
}

func timed(name string) bool {
	switch name {
	case ical.CompEvent, ical.CompToDo, ical.CompJournal, ical.CompFreeBusy:
		return true
	}
	return false
}

// needsInstances reports whether f or a comp-filter under it has a time range.
func needsInstances(f *CompFilter) bool {
	if f.TimeRange != nil {
		return true
	}
	for i := range f.CompFilters {
		if needsInstances(&f.CompFilters[i]) {
			return true
		}
	}
	return false
}
