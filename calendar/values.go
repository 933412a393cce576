package calendar

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-ical"
)

// tval is a resolved DATE or DATE-TIME value: t carries its own location (the TZID's zone,
// the floating location for DATE and floating values, or UTC).
type tval struct {
	t        time.Time
	date     bool
	floating bool // a DATE-TIME without TZID or Z
}

// parseDateTime parses one DATE or DATE-TIME value text (RFC 5545 §3.3.4, §3.3.5). isDate
// forces DATE (VALUE=DATE). A value ending in Z is UTC; otherwise it is a local time in loc.
func parseDateTime(s string, isDate bool, loc *time.Location) (tval, error) {
	if len(s) >= 4 && s[:4] < "1583" {
		// Before the Gregorian calendar (RFC 5545 has CALSCALE:GREGORIAN only). rrule-go
		// mishandles year 0, and 0001-01-01T00:00:00Z is time.Time's zero, which means
		// "unbounded" in a TimeRange.
		return tval{}, fmt.Errorf("%q is before 1583, the first Gregorian year", s)
	}
	switch {
	case len(s) == 8 && allDigits(s):
		t, err := time.Parse("20060102", s)
		if err != nil {
			return tval{}, fmt.Errorf("bad DATE %q", s)
		}
		return tval{t: toZone(t, loc), date: true}, nil
	case isDate:
		return tval{}, fmt.Errorf("bad DATE %q", s)
	case len(s) == 16 && s[8] == 'T' && s[15] == 'Z' && allDigits(s[:8]) && allDigits(s[9:15]):
		t, err := time.ParseInLocation("20060102T150405Z", s, time.UTC)
		if err != nil {
			return tval{}, fmt.Errorf("bad DATE-TIME %q", s)
		}
		return tval{t: t}, nil
	case len(s) == 15 && s[8] == 'T' && allDigits(s[:8]) && allDigits(s[9:]):
		t, err := time.Parse("20060102T150405", s)
		if err != nil {
			return tval{}, fmt.Errorf("bad DATE-TIME %q", s)
		}
		return tval{t: toZone(t, loc)}, nil
	}
	return tval{}, fmt.Errorf("bad DATE-TIME %q", s)
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return len(s) > 0
}

// valueIsDate reports whether a property says VALUE=DATE.
func valueIsDate(p *ical.Prop) bool {
	return strings.EqualFold(p.Params.Get(ical.ParamValue), "DATE")
}

// propTime resolves a single-valued DATE or DATE-TIME property in its zone.
func (z *zones) propTime(p *ical.Prop) (tval, error) {
	loc, err := z.propLoc(p)
	if err != nil {
		return tval{}, err
	}
	v, err := parseDateTime(p.Value, valueIsDate(p), loc)
	if err != nil {
		return tval{}, fmt.Errorf("%s: %w", p.Name, err)
	}
	if v.date && loc != z.floating {
		v.t = toZone(wallOf(v.t), z.floating) // a TZID on a DATE is meaningless
	}
	v.floating = !v.date && p.Params.Get(ical.PropTimezoneID) == "" && !strings.HasSuffix(p.Value, "Z")
	return v, nil
}

// propTimes resolves a multi-valued property (EXDATE, RDATE) into its values. RDATE
// periods (VALUE=PERIOD) come back with their explicit end or duration in ends.
func (z *zones) propTimes(p *ical.Prop) (vals []tval, ends []*dur, err error) {
	loc, err := z.propLoc(p)
	if err != nil {
		return nil, nil, err
	}
	isDate := valueIsDate(p)
	isPeriod := strings.EqualFold(p.Params.Get(ical.ParamValue), "PERIOD")
	for _, s := range strings.Split(p.Value, ",") {
		var end *dur
		if isPeriod || strings.Contains(s, "/") {
			start, d, err := z.parsePeriod(s, loc)
			if err != nil {
				return nil, nil, fmt.Errorf("%s: %w", p.Name, err)
			}
			vals, ends = append(vals, start), append(ends, &d)
			continue
		}
		v, err := parseDateTime(s, isDate, loc)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", p.Name, err)
		}
		if v.date && loc != z.floating {
			v.t = toZone(wallOf(v.t), z.floating)
		}
		vals, ends = append(vals, v), append(ends, end)
	}
	return vals, ends, nil
}

