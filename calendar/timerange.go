package calendar

import (
	"time"

	"github.com/emersion/go-ical"
)

// The time-range rules of RFC 4791 §9.9. A zero Start or End of a TimeRange is -∞ or +∞.

func (r TimeRange) startLE(x time.Time) bool { return r.Start.IsZero() || !r.Start.After(x) }
func (r TimeRange) startLT(x time.Time) bool { return r.Start.IsZero() || r.Start.Before(x) }
func (r TimeRange) endGT(x time.Time) bool   { return r.End.IsZero() || r.End.After(x) }
func (r TimeRange) endGE(x time.Time) bool   { return r.End.IsZero() || !r.End.Before(x) }

// point reports whether an instant x lies in the range: start <= x < end.
func (r TimeRange) point(x time.Time) bool { return r.startLE(x) && r.endGT(x) }

// overlaps reports whether [s, e) overlaps the range: start < e AND end > s.
func (r TimeRange) overlaps(s, e time.Time) bool { return r.startLT(e) && r.endGT(s) }

// instanceOverlaps applies the §9.9 table of the instance's component type.
func instanceOverlaps(inst *instance, r TimeRange, z *zones) bool {
	t := inst.t
	s := inst.start
	switch t.name {
	case ical.CompEvent:
		switch {
		case !inst.hasStart:
			return false
		case inst.hasEnd && inst.end.After(s):
			// DTEND, or DURATION > 0: start < end AND end > DTSTART.
			return r.overlaps(s, inst.end)
		case inst.hasEnd || !t.start.date:
			// DURATION of 0 (or DTEND = DTSTART), or a DATE-TIME DTSTART alone.
			return r.point(s)
		default:
			// A DATE DTSTART alone lasts one day.
			return r.overlaps(s, addDays(s, 1))
		}
	case ical.CompToDo:
		due := inst.end
		switch {
		case inst.hasStart && t.hasDur:
			return r.startLE(due) && (r.endGT(s) || r.endGE(due))
		case inst.hasStart && t.hasEnd:
			return (r.startLT(due) || r.startLE(s)) && (r.endGT(s) || r.endGE(due))
		case inst.hasStart:
			return r.startLE(s) && r.endGT(s)
		case t.hasEnd:
			return r.startLT(due) && r.endGE(due)
		case t.hasCompleted && t.hasCreated:
			return (r.startLE(t.created) || r.startLE(t.completed)) && (r.endGE(t.created) || r.endGE(t.completed))
		case t.hasCompleted:
			return r.startLE(t.completed) && r.endGE(t.completed)
		case t.hasCreated:
			return r.endGT(t.created)
		default:
			return true
		}
	case ical.CompJournal:
		switch {
		case !inst.hasStart:
			return false
		case t.start.date:
			return r.overlaps(s, addDays(s, 1))
		default:
			return r.point(s)
		}
	case ical.CompFreeBusy:
		if t.hasStart && t.hasEnd {
			return r.startLE(inst.end) && r.endGT(s)
		}
		for i := range inst.comp.Props.Values(ical.PropFreeBusy) {
			ps, err := z.freeBusyPeriods(&inst.comp.Props.Values(ical.PropFreeBusy)[i])
			if err != nil {
				continue
			}
			for _, p := range ps {
				if r.overlaps(p.start, p.end) {
					return true
				}
			}
		}
		return false
	}
	return false
}

// alarmOverlaps applies the VALARM row of §9.9: any trigger (with its repetitions) of the
// alarm, for this instance, in the range.
func alarmOverlaps(al *alarm, inst *instance, r TimeRange) bool {
	ts, ok := al.triggers(inst)
	if !ok {
		return false
	}
	for _, t := range ts {
		if r.point(t) {
			return true
		}
	}
	return false
}

// instanceBounds is a half-open UTC interval containing every range point at which
// instanceOverlaps can be true (padded by a second for the inclusive rules). ok=false
// means the instance matches unbounded ranges only in ways no interval describes (a VTODO
// with no times at all): the object must always be a candidate.
func instanceBounds(inst *instance, z *zones) (lo, hi time.Time, ok bool) {
	t, s := inst.t, inst.start
	pad := func(a, b time.Time) (time.Time, time.Time, bool) {
		if b.Before(a) {
			a, b = b, a
		}
		return a.Add(-time.Second), b.Add(time.Second), true
	}
	switch t.name {
	case ical.CompEvent, ical.CompJournal:
		// Exclusive rules: the instance's own [start, end), or [start, start+1s) for
		// the instant rule start <= DTSTART < end (times have whole seconds).
		switch {
		case !inst.hasStart:
			return time.Time{}, time.Time{}, false
		case inst.hasEnd && inst.end.After(s):
			return s, inst.end, true
		case t.start.date && !inst.hasEnd:
			return s, addDays(s, 1), true
		default:
			return s, s.Add(time.Second), true
		}
	case ical.CompToDo:
		switch {
		case inst.hasStart && inst.hasEnd:
			return pad(s, inst.end)
		case inst.hasStart:
			return pad(s, s)
		case t.hasEnd:
			return pad(inst.end, inst.end)
		case t.hasCompleted && t.hasCreated:
			return pad(t.created, t.completed)
		case t.hasCompleted:
			return pad(t.completed, t.completed)
		case t.hasCreated:
			return t.created.Add(-time.Second), Forever, true
		}
		return time.Time{}, time.Time{}, false
	case ical.CompFreeBusy:
		if t.hasStart && t.hasEnd {
			return pad(s, inst.end)
		}
		for i := range inst.comp.Props.Values(ical.PropFreeBusy) {
			ps, _ := z.freeBusyPeriods(&inst.comp.Props.Values(ical.PropFreeBusy)[i])
			for _, p := range ps {
				if !ok || p.start.Before(lo) {
					lo = p.start
				}
				if !ok || p.end.After(hi) {
					hi = p.end
				}
				ok = true
			}
		}
		if ok {
			return pad(lo, hi)
		}
	}
	return time.Time{}, time.Time{}, false
}
