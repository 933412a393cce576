package calendar

// The rule generator: rrule-go's iterator (github.com/teambition/rrule-go v1.8.2, MIT
// License, Copyright (c) 2017-2023 Teambition; see rule_masks.go for the notice), with
// every loop paying for its steps from a budget. rrule-go itself searches period after
// period for a matching one with no cap: up to the year 9999 for a rule whose days
// rarely or never match, and for ever in its HOURLY, MINUTELY and SECONDLY loops when
// INTERVAL never reaches a BYHOUR, BYMINUTE or BYSECOND value (FREQ=HOURLY;INTERVAL=2;
// BYHOUR=1 from an even hour), so no call into it can be bounded from outside. Here a
// generator stops when its budget is spent or its context ends (budget.err says which),
// and also once a whole period lies after UNTIL. It yields the same values as rrule-go
// otherwise (rule_iter_test.go compares them). Options still come from rrule-go's parser.

import (
	"sort"
	"time"

	"github.com/teambition/rrule-go"
)

const (
	freqYearly = iota
	freqMonthly
	freqWeekly
	freqDaily
	freqHourly
	freqMinutely
	freqSecondly
)

// emitCost is the work of one generated value, in budget units (building its time).
const emitCost = 4

// ruleSpec is a rule with rrule-go's defaults filled in from DTSTART (buildRRule).
type ruleSpec struct {
	freq, interval, wkst, count int
	dtstart, until              time.Time
	untilDay                    int // until's date as yyyymmdd
	dayCost                     int // budget units per candidate day (its filters' list lengths)
	stepCost                    int // budget units per HOURLY/MINUTELY/SECONDLY step
	loc                         *time.Location
	bysetpos, bymonth           []int
	bymonthday, bynmonthday     []int
	byyearday, byweekno         []int
	byweekday                   []int
	bynweekday                  []rrule.Weekday
	byhour, byminute, bysecond  []int
	timeset                     []time.Time
}

func newRuleSpec(arg rrule.ROption) *ruleSpec {
	r := &ruleSpec{freq: int(arg.Freq), interval: max(arg.Interval, 1), count: max(arg.Count, 0)}
	r.dtstart = arg.Dtstart.Truncate(time.Second)
	r.loc = r.dtstart.Location()
	if arg.Until.IsZero() {
		r.until = r.dtstart.Add(time.Duration(1<<63 - 1))
	} else {
		r.until = arg.Until.Truncate(time.Second)
	}
	uy, um, ud := r.until.In(r.loc).Date()
	r.untilDay = dayNumber(uy, um, ud)
	r.wkst = arg.Wkst.Day()
	r.bysetpos = arg.Bysetpos
	bymonth, bymonthday, byweekday := arg.Bymonth, arg.Bymonthday, arg.Byweekday
	if len(arg.Byweekno) == 0 && len(arg.Byyearday) == 0 && len(arg.Bymonthday) == 0 && len(arg.Byweekday) == 0 {
		switch r.freq {
		case freqYearly:
			if len(bymonth) == 0 {
				bymonth = []int{int(r.dtstart.Month())}
			}
			bymonthday = []int{r.dtstart.Day()}
		case freqMonthly:
			bymonthday = []int{r.dtstart.Day()}
		case freqWeekly:
			byweekday = []rrule.Weekday{weekdays[pyWeekday(r.dtstart.Weekday())]}
		}
	}
	r.bymonth, r.byyearday, r.byweekno = bymonth, arg.Byyearday, arg.Byweekno
	for _, d := range bymonthday {
		if d > 0 {
			r.bymonthday = append(r.bymonthday, d)
		} else if d < 0 {
			r.bynmonthday = append(r.bynmonthday, d)
		}
	}
	for _, w := range byweekday {
		if w.N() == 0 || r.freq > freqMonthly {
			r.byweekday = append(r.byweekday, w.Day())
		} else {
			r.bynweekday = append(r.bynweekday, w)
		}
	}
	r.byhour, r.byminute, r.bysecond = arg.Byhour, arg.Byminute, arg.Bysecond
	if len(r.byhour) == 0 && r.freq < freqHourly {
		r.byhour = []int{r.dtstart.Hour()}
	}
	if len(r.byminute) == 0 && r.freq < freqMinutely {
		r.byminute = []int{r.dtstart.Minute()}
	}
	if len(r.bysecond) == 0 && r.freq < freqSecondly {
		r.bysecond = []int{r.dtstart.Second()}
	}
	lists := len(r.bymonth) + len(r.byweekno) + len(r.byweekday) + len(r.bymonthday) + len(r.bynmonthday) + len(r.byyearday)
	r.dayCost = 1 + lists/16
	r.stepCost = 1 + (len(arg.Byhour)+len(arg.Byminute)+len(arg.Bysecond))/16
	if r.freq < freqHourly {
		for _, h := range r.byhour {
			for _, m := range r.byminute {
				for _, s := range r.bysecond {
					r.timeset = append(r.timeset, time.Date(1, 1, 1, h, m, s, 0, r.loc))
				}
			}
		}
		sortTimes(r.timeset)
	}
	return r
}

