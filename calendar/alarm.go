package calendar

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-ical"
)

// maxAlarmRepeat bounds REPEAT so an alarm never has more than this many triggers.
const maxAlarmRepeat = 1000

// alarm is a VALARM's trigger (RFC 5545 §3.8.6.3, §3.6.6): an absolute UTC time, or an
// offset from the start (or, with RELATED=END, the end) of its instance; repeated REPEAT
// more times every interval.
type alarm struct {
	absolute   bool
	at         time.Time
	relatedEnd bool
	offset     dur
	repeat     int
	interval   dur
}

func (z *zones) alarmOf(a *ical.Component) (*alarm, error) {
	p := a.Props.Get(ical.PropTrigger)
	if p == nil {
		return nil, fmt.Errorf("VALARM: no TRIGGER")
	}
	al := &alarm{}
	if strings.EqualFold(p.Params.Get(ical.ParamValue), "DATE-TIME") {
		v, err := parseDateTime(p.Value, false, time.UTC)
		if err != nil || v.date || !strings.HasSuffix(p.Value, "Z") {
			return nil, fmt.Errorf("VALARM: TRIGGER;VALUE=DATE-TIME must be a UTC time, not %q", p.Value)
		}
		al.absolute, al.at = true, v.t
	} else {
		d, err := propDuration(p)
		if err != nil {
			return nil, fmt.Errorf("VALARM: %v", err)
		}
		al.offset = d
		switch r := strings.ToUpper(p.Params.Get("RELATED")); r {
		case "", "START":
		case "END":
			al.relatedEnd = true
		default:
			return nil, fmt.Errorf("VALARM: TRIGGER;RELATED=%s", r)
		}
	}
	rp, dp := a.Props.Get(ical.PropRepeat), a.Props.Get(ical.PropDuration)
	if (rp == nil) != (dp == nil) {
		return nil, fmt.Errorf("VALARM: REPEAT and DURATION go together")
	}
	if rp != nil {
		n, err := strconv.Atoi(strings.TrimSpace(rp.Value))
		if err != nil || n < 0 || n > maxAlarmRepeat {
			return nil, fmt.Errorf("VALARM: REPEAT must be 0..%d, not %q", maxAlarmRepeat, rp.Value)
		}
		d, err := propDuration(dp)
		if err != nil || d.neg || d.isZero() {
			return nil, fmt.Errorf("VALARM: bad DURATION %q", dp.Value)
		}
		al.repeat, al.interval = n, d
	}
	return al, nil
}

// triggers lists the trigger times of the alarm for an instance; ok is false when the
// alarm is relative to a start or end the instance does not have.
func (al *alarm) triggers(inst *instance) ([]time.Time, bool) {
	var first time.Time
	switch {
	case al.absolute:
		first = al.at
	case al.relatedEnd:
		end, ok := effectiveEnd(inst)
		if !ok {
			return nil, false
		}
		first = al.offset.add(end)
	case inst.hasStart:
		first = al.offset.add(inst.start)
	case inst.t.name == ical.CompToDo && inst.hasEnd:
		// A VTODO without DTSTART: a START-related trigger counts from DUE, as RFC
		// 4791's example §7.8.5 (abcd5.ics matching its alarm range) requires.
		first = al.offset.add(inst.end)
	default:
		return nil, false
	}
	out := make([]time.Time, 0, 1+al.repeat)
	out = append(out, first)
	t := first
	for i := 0; i < al.repeat; i++ {
		t = al.interval.add(t)
		out = append(out, t)
	}
	return out, true
}

// effectiveEnd is the end of an instance that an END-related trigger refers to: DTEND,
// DUE or DTSTART+DURATION, else the end RFC 5545 implies (DTSTART, or a day for DATE).
func effectiveEnd(inst *instance) (time.Time, bool) {
	if inst.hasEnd {
		return inst.end, true
	}
	if !inst.hasStart {
		return time.Time{}, false
	}
	if inst.t.start.date {
		return addDays(inst.start, 1), true
	}
	return inst.start, true
}

// alarms parses the VALARMs of a component.
func (z *zones) alarms(c *ical.Component) ([]*alarm, error) {
	var out []*alarm
	for _, ch := range c.Children {
		if ch.Name != ical.CompAlarm {
			continue
		}
		al, err := z.alarmOf(ch)
		if err != nil {
			return nil, err
		}
		out = append(out, al)
	}
	return out, nil
}
