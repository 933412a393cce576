package calendar

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/emersion/go-ical"
	"github.com/teambition/rrule-go"
)

// series is the recurrence set of one UID (RFC 5545 §3.8.5): an optional master with its
// RRULEs, RDATEs and EXDATEs, and the overrides that replace instances by RECURRENCE-ID.
type series struct {
	uid       string
	master    *ical.Component
	mt        *timing
	loc       *time.Location  // the zone of the master's DTSTART
	rules     []rrule.ROption // on wall clocks (zonetime.go), Dtstart set
	rdates    []rdate         // sorted
	exInstant map[int64]bool  // EXDATE instants (Unix seconds)
	exDate    map[string]bool // DATE EXDATEs of a DATE-TIME series: local dates
	overrides []*override     // sorted by RECURRENCE-ID
	byRID     map[int64]*override
	taf       []*override // RANGE=THISANDFUTURE overrides, sorted
}

type override struct {
	comp *ical.Component
	t    *timing
}

type rdate struct {
	t      time.Time
	period *dur
}

// instance is one occurrence: the component its properties come from and its times.
type instance struct {
	comp      *ical.Component
	t         *timing
	recurring bool
	rid       time.Time // RECURRENCE-ID instant (recurring only)
	hasStart  bool
	start     time.Time
	end       time.Time // DTEND/DUE or DTSTART+DURATION of this instance
	hasEnd    bool
}

func (s *series) recurring() bool {
	return s.master != nil && (len(s.rules) > 0 || len(s.rdates) > 0)
}

// buildSeries groups the components of one type by UID.
func buildSeries(z *zones, cal *ical.Calendar) ([]*series, error) {
	var out []*series
	byUID := map[string]*series{}
	for _, c := range cal.Children {
		switch c.Name {
		case ical.CompEvent, ical.CompToDo, ical.CompJournal, ical.CompFreeBusy:
		default:
			continue
		}
		uid := ""
		if p := c.Props.Get(ical.PropUID); p != nil {
			uid = c.Name + "\x00" + p.Value
		}
		s := byUID[uid]
		if s == nil || uid == "" {
			s = &series{uid: uid, byRID: map[int64]*override{}}
			byUID[uid] = s
			out = append(out, s)
		}
		t, err := z.timing(c)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", c.Name, err)
		}
		if t.hasRID {
			o := &override{comp: c, t: t}
			if _, dup := s.byRID[t.rid.t.Unix()]; dup {
				return nil, fmt.Errorf("%s: two overrides with RECURRENCE-ID %s", c.Name, t.rid.t.UTC().Format(time.RFC3339))
			}
			s.byRID[t.rid.t.Unix()] = o
			s.overrides = append(s.overrides, o)
			if t.thisAndFuture {
				s.taf = append(s.taf, o)
			}
			continue
		}
		if s.master != nil {
			return nil, fmt.Errorf("%s: two components without RECURRENCE-ID for one UID", c.Name)
		}
		s.master, s.mt = c, t
		if err := s.addRules(z); err != nil {
			return nil, fmt.Errorf("%s: %w", c.Name, err)
		}
	}
	for _, s := range out {
		sort.Slice(s.overrides, func(i, j int) bool { return s.overrides[i].t.rid.t.Before(s.overrides[j].t.rid.t) })
		sort.Slice(s.taf, func(i, j int) bool { return s.taf[i].t.rid.t.Before(s.taf[j].t.rid.t) })
	}
	return out, nil
}