func sortTimes(ts []time.Time) {
	if len(ts) > 1 {
		sort.Slice(ts, func(i, j int) bool { return ts[i].Before(ts[j]) })
	}
}

// dayNumber orders dates as integers (yyyymmdd); a day past the month's end (the
// generator normalizes its day late) still orders after that month's days.
func dayNumber(y int, m time.Month, d int) int { return (y*100+int(m))*100 + d }

// ruleIter generates the values of one rule in order.
type ruleIter struct {
	r                                  *ruleSpec
	b                                  *budget
	year                               int
	month                              time.Month
	day, hour, minute, second, weekday int
	ii                                 yearInfo
	timeset                            []time.Time
	total, count                       int
	remain                             []time.Time // generated values; remain[pos:] are not returned yet
	pos                                int
	finished                           bool
	dayset                             []int // day-of-year indexes of the period; -1: filtered out
}

// newRuleIter starts a generator of opt's values (wall clocks, see zonetime.go) that
// spends b. Rules with BYEASTER (refused by Parse) generate nothing.
func newRuleIter(opt rrule.ROption, b *budget) *ruleIter {
	r := newRuleSpec(opt)
	it := &ruleIter{r: r, b: b, count: r.count}
	it.year, it.month, it.day = r.dtstart.Date()
	it.hour, it.minute, it.second = r.dtstart.Clock()
	it.weekday = pyWeekday(r.dtstart.Weekday())
	it.ii = yearInfo{r: r}
	it.ii.rebuild(it.year, it.month)
	if len(opt.Byeaster) > 0 {
		it.finished = true
	}
	if r.freq < freqHourly {
		it.timeset = r.timeset
	} else if r.freq >= freqHourly && len(r.byhour) != 0 && !contains(r.byhour, it.hour) ||
		r.freq >= freqMinutely && len(r.byminute) != 0 && !contains(r.byminute, it.minute) ||
		r.freq >= freqSecondly && len(r.bysecond) != 0 && !contains(r.bysecond, it.second) {
		it.timeset = nil
	} else {
		it.fillTimeSet()
	}
	return it
}

// next returns the next value, or false when the rule ends or the budget is spent.
func (it *ruleIter) next() (time.Time, bool) {
	if it.pos == len(it.remain) {
		it.remain, it.pos = it.remain[:0], 0 // the array is reused
		it.generate()
	}
	if it.pos == len(it.remain) {
		return time.Time{}, false
	}
	it.pos++
	return it.remain[it.pos-1], true
}

func (it *ruleIter) fillTimeSet() {
	r := it.r
	it.timeset = it.timeset[:0]
	switch r.freq {
	case freqHourly:
		for _, m := range r.byminute {
			for _, s := range r.bysecond {
				it.timeset = append(it.timeset, time.Date(1, 1, 1, it.hour, m, s, 0, r.loc))
			}
		}
		sortTimes(it.timeset)
	case freqMinutely:
		for _, s := range r.bysecond {
			it.timeset = append(it.timeset, time.Date(1, 1, 1, it.hour, it.minute, s, 0, r.loc))
		}
		sortTimes(it.timeset)
	case freqSecondly:
		it.timeset = append(it.timeset, time.Date(1, 1, 1, it.hour, it.minute, it.second, 0, r.loc))
	}
}