// parsePeriod parses "start/end" or "start/duration" (RFC 5545 §3.3.9); the end comes back
// as the exact duration from start.
func (z *zones) parsePeriod(s string, loc *time.Location) (tval, dur, error) {
	a, b, ok := strings.Cut(s, "/")
	if !ok {
		return tval{}, dur{}, fmt.Errorf("bad PERIOD %q", s)
	}
	start, err := parseDateTime(a, false, loc)
	if err != nil || start.date {
		return tval{}, dur{}, fmt.Errorf("bad PERIOD start %q", s)
	}
	if strings.ContainsAny(b, "Pp") {
		d, err := parseDuration(b)
		if err != nil || d.neg {
			return tval{}, dur{}, fmt.Errorf("bad PERIOD duration %q", s)
		}
		return start, d, nil
	}
	end, err := parseDateTime(b, false, loc)
	if err != nil || end.date || end.t.Before(start.t) {
		return tval{}, dur{}, fmt.Errorf("bad PERIOD end %q", s)
	}
	return start, dur{secs: int64(end.t.Sub(start.t) / time.Second)}, nil
}

// dur is an RFC 5545 §3.3.6 duration: nominal days (weeks are 7 days; a day follows the
// wall clock of its zone across DST) plus exact seconds.
type dur struct {
	neg  bool
	days int
	secs int64
}

// maxDurDays bounds durations (about 270 years) so arithmetic never overflows.
const maxDurDays = 100000

func parseDuration(s string) (dur, error) {
	var d dur
	orig := s
	bad := func() (dur, error) { return dur{}, fmt.Errorf("bad DURATION %q", orig) }
	s = strings.ToUpper(s)
	if strings.HasPrefix(s, "-") {
		d.neg, s = true, s[1:]
	} else {
		s = strings.TrimPrefix(s, "+")
	}
	if !strings.HasPrefix(s, "P") || len(s) < 3 {
		return bad()
	}
	s = s[1:]
	inTime, any := false, false
	for len(s) > 0 {
		if s[0] == 'T' {
			if inTime {
				return bad()
			}
			inTime, s = true, s[1:]
			continue
		}
		i := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == 0 || i == len(s) || i > 9 {
			return bad()
		}
		n, _ := strconv.ParseInt(s[:i], 10, 64)
		unit := s[i]
		s = s[i+1:]
		any = true
		switch {
		case !inTime && unit == 'W':
			d.days += int(n) * 7
		case !inTime && unit == 'D':
			d.days += int(n)
		case inTime && unit == 'H':
			d.secs += n * 3600
		case inTime && unit == 'M':
			d.secs += n * 60
		case inTime && unit == 'S':
			d.secs += n
		default:
			return bad()
		}
		if d.days > maxDurDays || d.secs > maxDurDays*86400 {
			return bad()
		}
	}
	if !any {
		return bad()
	}
	return d, nil
}

// add returns t plus the duration: days on t's wall clock in t's zone, then exact seconds.
func (d dur) add(t time.Time) time.Time {
	if d.neg {
		return addDays(t, -d.days).Add(-time.Duration(d.secs) * time.Second)
	}
	return addDays(t, d.days).Add(time.Duration(d.secs) * time.Second)
}

func (d dur) isZero() bool { return d.days == 0 && d.secs == 0 }

// propDuration parses a DURATION or TRIGGER property value.
func propDuration(p *ical.Prop) (dur, error) {
	d, err := parseDuration(p.Value)
	if err != nil {
		return dur{}, fmt.Errorf("%s: %w", p.Name, err)
	}
	return d, nil
}
