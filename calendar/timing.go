package calendar

import (
	"fmt"
	"time"

	"github.com/emersion/go-ical"
)

// timing is the time information of one component (master or override), resolved in
// its zones: what RFC 4791 §9.9 needs to decide whether an instance overlaps a range.
type timing struct {
	name     string // component name
	start    tval
	hasStart bool
	end      tval // DTEND (VEVENT, VFREEBUSY) or DUE (VTODO)
	hasEnd   bool
	dur      dur // DURATION
	hasDur   bool
	// VTODO only; never shifted by recurrence.
	completed, created       time.Time
	hasCompleted, hasCreated bool
	rid                      tval // RECURRENCE-ID
	hasRID                   bool
	thisAndFuture            bool
}

func (z *zones) timing(c *ical.Component) (*timing, error) {
	t := &timing{name: c.Name}
	var err error
	get := func(name string, v *tval, has *bool) {
		if err != nil {
			return
		}
		if p := c.Props.Get(name); p != nil {
			*v, err = z.propTime(p)
			*has = err == nil
		}
	}
	get(ical.PropDateTimeStart, &t.start, &t.hasStart)
	endName := ical.PropDateTimeEnd
	if c.Name == ical.CompToDo {
		endName = ical.PropDue
	}
	get(endName, &t.end, &t.hasEnd)
	get(ical.PropRecurrenceID, &t.rid, &t.hasRID)
	if c.Name == ical.CompToDo {
		var v, w tval
		get(ical.PropCompleted, &v, &t.hasCompleted)
		get(ical.PropCreated, &w, &t.hasCreated)
		t.completed, t.created = v.t, w.t
	}
	if err != nil {
		return nil, err
	}
	t.lenientEnd()
	if c.Name == ical.CompToDo && !t.hasStart && t.hasEnd &&
		(c.Props.Get(ical.PropRecurrenceRule) != nil || c.Props.Get(ical.PropRecurrenceDates) != nil) {
		// A recurring VTODO with DUE and no DTSTART recurs from its DUE (RFC 5545
		// leaves this open; task apps write it): each instance is due at a
		// recurrence time. The component has no DTSTART, so none is written into
		// expanded instances.
		t.start, t.hasStart = t.end, true
	}
	if p := c.Props.Get(ical.PropDuration); p != nil && c.Name != ical.CompFreeBusy {
		if t.dur, err = propDuration(p); err != nil {
			return nil, err
		}
		t.hasDur = true
	}
	if p := c.Props.Get(ical.PropRecurrenceID); p != nil {
		t.thisAndFuture = p.Params.Get("RANGE") == "THISANDFUTURE"
	}
	return t, nil
}

// lenientEnd reads what clients send in place of RFC 5545's DTEND/DUE rules
// (§3.6.1, §3.6.2), without touching the stored body: a DTEND or DUE whose value
// type differs from DTSTART's is read in DTSTART's type (a DATE-TIME end as its
// date, a DATE end as midnight), and a VEVENT's DTEND before its DTSTART is
// ignored, so the event lasts as one without DTEND would (a point, or one day for
// a DATE). A VTODO's DUE before its DTSTART is kept: the RFC 4791 §9.9 rules for
// DTSTART+DUE still give an answer. Apple's CalendarServer stores all of these, and
// calendar apps that wrote them expect them back.
func (t *timing) lenientEnd() {
	if !t.hasStart || !t.hasEnd {
		return
	}
	switch {
	case t.start.date && !t.end.date:
		e := t.end.t
		t.end = tval{t: time.Date(e.Year(), e.Month(), e.Day(), 0, 0, 0, 0, t.start.t.Location()), date: true}
	case !t.start.date && t.end.date:
		t.end.date = false
	}
	if t.name == ical.CompEvent && t.end.t.Before(t.start.t) {
		t.hasEnd = false
	}
}

// validate checks the RFC 5545 relations between the timing properties.
func (t *timing) validate() error {
	switch t.name {
	case ical.CompEvent, ical.CompToDo:
	default:
		return nil
	}
	endName := "DTEND"
	if t.name == ical.CompToDo {
		endName = "DUE"
	}
	if t.hasEnd && t.hasDur {
		return fmt.Errorf("both %s and DURATION", endName)
	}
	if t.hasDur && t.dur.neg {
		return fmt.Errorf("negative DURATION")
	}
	if t.hasDur && !t.hasStart {
		return fmt.Errorf("DURATION without DTSTART")
	}
	if t.hasStart && t.start.date && t.hasDur && t.dur.secs != 0 {
		return fmt.Errorf("an all-day DTSTART needs a DURATION in days or weeks")
	}
	if t.hasRID && t.hasStart && t.rid.date != t.start.date {
		return fmt.Errorf("RECURRENCE-ID and DTSTART must be both DATE or both DATE-TIME")
	}
	return nil
}

// endFor returns the end (DTEND/DUE or DTSTART+DURATION) of an instance starting at s.
// A DTEND/DUE keeps its exact distance from DTSTART (nominal days for DATE values); a
// DURATION is added on the instance's own wall clock.
func (t *timing) endFor(s time.Time) (time.Time, bool) {
	switch {
	case t.hasEnd && t.hasStart:
		if t.start.date {
			return addDays(s, daysBetween(t.start.t, t.end.t)), true
		}
		return s.Add(t.end.t.Sub(t.start.t)), true
	case t.hasEnd:
		return t.end.t, true
	case t.hasDur:
		return t.dur.add(s), true
	}
	return time.Time{}, false
}

// daysBetween counts calendar days from a to b (both midnights of one location).
func daysBetween(a, b time.Time) int {
	ua := time.Date(a.Year(), a.Month(), a.Day(), 0, 0, 0, 0, time.UTC)
	ub := time.Date(b.Year(), b.Month(), b.Day(), 0, 0, 0, 0, time.UTC)
	return int((ub.Unix() - ua.Unix()) / 86400) // not Sub: it saturates after 292 years
}