// periodAfterUntil reports whether the period the generator is at starts after UNTIL:
// none of its values (all at or after the period's first day) can be in the set.
func (it *ruleIter) periodAfterUntil() bool {
	y, m, d := it.year, it.month, it.day
	switch it.r.freq {
	case freqYearly:
		m, d = 1, 1
	case freqMonthly:
		d = 1
	}
	return dayNumber(y, m, d) > it.r.untilDay
}

// emit adds a candidate; it reports false when the rule has ended.
func (it *ruleIter) emit(res time.Time) bool {
	r := it.r
	if res.After(r.until) {
		it.finished = true
		return false
	}
	if res.Before(r.dtstart) {
		return true
	}
	if !it.b.spend(emitCost) {
		it.finished = true
		return false
	}
	it.total++
	it.remain = append(it.remain, res)
	if it.count != 0 {
		if it.count--; it.count == 0 {
			it.finished = true
			return false
		}
	}
	return true
}

// excluded reports whether the day-of-year index i fails the rule's day filters.
func (it *ruleIter) excluded(i int) bool {
	r, ii := it.r, &it.ii
	return len(r.bymonth) != 0 && !contains(r.bymonth, ii.mmask[i]) ||
		len(r.byweekno) != 0 && ii.wnomask[i] == 0 ||
		len(r.byweekday) != 0 && !contains(r.byweekday, ii.wdaymask[i]) ||
		len(ii.nwdaymask) != 0 && ii.nwdaymask[i] == 0 ||
		(len(r.bymonthday) != 0 || len(r.bynmonthday) != 0) &&
			!contains(r.bymonthday, ii.mdaymask[i]) && !contains(r.bynmonthday, ii.nmdaymask[i]) ||
		len(r.byyearday) != 0 &&
			(i < ii.yearlen && !contains(r.byyearday, i+1) && !contains(r.byyearday, -ii.yearlen+i) ||
				i >= ii.yearlen && !contains(r.byyearday, i+1-ii.yearlen) &&
					!contains(r.byyearday, -ii.nextyearlen+i-ii.yearlen))
}

func (it *ruleIter) generate() {
	r := it.r
	for !it.finished && len(it.remain) == 0 {
		if it.periodAfterUntil() {
			it.finished = true
			return
		}
		setStart, setEnd := it.ii.daySet(r.freq, it.year, it.month, it.day)
		if !it.b.spend(1 + (setEnd-setStart)*r.dayCost + len(it.timeset) + len(r.bysetpos)) {
			it.finished = true
			return
		}
		it.dayset = it.dayset[:0]
		filtered := false
		for i := setStart; i < setEnd; i++ {
			if it.excluded(i) {
				it.dayset = append(it.dayset, -1)
				filtered = true
			} else {
				it.dayset = append(it.dayset, i)
			}
		}
		if !it.output() {
			return
		}
		if !it.advance(filtered) {
			return
		}
	}
}

// output emits the period's candidates (BYSETPOS applied); false when the rule ended.
func (it *ruleIter) output() bool {
	r := it.r
	if len(r.bysetpos) != 0 && len(it.timeset) != 0 {
		var days []int
		for _, d := range it.dayset {
			if d >= 0 {
				days = append(days, d)
			}
		}
		var poslist []time.Time
		for _, pos := range r.bysetpos {
			var daypos, timepos int
			if pos < 0 {
				daypos, timepos = divmod(pos, len(it.timeset))
			} else {
				daypos, timepos = divmod(pos-1, len(it.timeset))
			}
			if daypos < 0 {
				daypos += len(days)
			}
			if daypos < 0 || daypos >= len(days) {
				continue
			}
			tt := it.timeset[timepos]
			y, m, d := it.ii.firstyday.AddDate(0, 0, days[daypos]).Date()
			h, mi, s := tt.Clock()
			res := time.Date(y, m, d, h, mi, s, tt.Nanosecond(), tt.Location())
			dup := false
			for _, p := range poslist {
				dup = dup || p.Equal(res)
			}
			if !dup {
				poslist = append(poslist, res)
			}
		}
		sortTimes(poslist)
		for _, res := range poslist {
			if !it.emit(res) {
				return false
			}
		}
		return true
	}
	for _, i := range it.dayset {
		if i < 0 {
			continue
		}
		y, m, d := it.ii.firstyday.AddDate(0, 0, i).Date()
		for _, tt := range it.timeset {
			h, mi, s := tt.Clock()
			if !it.emit(time.Date(y, m, d, h, mi, s, tt.Nanosecond(), tt.Location())) {
				return false
			}
		}
	}
	return true
}

