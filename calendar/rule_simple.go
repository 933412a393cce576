package calendar

import (
	"time"

	"github.com/teambition/rrule-go"
)

// Most recurring events in real calendars are "every day/week/month/year", optionally
// every n-th, until a date or for a count: one instance per period, on DTSTART's day
// and time. For those rules the k-th instance is DTSTART plus k periods on the wall
// clock, which is what rrule-go generates too, only without building an RRule (its
// masks and day sets) for every query: that cost more than the rest of a match.

// simpleRule returns the wall clock of the k-th instance (k = 0 is DTSTART) of a rule
// with one instance per period, and ok false for any other rule: FREQ=DAILY or WEEKLY
// without BY parts, MONTHLY on a day of month every month has, YEARLY on a day every
// year has (the cases fastForwardCount also handles).
func simpleRule(opt *rrule.ROption) (nth func(k int) time.Time, ok bool) {
	if len(opt.Bysetpos) > 0 || len(opt.Bymonth) > 0 || len(opt.Byweekno) > 0 || len(opt.Byyearday) > 0 ||
		len(opt.Bymonthday) > 0 || len(opt.Byweekday) > 0 || len(opt.Byhour) > 0 || len(opt.Byminute) > 0 ||
		len(opt.Bysecond) > 0 || len(opt.Byeaster) > 0 {
		return nil, false
	}
	ds := opt.Dtstart.Truncate(time.Second) // as rrule-go does
	iv := max(opt.Interval, 1)
	y, m, d := ds.Date()
	h, mi, s := ds.Clock()
	switch opt.Freq {
	case rrule.DAILY, rrule.WEEKLY:
		per := iv
		if opt.Freq == rrule.WEEKLY {
			per = 7 * iv
		}
		return func(k int) time.Time { return time.Date(y, m, d+k*per, h, mi, s, 0, time.UTC) }, true
	case rrule.MONTHLY:
		if d > 28 {
			return nil, false
		}
		return func(k int) time.Time { return time.Date(y, m+time.Month(k*iv), d, h, mi, s, 0, time.UTC) }, true
	case rrule.YEARLY:
		if m == time.February && d == 29 {
			return nil, false
		}
		return func(k int) time.Time { return time.Date(y+k*iv, m, d, h, mi, s, 0, time.UTC) }, true
	}
	return nil, false
}

// periodsBefore returns a number of whole periods of a simple rule that all lie before
// the wall clock l (with two periods to spare, like fastForward), at least 0.
func periodsBefore(opt *rrule.ROption, l time.Time) int {
	ds := opt.Dtstart
	if l.IsZero() || !ds.Before(l) {
		return 0
	}
	iv := max(opt.Interval, 1)
	var k int
	switch opt.Freq {
	case rrule.DAILY:
		k = (daysBetween(ds, l) - 2) / iv
	case rrule.WEEKLY:
		k = (daysBetween(ds, l) - 2) / (7 * iv)
	case rrule.MONTHLY:
		k = ((l.Year()-ds.Year())*12 + int(l.Month()-ds.Month()) - 2) / iv
	case rrule.YEARLY:
		k = (l.Year() - ds.Year() - 2) / iv
	}
	return max(k, 0)
}

// simpleSource returns the instants of a simple rule in loc from about lo on (nil when
// the rule is not simple): DTSTART plus k periods, while k < COUNT and the wall clock is
// not after UNTIL (inclusive, RFC 5545 §3.3.10) or, without UNTIL, Forever.
func simpleSource(opt rrule.ROption, lo time.Time, loc *time.Location) func() (time.Time, bool) {
	nth, ok := simpleRule(&opt)
	if !ok {
		return nil
	}
	k := 0
	if !lo.IsZero() {
		k = periodsBefore(&opt, wallOf(lo.In(loc)))
	}
	until := opt.Until.Truncate(time.Second)
	if until.IsZero() {
		until = Forever
	}
	return func() (time.Time, bool) {
		if opt.Count > 0 && k >= opt.Count {
			return time.Time{}, false
		}
		w := nth(k)
		if w.After(until) {
			return time.Time{}, false
		}
		k++
		return toZone(w, loc), true
	}
}
