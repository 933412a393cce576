package calendar

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/emersion/go-ical"
)

// Expand returns a copy of cal with every VEVENT, VTODO, VJOURNAL and VFREEBUSY replaced
// by its instances that overlap tr (by the §9.9 rules), each a separate component with no
// RRULE, RDATE or EXDATE, overrides applied, and RECURRENCE-ID set on every instance of a
// recurring component (RFC 4791 §9.6.5). Times with a TZID are converted to UTC and the
// VTIMEZONEs are dropped; DATE values stay DATE and floating times stay floating. The
// result has no components when nothing overlaps tr. It shares unchanged property slices
// and alarms with cal (cal is never modified): treat both as read-only. A component with
// more than MaxInstances instances in tr, or more than MaxWork recurrence work, is
// truncated there (its first instances, then its overrides in tr); the others are whole.
// Errors wrap ErrInvalidData.
func Expand(cal *ical.Calendar, tr TimeRange, floating *time.Location) (*ical.Calendar, error) {
	return ExpandContext(context.Background(), cal, tr, floating)
}

// ExpandContext is Expand, stopping with ctx's error when ctx ends.
func ExpandContext(ctx context.Context, cal *ical.Calendar, tr TimeRange, floating *time.Location) (*ical.Calendar, error) {
	z, ss, err := prepare(cal, floating)
	if err != nil {
		return nil, err
	}
	return expand(ctx, cal, z, ss, tr)
}

func expand(ctx context.Context, cal *ical.Calendar, z *zones, ss []*series, tr TimeRange) (*ical.Calendar, error) {
	out := shallowCalendar(cal)
	for _, s := range ss {
		name := seriesName(s)
		lo, hi, err := s.window(z, &CompFilter{Name: name, TimeRange: &tr})
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrInvalidData, err)
		}
		var insts []*ical.Component
		var starts []time.Time
		err = s.each(ctx, lo, hi, func(inst *instance) (bool, error) {
			if !instanceOverlaps(inst, tr, z) {
				return false, nil
			}
			c, err := instanceComponent(inst, z)
			if err != nil {
				return true, err
			}
			insts, starts = append(insts, c), append(starts, inst.start)
			return false, nil
		})
		if err != nil && !errors.Is(err, ErrTooManyInstances) { // truncated: keep what came
			return nil, err
		}
		idx := make([]int, len(insts))
		for i := range idx {
			idx[i] = i
		}
		sort.SliceStable(idx, func(a, b int) bool { return starts[idx[a]].Before(starts[idx[b]]) })
		for _, i := range idx {
			out.Children = append(out.Children, insts[i])
		}
	}
	for _, c := range cal.Children {
		if c.Name != ical.CompTimezone && !timed(c.Name) {
			out.Children = append(out.Children, cloneComponent(c))
		}
	}
	return out, nil
}

// LimitRecurrenceSet returns a copy of cal with every master and non-recurring component,
// and only the overrides that overlap tr or whose RANGE=THISANDFUTURE reaches into it
// (RFC 4791 §9.6.6). VTIMEZONEs are kept. The components are cal's own, not copies.
func LimitRecurrenceSet(cal *ical.Calendar, tr TimeRange, floating *time.Location) (*ical.Calendar, error) {
	z, ss, err := prepare(cal, floating)
	if err != nil {
		return nil, err
	}
	drop := map[*ical.Component]bool{}
	for _, s := range ss {
		for _, o := range s.overrides {
			inst := s.single(o.comp, o.t)
			inst.recurring, inst.rid = true, o.t.rid.t
			keep := instanceOverlaps(&inst, tr, z) ||
				(o.t.thisAndFuture && (tr.End.IsZero() || o.t.rid.t.Before(tr.End)))
			if !keep {
				drop[o.comp] = true
			}
		}
	}
	out := shallowCalendar(cal)
	for _, c := range cal.Children {
		if !drop[c] {
			out.Children = append(out.Children, c)
		}
	}
	return out, nil
}

func prepare(cal *ical.Calendar, floating *time.Location) (*zones, []*series, error) {
	if cal == nil || cal.Component == nil {
		return nil, nil, fmt.Errorf("%w: no calendar", ErrInvalidData)
	}
	z, err := newZones(cal, floating)
	if err != nil {
		return nil, nil, err
	}
	ss, err := buildSeries(z, cal)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrInvalidData, err)
	}
	return z, ss, nil
}

func seriesName(s *series) string {
	if s.master != nil {
		return s.master.Name
	}
	return s.overrides[0].comp.Name
}

