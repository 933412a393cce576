package calendar

import (
	"context"
	"errors"
	"time"
)

// spanOf widens obj's span by every instance of the series and its alarm triggers. A rule
// without COUNT or UNTIL, or one with more instances than can be stepped through, ends at
// Forever; the span then starts at the first instance.
func spanOf(s *series, z *zones, obj *Object) error {
	alarmCache := map[any][]*alarm{}
	always := false
	add := func(inst *instance) error {
		lo, hi, ok := instanceBounds(inst, z)
		if !ok {
			always = true
			return nil
		}
		als, seen := alarmCache[inst.comp]
		if !seen {
			var err error
			if als, err = z.alarms(inst.comp); err != nil {
				return err
			}
			alarmCache[inst.comp] = als
		}
		for _, al := range als {
			ts, ok := al.triggers(inst)
			for i := 0; ok && i < len(ts); i++ {
				lo, hi = minTime(lo, ts[i]), maxTime(hi, ts[i].Add(time.Second))
			}
		}
		widen(obj, lo, hi)
		return nil
	}
	unbounded := false
	for _, r := range s.rules {
		if r.Count == 0 && r.Until.IsZero() {
			unbounded = true
		}
	}
	first := true
	err := s.each(context.Background(), time.Time{}, time.Time{}, func(inst *instance) (bool, error) {
		if err := add(inst); err != nil {
			return true, err
		}
		// The first instance of an unbounded series starts the span; the rest is Forever.
		stop := unbounded && first && inst.recurring && inst.comp == s.master
		first = false
		return stop, nil
	})
	if errors.Is(err, ErrTooManyInstances) {
		unbounded, err = true, nil
	}
	if err != nil {
		return err
	}
	if unbounded {
		for _, o := range s.overrides {
			inst := s.single(o.comp, o.t)
			if err := add(&inst); err != nil {
				return err
			}
		}
		if obj.HasSpan {
			obj.End = Forever
		}
	}
	if always {
		obj.HasSpan, obj.Start, obj.End = false, time.Time{}, time.Time{}
	}
	return nil
}

func widen(obj *Object, lo, hi time.Time) {
	lo, hi = lo.UTC(), hi.UTC()
	if !obj.HasSpan {
		obj.HasSpan, obj.Start, obj.End = true, lo, hi
		return
	}
	obj.Start, obj.End = minTime(obj.Start, lo), maxTime(obj.End, hi)
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
