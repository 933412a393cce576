package calendar

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/teambition/rrule-go"
)

// Parsed and checked rules by text: the same RRULE is parsed again for every query, and
// checkSatisfiable may take milliseconds. Bounded; cleared when full.
var (
	ruleMu    sync.Mutex
	ruleCache = map[string]ruleVerdict{}
)

const maxRuleCache = 4096

type ruleVerdict struct {
	opt rrule.ROption
	err error
}

// cachedRule parses and checks an upper-cased RRULE value. The returned options share
// slices with the cache: callers replace fields, never write into them.
func cachedRule(v string) (rrule.ROption, error) {
	ruleMu.Lock()
	rv, ok := ruleCache[v]
	ruleMu.Unlock()
	if ok {
		return rv.opt, rv.err
	}
	opt, err := rrule.StrToROptionInLocation(v, time.UTC)
	if err == nil {
		err = checkRule(v, opt)
	}
	if err != nil {
		opt = &rrule.ROption{}
	}
	ruleMu.Lock()
	if len(ruleCache) >= maxRuleCache {
		clear(ruleCache)
	}
	ruleCache[v] = ruleVerdict{opt: *opt, err: err}
	ruleMu.Unlock()
	return *opt, err
}

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
	if err := checkListSizes(opt); err != nil {
		return err
	}
	if _, err := rrule.NewRRule(*opt); err != nil {
		return err
	}
	if len(opt.Byeaster) > 0 {
		return errors.New("BYEASTER is not an RFC 5545 rule part")
	}
	for _, w := range opt.Byweekday {
		// An ordinal within a month (MONTHLY, or YEARLY with BYMONTH) is at most 5.
		if n := w.N(); (n > 5 || n < -5) && (opt.Freq == rrule.MONTHLY || (opt.Freq == rrule.YEARLY && len(opt.Bymonth) > 0)) {
			return fmt.Errorf("BYDAY ordinal %d within a month never occurs", n)
		}
	}
	if err := checkPeriodSize(opt); err != nil {
		return err
	}
	return checkSatisfiable(opt)
}

// maxPerPeriod bounds the instances one period of a rule may hold: rrule-go builds a
// whole period (a year of YEARLY;BYHOUR=…;BYMINUTE=…;BYSECOND=…) in memory at once.
const maxPerPeriod = 100000

// checkPeriodSize bounds the instances per period and refuses a BYSETPOS that no period
// can reach (rrule-go would then step through periods until the year 9999).
func checkPeriodSize(opt *rrule.ROption) error {
	n := func(l []int) int { return max(len(l), 1) }
	times := 1
	switch opt.Freq {
	case rrule.YEARLY, rrule.MONTHLY, rrule.WEEKLY, rrule.DAILY:
		times = n(opt.Byhour) * n(opt.Byminute) * n(opt.Bysecond)
	case rrule.HOURLY:
		times = n(opt.Byminute) * n(opt.Bysecond)
	case rrule.MINUTELY:
		times = n(opt.Bysecond)
	}
	days := map[rrule.Frequency]int{rrule.YEARLY: 366, rrule.MONTHLY: 31, rrule.WEEKLY: 7}[opt.Freq]
	if days == 0 {
		days = 1
	}
	if len(opt.Bymonth) > 0 {
		days = min(days, 31*len(opt.Bymonth))
	}
	if len(opt.Byyearday) > 0 {
		days = min(days, len(opt.Byyearday))
	}
	if len(opt.Bymonthday) > 0 {
		days = min(days, len(opt.Bymonthday)*n(opt.Bymonth))
	}
	if len(opt.Byweekday) > 0 && opt.Freq == rrule.WEEKLY {
		days = min(days, len(opt.Byweekday))
	}
	if days*times > maxPerPeriod {
		return fmt.Errorf("more than %d instances per period", maxPerPeriod)
	}
	if len(opt.Bysetpos) > 0 {
		reachable := false
		for _, p := range opt.Bysetpos {
			if p <= days*times && -p <= days*times {
				reachable = true
			}
		}
		if !reachable {
			return errors.New("BYSETPOS beyond every period's set: never occurs")
		}
	}
	return nil
}

