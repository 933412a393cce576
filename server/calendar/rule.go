package calendar

import (
	"errors"
	"strings"
	"time"

	"github.com/teambition/rrule-go"
)

// checkRule refuses rules that are malformed or that rrule-go would search for centuries
// without producing an instance (RFC 5545 §3.3.10 limits).
func checkRule(v string, opt *rrule.ROption) error {
	if strings.Contains(v, "COUNT=") && strings.Contains(v, "UNTIL=") {
		return errors.New("COUNT and UNTIL together")
	}
	if strings.Contains(v, "COUNT=") && opt.Count <= 0 {
		return errors.New("COUNT must be positive")
	}
	if opt.Interval < 0 || opt.Interval > 100000 {
		return errors.New("INTERVAL out of range")
	}
	if _, err := rrule.NewRRule(*opt); err != nil {
		return err
	}
	// A BYMONTHDAY that no BYMONTH month has never occurs.
	if len(opt.Bymonthday) > 0 {
		months := opt.Bymonth
		if len(months) == 0 {
			months = []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}
		}
		longest := 0
		for _, m := range months {
			longest = max(longest, []int{0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}[m])
		}
		possible := false
		for _, d := range opt.Bymonthday {
			if d <= longest && -d <= longest {
				possible = true
			}
		}
		if !possible {
			return errors.New("BYMONTHDAY never occurs in BYMONTH")
		}
	}
	return nil
}

// fastForward moves the start of a rule without COUNT to a whole number of periods
// before lo, so an old unbounded rule is not stepped through from its first instance.
// The BY* values rrule-go would derive from DTSTART are made explicit first, so the
// generated set from the new start on is unchanged. Periods are counted on the wall
// clock (the rule's Dtstart and lo are wall clocks, see zonetime.go).
func fastForward(opt *rrule.ROption, lo time.Time) {
	ds := opt.Dtstart
	if opt.Count != 0 || lo.IsZero() || !ds.Before(lo) {
		return
	}
	l := lo.In(ds.Location())
	iv := max(opt.Interval, 1)
	noBy := len(opt.Byweekno) == 0 && len(opt.Byyearday) == 0 && len(opt.Bymonthday) == 0 &&
		len(opt.Byweekday) == 0 && len(opt.Byeaster) == 0
	if opt.Freq <= rrule.DAILY && len(opt.Byhour) == 0 {
		opt.Byhour = []int{ds.Hour()}
	}
	if opt.Freq <= rrule.HOURLY && len(opt.Byminute) == 0 {
		opt.Byminute = []int{ds.Minute()}
	}
	if opt.Freq <= rrule.MINUTELY && len(opt.Bysecond) == 0 {
		opt.Bysecond = []int{ds.Second()}
	}
	y, m, d := ds.Date()
	h, mi, s := ds.Clock()
	switch opt.Freq {
	case rrule.YEARLY:
		k := (l.Year() - y - 2) / iv
		if k <= 0 {
			return
		}
		if noBy {
			if len(opt.Bymonth) == 0 {
				opt.Bymonth = []int{int(m)}
			}
			opt.Bymonthday = []int{d}
		}
		opt.Dtstart = time.Date(y+k*iv, 1, 1, 0, 0, 0, 0, ds.Location())
	case rrule.MONTHLY:
		k := ((l.Year()-y)*12 + int(l.Month()-m) - 2) / iv
		if k <= 0 {
			return
		}
		if noBy {
			opt.Bymonthday = []int{d}
		}
		opt.Dtstart = time.Date(y, m+time.Month(k*iv), 1, 0, 0, 0, 0, ds.Location())
	case rrule.WEEKLY, rrule.DAILY:
		days := daysBetween(ds, l) - 2
		per := iv
		if opt.Freq == rrule.WEEKLY {
			per = 7 * iv
		}
		k := days / per
		if k <= 0 {
			return
		}
		opt.Dtstart = time.Date(y, m, d+k*per, h, mi, s, 0, ds.Location())
	default:
		unit := map[rrule.Frequency]time.Duration{rrule.HOURLY: time.Hour, rrule.MINUTELY: time.Minute, rrule.SECONDLY: time.Second}[opt.Freq]
		n := int64(l.Sub(ds)/unit) - 2*int64(iv)
		k := n / int64(iv)
		if k <= 0 {
			return
		}
		add := int(k) * iv
		switch opt.Freq {
		case rrule.HOURLY:
			opt.Dtstart = time.Date(y, m, d, h+add, mi, s, 0, ds.Location())
		case rrule.MINUTELY:
			opt.Dtstart = time.Date(y, m, d, h, mi+add, s, 0, ds.Location())
		default:
			opt.Dtstart = time.Date(y, m, d, h, mi, s+add, 0, ds.Location())
		}
	}
}