// addRules parses the master's RRULE, RDATE and EXDATE properties.
func (s *series) addRules(z *zones) error {
	c, t := s.master, s.mt
	rr, rd := c.Props.Values(ical.PropRecurrenceRule), c.Props.Values(ical.PropRecurrenceDates)
	if len(rr) == 0 && len(rd) == 0 {
		return nil
	}
	if !t.hasStart {
		return fmt.Errorf("RRULE or RDATE without DTSTART")
	}
	loc := t.start.t.Location()
	s.loc = loc
	for i := range rr {
		opt, err := parseRule(rr[i].Value, t.start)
		if err != nil {
			return err
		}
		s.rules = append(s.rules, opt)
	}
	for i := range rd {
		vals, periods, err := z.propTimes(&rd[i])
		if err != nil {
			return err
		}
		for j, v := range vals {
			s.rdates = append(s.rdates, rdate{t: v.t, period: periods[j]})
		}
	}
	// DTSTART is the first instance of the set (RFC 5545 §3.8.2.4), also with RDATE only
	// or a rule it does not match; the iterator drops the duplicate when the rule has it.
	s.rdates = append(s.rdates, rdate{t: t.start.t})
	sort.Slice(s.rdates, func(i, j int) bool { return s.rdates[i].t.Before(s.rdates[j].t) })
	for _, p := range c.Props.Values(ical.PropExceptionDates) {
		vals, _, err := z.propTimes(&p)
		if err != nil {
			return err
		}
		for _, v := range vals {
			if v.date && !t.start.date {
				if s.exDate == nil {
					s.exDate = map[string]bool{}
				}
				s.exDate[v.t.Format("20060102")] = true
				continue
			}
			if s.exInstant == nil {
				s.exInstant = map[int64]bool{}
			}
			s.exInstant[v.t.Unix()] = true
		}
	}
	return nil
}

// parseRule parses an RRULE value for a series starting at start (RFC 5545 §3.3.10) into
// options on wall clocks (see zonetime.go): rrule-go then generates local times, which
// the series resolves in its zone. A UTC UNTIL becomes the wall clock it shows in the
// series' zone; a DATE UNTIL of a DATE-TIME series includes that whole local day.
func parseRule(value string, start tval) (rrule.ROption, error) {
	v := strings.ToUpper(strings.TrimSpace(value))
	opt, err := cachedRule(v)
	if err != nil {
		return rrule.ROption{}, fmt.Errorf("RRULE %q: %v", value, err)
	}
	if !opt.Until.IsZero() {
		until := untilText(v)
		if strings.HasSuffix(until, "Z") {
			opt.Until = wallOf(opt.Until.In(start.t.Location()))
		}
		switch {
		case start.date:
			opt.Until = time.Date(opt.Until.Year(), opt.Until.Month(), opt.Until.Day(), 0, 0, 0, 0, time.UTC)
		case len(until) == 8:
			opt.Until = opt.Until.AddDate(0, 0, 1).Add(-time.Second)
		}
	}
	opt.Dtstart = wallOf(start.t)
	return opt, nil
}

func untilText(v string) string {
	for _, part := range strings.Split(v, ";") {
		if u, ok := strings.CutPrefix(part, "UNTIL="); ok {
			return u
		}
	}
	return ""
}

// iterator returns the merged, de-duplicated recurrence values of the master in order
// (RRULEs fast-forwarded to lo, RDATEs, DTSTART), each with its RDATE period if any. The
// rules' generators spend b; the iterator ends early when b is spent (b.err says so).
func (s *series) iterator(b *budget, lo time.Time) func() (time.Time, *dur, bool) {
	return s.iteratorWith(b, lo, true)
}

// iteratorWith is iterator; without simple, every rule goes through the generator (tests
// compare the two).
func (s *series) iteratorWith(b *budget, lo time.Time, simple bool) func() (time.Time, *dur, bool) {
	type src struct {
		next func() (time.Time, bool)
		head time.Time
		ok   bool
	}
	var srcs []*src
	for _, opt := range s.rules {
		if simple {
			if next := simpleSource(opt, lo, s.loc); next != nil {
				sr := &src{next: next}
				sr.head, sr.ok = sr.next()
				srcs = append(srcs, sr)
				continue
			}
		}
		o := opt
		if !lo.IsZero() && !fastForward(&o, wallOf(lo.In(s.loc))) {
			continue // no instance at or after lo
		}
		if o.Until.IsZero() {
			o.Until = Forever // rrule-go's default ends 292 years after DTSTART
		}
		wall := newRuleIter(o, b).next
		loc := s.loc
		sr := &src{next: func() (time.Time, bool) {
			w, ok := wall()
			if !ok {
				return time.Time{}, false
			}
			return toZone(w, loc), true
		}}
		sr.head, sr.ok = sr.next()
		srcs = append(srcs, sr)
	}
	ri := 0
	var last time.Time
	return func() (time.Time, *dur, bool) {
		for {
			best := -1
			for i, sr := range srcs {
				if sr.ok && (best < 0 || sr.head.Before(srcs[best].head)) {
					best = i
				}
			}
			var t time.Time
			var period *dur
			switch {
			case ri < len(s.rdates) && (best < 0 || !srcs[best].head.Before(s.rdates[ri].t)):
				t, period = s.rdates[ri].t, s.rdates[ri].period
				ri++
			case best >= 0:
				t = srcs[best].head
				srcs[best].head, srcs[best].ok = srcs[best].next()
			default:
				return time.Time{}, nil, false
			}
			if !last.IsZero() && t.Equal(last) {
				continue
			}
			last = t
			return t, period, true
		}
	}
}