// checkSatisfiable refuses a rule whose date filters (BYMONTH, BYWEEKNO, BYYEARDAY,
// BYMONTHDAY, BYDAY) no day satisfies, which rrule-go would search for until the year
// 9999 on every expansion. A YEARLY probe with the same day filters (BYDAY's ordinals
// taken within months where the rule takes them so) finds the first matching day, or
// none, in at most ~8000 yearly steps.
func checkSatisfiable(opt *rrule.ROption) (err error) {
	defer recoverRule(&err)
	parts, nth := 0, false
	for _, l := range [][]int{opt.Bymonth, opt.Byweekno, opt.Byyearday, opt.Bymonthday} {
		if len(l) > 0 {
			parts++
		}
	}
	if len(opt.Byweekday) > 0 {
		parts++
	}
	for _, w := range opt.Byweekday {
		if w.N() != 0 && opt.Freq <= rrule.MONTHLY {
			nth = true
		}
	}
	if parts < 2 && !nth {
		return nil // a single valid filter always has days
	}
	probe := rrule.ROption{
		Freq: rrule.YEARLY, Count: 1, Wkst: opt.Wkst,
		Dtstart: time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC),
		Bymonth: opt.Bymonth, Byweekno: opt.Byweekno, Byyearday: opt.Byyearday, Bymonthday: opt.Bymonthday,
		Byhour: []int{0}, Byminute: []int{0}, Bysecond: []int{0},
	}
	for _, w := range opt.Byweekday {
		if opt.Freq > rrule.MONTHLY {
			w = weekdays[w.Day()] // ordinals mean nothing below MONTHLY
		}
		probe.Byweekday = append(probe.Byweekday, w)
	}
	if nth && opt.Freq == rrule.MONTHLY && len(opt.Bymonth) == 0 {
		probe.Bymonth = []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12} // ordinals within months
	}
	if _, err := rrule.NewRRule(probe); err != nil {
		return err
	}
	if _, ok := newRuleIter(probe, newBudget(context.Background(), MaxWork)).next(); !ok {
		return errors.New("no day satisfies its BY rules: never occurs")
	}
	return nil
}

var weekdays = []rrule.Weekday{rrule.MO, rrule.TU, rrule.WE, rrule.TH, rrule.FR, rrule.SA, rrule.SU}