// advance moves to the next period (FREQ and INTERVAL); false when the rule ended.
func (it *ruleIter) advance(filtered bool) bool {
	r := it.r
	fixday := false
	switch r.freq {
	case freqYearly:
		it.year += r.interval
		if it.year > rrule.MAXYEAR {
			it.finished = true
			return false
		}
		it.ii.rebuild(it.year, it.month)
	case freqMonthly:
		it.month += time.Month(r.interval)
		if it.month > 12 {
			div, mod := divmod(int(it.month), 12)
			it.month = time.Month(mod)
			it.year += div
			if it.month == 0 {
				it.month = 12
				it.year--
			}
			if it.year > rrule.MAXYEAR {
				it.finished = true
				return false
			}
		}
		it.ii.rebuild(it.year, it.month)
	case freqWeekly:
		if r.wkst > it.weekday {
			it.day += -(it.weekday + 1 + (6 - r.wkst)) + r.interval*7
		} else {
			it.day += -(it.weekday - r.wkst) + r.interval*7
		}
		it.weekday = r.wkst
		fixday = true
	case freqDaily:
		it.day += r.interval
		fixday = true
	case freqHourly, freqMinutely, freqSecondly:
		var ok bool
		if fixday, ok = it.stepTime(filtered); !ok {
			it.finished = true
			return false
		}
		it.fillTimeSet()
	}
	if fixday && it.day > 28 {
		n := daysIn(it.month, it.year)
		if it.day > n {
			for it.day > n {
				it.day -= n
				it.month++
				if it.month == 13 {
					it.month = 1
					it.year++
					if it.year > rrule.MAXYEAR {
						it.finished = true
						return false
					}
				}
				n = daysIn(it.month, it.year)
			}
			it.ii.rebuild(it.year, it.month)
		}
	}
	return true
}

// stepTime advances an HOURLY, MINUTELY or SECONDLY rule by INTERVAL until the time
// matches BYHOUR, BYMINUTE and BYSECOND (after a filtered-out day, from the end of that
// day), each step paid for. It reports whether the day changed, and false when the
// budget is spent.
func (it *ruleIter) stepTime(filtered bool) (fixday, ok bool) {
	r := it.r
	unit := 1
	switch r.freq {
	case freqHourly:
		unit = 3600
	case freqMinutely:
		unit = 60
	}
	if filtered {
		// Jump to the last step of the day.
		sod := it.hour*3600 + it.minute*60 + it.second
		last := (86400 - unit - sod/unit*unit) / unit // steps of unit left in the day
		jump := (last / r.interval) * r.interval
		switch r.freq {
		case freqHourly:
			it.hour += jump
		case freqMinutely:
			it.minute += jump
		default:
			it.second += jump
		}
	}
	for {
		if !it.b.spend(r.stepCost) {
			return fixday, false
		}
		switch r.freq {
		case freqHourly:
			it.hour += r.interval
		case freqMinutely:
			it.minute += r.interval
		default:
			it.second += r.interval
		}
		var div int
		div, it.second = divmod(it.second, 60)
		it.minute += div
		div, it.minute = divmod(it.minute, 60)
		it.hour += div
		div, it.hour = divmod(it.hour, 24)
		if div != 0 {
			it.day += div
			fixday = true
		}
		if (len(r.byhour) == 0 || contains(r.byhour, it.hour)) &&
			(r.freq < freqMinutely || len(r.byminute) == 0 || contains(r.byminute, it.minute)) &&
			(r.freq < freqSecondly || len(r.bysecond) == 0 || contains(r.bysecond, it.second)) {
			return fixday, true
		}
	}
}