// instanceComponent renders one instance as a component: the master's or override's
// properties, its own DTSTART, DTEND/DUE and RECURRENCE-ID, no recurrence properties,
// and times with a TZID in UTC.
func instanceComponent(inst *instance, z *zones) (*ical.Component, error) {
	c := &ical.Component{Name: inst.comp.Name, Props: make(ical.Props, len(inst.comp.Props)), Children: inst.comp.Children}
	for name, ps := range inst.comp.Props {
		c.Props[name] = ps // shared; replaced, never written, below
	}
	for _, name := range []string{ical.PropRecurrenceRule, ical.PropRecurrenceDates, ical.PropExceptionDates, "EXRULE"} {
		delete(c.Props, name)
	}
	t := inst.t
	if inst.recurring {
		if t.hasStart && c.Props.Get(ical.PropDateTimeStart) != nil {
			setTime(c, ical.PropDateTimeStart, inst.start, t.start)
		}
		endName := ical.PropDateTimeEnd
		if c.Name == ical.CompToDo {
			endName = ical.PropDue
		}
		if c.Props.Get(endName) != nil && inst.hasEnd {
			setTime(c, endName, inst.end, t.end)
		}
		kind := t.start
		if t.hasRID {
			kind = t.rid
		}
		setTime(c, ical.PropRecurrenceID, inst.rid, kind)
	}
	if err := utcTimes(c, z); err != nil {
		return nil, err
	}
	return c, nil
}

// setTime sets a DATE or DATE-TIME property to t, in the kind of the original value.
func setTime(c *ical.Component, name string, t time.Time, kind tval) {
	p := ical.NewProp(name)
	switch {
	case kind.date:
		p.Params.Set(ical.ParamValue, "DATE")
		p.Value = wallOf(t).Format("20060102")
	case kind.floating:
		p.Value = wallOf(t).Format("20060102T150405")
	default:
		p.Value = t.UTC().Format("20060102T150405Z")
	}
	c.Props.Set(p)
}

// utcTimes rewrites every property with a TZID (in c and its alarms) in UTC. Property
// slices and alarms shared with the input are replaced by copies, never written.
func utcTimes(c *ical.Component, z *zones) error {
	for name, shared := range c.Props {
		if !hasTZID(shared) {
			continue
		}
		props := make([]ical.Prop, len(shared))
		copy(props, shared)
		c.Props[name] = props
		for i := range props {
			p := &props[i]
			if p.Params.Get(ical.PropTimezoneID) == "" {
				continue
			}
			params := make(ical.Params, len(p.Params))
			for k, v := range p.Params {
				params[k] = v
			}
			p.Params = params
			vals, periods, err := z.propTimes(p)
			if err != nil {
				return fmt.Errorf("%w: %s: %v", ErrInvalidData, name, err)
			}
			parts := make([]string, len(vals))
			for j, v := range vals {
				switch {
				case v.date:
					parts[j] = wallOf(v.t).Format("20060102")
				case periods[j] != nil:
					parts[j] = v.t.UTC().Format("20060102T150405Z") + "/" + periods[j].add(v.t).UTC().Format("20060102T150405Z")
				default:
					parts[j] = v.t.UTC().Format("20060102T150405Z")
				}
			}
			p.Params.Del(ical.PropTimezoneID)
			p.Value = strings.Join(parts, ",")
		}
	}
	copied := false
	for i, ch := range c.Children {
		if !treeHasTZID(ch) {
			continue
		}
		if !copied {
			c.Children, copied = append([]*ical.Component(nil), c.Children...), true
		}
		cp := cloneComponent(ch)
		if err := utcTimes(cp, z); err != nil {
			return err
		}
		c.Children[i] = cp
	}
	return nil
}

func hasTZID(ps []ical.Prop) bool {
	for i := range ps {
		if _, ok := ps[i].Params[ical.PropTimezoneID]; ok {
			return true
		}
	}
	return false
}

func treeHasTZID(c *ical.Component) bool {
	for _, ps := range c.Props {
		if hasTZID(ps) {
			return true
		}
	}
	for _, ch := range c.Children {
		if treeHasTZID(ch) {
			return true
		}
	}
	return false
}

// shallowCalendar copies the VCALENDAR properties of cal, without components.
func shallowCalendar(cal *ical.Calendar) *ical.Calendar {
	return &ical.Calendar{Component: &ical.Component{Name: ical.CompCalendar, Props: cloneProps(cal.Props)}}
}

func cloneComponent(c *ical.Component) *ical.Component {
	out := &ical.Component{Name: c.Name, Props: cloneProps(c.Props)}
	for _, ch := range c.Children {
		out.Children = append(out.Children, cloneComponent(ch))
	}
	return out
}

func cloneProps(props ical.Props) ical.Props {
	out := make(ical.Props, len(props))
	for name, ps := range props {
		cp := make([]ical.Prop, len(ps))
		for i, p := range ps {
			cp[i] = ical.Prop{Name: p.Name, Value: p.Value, Params: make(ical.Params, len(p.Params))}
			for k, v := range p.Params {
				cp[i].Params[k] = append([]string(nil), v...)
			}
		}
		out[name] = cp
	}
	return out
}