// fastForward moves the start of a rule without COUNT to a whole number of periods
// before lo, so an old unbounded rule is not stepped through from its first instance.
// The BY* values rrule-go would derive from DTSTART are made explicit first, so the
// generated set from the new start on is unchanged. Periods are counted on the wall
// clock (the rule's Dtstart and lo are wall clocks, see zonetime.go).
//
// A COUNT rule is fast-forwarded only when it is one instance per period (no BY parts,
// and a day of month every month and year has): its k-th instance becomes the start and
// COUNT drops by k. It reports false when no instance is left.
func fastForward(opt *rrule.ROption, lo time.Time) bool {
	ds := opt.Dtstart
	if lo.IsZero() || !ds.Before(lo) {
		return true
	}
	if opt.Count != 0 {
		return fastForwardCount(opt, lo.In(ds.Location()))
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
			return true
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
			return true
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
			return true
		}
		opt.Dtstart = time.Date(y, m, d+k*per, h, mi, s, 0, ds.Location())
	default:
		unit := map[rrule.Frequency]time.Duration{rrule.HOURLY: time.Hour, rrule.MINUTELY: time.Minute, rrule.SECONDLY: time.Second}[opt.Freq]
		n := (l.Unix()-ds.Unix())/int64(unit/time.Second) - 2*int64(iv) // not Sub: it saturates
		k := n / int64(iv)
		if k <= 0 {
			return true
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
	return true
}

// fastForwardCount skips whole periods of a COUNT rule that has one instance per period.
func fastForwardCount(opt *rrule.ROption, l time.Time) bool {
	ds := opt.Dtstart
	if len(opt.Bysetpos) > 0 || len(opt.Bymonth) > 0 || len(opt.Byweekno) > 0 || len(opt.Byyearday) > 0 ||
		len(opt.Bymonthday) > 0 || len(opt.Byweekday) > 0 || len(opt.Byhour) > 0 || len(opt.Byminute) > 0 ||
		len(opt.Bysecond) > 0 || len(opt.Byeaster) > 0 {
		return true
	}
	iv := max(opt.Interval, 1)
	y, m, d := ds.Date()
	h, mi, s := ds.Clock()
	var k int
	var next func(k int) time.Time
	switch opt.Freq {
	case rrule.DAILY, rrule.WEEKLY:
		per := iv
		if opt.Freq == rrule.WEEKLY {
			per = 7 * iv
		}
		k = (daysBetween(ds, l) - 2) / per
		next = func(k int) time.Time { return time.Date(y, m, d+k*per, h, mi, s, 0, time.UTC) }
	case rrule.MONTHLY:
		if d > 28 {
			return true
		}
		k = ((l.Year()-y)*12 + int(l.Month()-m) - 2) / iv
		next = func(k int) time.Time { return time.Date(y, m+time.Month(k*iv), d, h, mi, s, 0, time.UTC) }
	case rrule.YEARLY:
		if m == time.February && d == 29 {
			return true
		}
		k = (l.Year() - y - 2) / iv
		next = func(k int) time.Time { return time.Date(y+k*iv, m, d, h, mi, s, 0, time.UTC) }
	default:
		return true
	}
	if k <= 0 {
		return true
	}
	if k >= opt.Count {
		return false // every instance is before lo
	}
	opt.Dtstart, opt.Count = next(k), opt.Count-k
	return true
}

// checkRuleFrom refuses, given DTSTART (opt.Dtstart, a wall clock), a rule that never
// occurs or needs too much work per instance: an HOURLY, MINUTELY or SECONDLY rule whose
// INTERVAL steps from DTSTART's time of day never reach a time its BYHOUR, BYMINUTE and
// BYSECOND allow, and any rule that needs more than maxWorkPerInstance steps to find
// one of its first probeInstances values (it occurs too rarely, or never).
func checkRuleFrom(opt *rrule.ROption) error {
	if err := checkReachableTime(opt); err != nil {
		return err
	}
	if _, simple := simpleRule(opt); simple {
		return nil // one instance every period
	}
	o := *opt
	if o.Until.IsZero() {
		o.Until = Forever
	}
	b := newBudget(context.Background(), maxWorkPerInstance)
	next := newRuleIter(o, b).next
	prev := o.Dtstart
	for i := 0; i < probeInstances; i++ {
		t, ok := next()
		if !ok {
			if b.err != nil {
				return fmt.Errorf("needs more than %d steps to find its next instance after %s: it occurs too rarely, or never",
					maxWorkPerInstance, prev.Format("2006-01-02T15:04:05"))
			}
			return nil // the rule ends
		}
		prev, b.left = t, maxWorkPerInstance
	}
	return nil
}

// checkReachableTime: the generator steps an HOURLY, MINUTELY or SECONDLY rule by
// INTERVAL units from DTSTART's time of day, so the times of day it can reach are
// DTSTART's plus multiples of gcd(INTERVAL × unit, 1 day); one of them must pass the
// rule's BYHOUR (and BYMINUTE, BYSECOND below HOURLY).
func checkReachableTime(opt *rrule.ROption) error {
	unit := 0
	switch opt.Freq {
	case rrule.HOURLY:
		unit = 3600
	case rrule.MINUTELY:
		unit = 60
	case rrule.SECONDLY:
		unit = 1
	default:
		return nil
	}
	if len(opt.Byhour) == 0 && (opt.Freq < rrule.MINUTELY || len(opt.Byminute) == 0) &&
		(opt.Freq < rrule.SECONDLY || len(opt.Bysecond) == 0) {
		return nil
	}
	const day = 86400
	g := gcd(max(opt.Interval, 1)*unit, day)
	h, m, s := opt.Dtstart.Clock()
	first := (h*3600 + m*60 + s) % g
	for t := first; t < day; t += g {
		if (len(opt.Byhour) == 0 || contains(opt.Byhour, t/3600)) &&
			(opt.Freq < rrule.MINUTELY || len(opt.Byminute) == 0 || contains(opt.Byminute, t/60%60)) &&
			(opt.Freq < rrule.SECONDLY || len(opt.Bysecond) == 0 || contains(opt.Bysecond, t%60)) {
			return nil
		}
	}
	var by []string
	for _, p := range []struct {
		name string
		v    []int
	}{{"BYHOUR", opt.Byhour}, {"BYMINUTE", opt.Byminute}, {"BYSECOND", opt.Bysecond}} {
		if len(p.v) > 0 {
			by = append(by, fmt.Sprintf("%s=%s", p.name, strings.Trim(strings.ReplaceAll(fmt.Sprint(p.v), " ", ","), "[]")))
		}
	}
	return fmt.Errorf("never occurs: steps of INTERVAL=%d %s from DTSTART's time %s never reach %s",
		max(opt.Interval, 1), map[int]string{3600: "hours", 60: "minutes", 1: "seconds"}[unit],
		opt.Dtstart.Format("15:04:05"), strings.Join(by, ";"))
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// checkListSizes refuses BY lists longer than the number of distinct values they can
// hold: repeated values only make every candidate day of the generator costlier.
func checkListSizes(opt *rrule.ROption) error {
	for _, l := range []struct {
		name string
		n    int
		most int
	}{
		{"BYSECOND", len(opt.Bysecond), 61}, {"BYMINUTE", len(opt.Byminute), 60}, {"BYHOUR", len(opt.Byhour), 24},
		{"BYDAY", len(opt.Byweekday), 7 * 107}, {"BYMONTHDAY", len(opt.Bymonthday), 62}, {"BYYEARDAY", len(opt.Byyearday), 732},
		{"BYWEEKNO", len(opt.Byweekno), 106}, {"BYMONTH", len(opt.Bymonth), 12}, {"BYSETPOS", len(opt.Bysetpos), 732},
	} {
		if l.n > l.most {
			return fmt.Errorf("%s lists %d values; it has at most %d distinct ones", l.name, l.n, l.most)
		}
	}
	return nil
}