// recoverRule turns a panic inside rrule-go (it indexes past its masks on some rules
// that its own validation lets through) into ErrInvalidData.
func recoverRule(err *error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("%w: RRULE cannot be expanded (%v)", ErrInvalidData, r)
	}
}

// excluded reports whether EXDATE removes the recurrence value t.
func (s *series) excluded(t time.Time) bool {
	if s.exInstant[t.Unix()] {
		return true
	}
	return s.exDate != nil && s.exDate[t.In(s.mt.start.t.Location()).Format("20060102")]
}

// each calls fn for every instance whose recurrence value lies in [lo, hi) (a zero bound is
// open), then for every override not removed by EXDATE, whatever its RECURRENCE-ID.
// Callers widen [lo, hi) by the longest instance duration and shift they care about.
// The recurrence work is bounded by MaxWork and ctx, the instances by MaxInstances: past
// either limit each stops the recurring instances, still passes the overrides to fn, and
// returns an error wrapping ErrTooManyInstances; when ctx ends, ctx's error.
func (s *series) each(ctx context.Context, lo, hi time.Time, fn func(*instance) (bool, error)) (err error) {
	defer recoverRule(&err)
	if s.master != nil && !s.recurring() {
		inst := s.single(s.master, s.mt)
		if stop, err := fn(&inst); stop || err != nil {
			return err
		}
	}
	var limit error // the recurring part stopped at a limit; the overrides still follow
	if s.recurring() {
		b := newBudget(ctx, MaxWork)
		next := s.iterator(b, lo)
		emitted := 0
		for limit == nil {
			if !b.spend(1) {
				limit = b.err
				break
			}
			t, period, ok := next()
			if !ok {
				limit = b.err
				break
			}
			if !hi.IsZero() && !t.Before(hi) {
				break
			}
			if (!lo.IsZero() && t.Before(lo)) || s.excluded(t) {
				continue
			}
			if _, ok := s.byRID[t.Unix()]; ok {
				continue // emitted with the overrides below
			}
			if emitted++; emitted > MaxInstances {
				limit = fmt.Errorf("%w: more than %d in the window", ErrTooManyInstances, MaxInstances)
				break
			}
			inst := s.derived(t, period)
			if stop, err := fn(&inst); stop || err != nil {
				return err
			}
		}
	}
	if limit != nil && !errors.Is(limit, ErrTooManyInstances) {
		return limit // the context ended
	}
	for _, o := range s.overrides {
		if s.master != nil && s.recurring() && s.excluded(o.t.rid.t) {
			continue
		}
		inst := s.single(o.comp, o.t)
		inst.recurring, inst.rid = true, o.t.rid.t
		if stop, err := fn(&inst); stop || err != nil {
			return err
		}
	}
	return limit
}

func (s *series) single(c *ical.Component, t *timing) instance {
	inst := instance{comp: c, t: t, hasStart: t.hasStart, start: t.start.t}
	inst.end, inst.hasEnd = t.endFor(t.start.t)
	return inst
}

// derived builds the instance of the master at recurrence value t, applying the latest
// THISANDFUTURE override before it (its shift of DTSTART and its duration).
func (s *series) derived(t time.Time, period *dur) instance {
	c, tm, start := s.master, s.mt, t
	for i := len(s.taf) - 1; i >= 0; i-- {
		o := s.taf[i]
		if o.t.rid.t.Before(t) {
			c, tm = o.comp, o.t
			if o.t.hasStart {
				start = t.Add(o.t.start.t.Sub(o.t.rid.t))
			}
			break
		}
	}
	inst := instance{comp: c, t: tm, recurring: true, rid: t, hasStart: true, start: start}
	if period != nil {
		inst.end, inst.hasEnd = period.add(start), true
	} else {
		inst.end, inst.hasEnd = tm.endFor(start)
	}
	return inst
}
