package calendar

// The day masks of the rule generator (rule_iter.go), from github.com/teambition/rrule-go
// v1.8.2 (itself a port of python-dateutil's rrule), MIT License, Copyright (c) 2017-2023
// Teambition: "Permission is hereby granted, free of charge, to any person obtaining a
// copy of this software and associated documentation files (the "Software"), to deal in
// the Software without restriction, including without limitation the rights to use,
// copy, modify, merge, publish, distribute, sublicense, and/or sell copies of the
// Software, and to permit persons to whom the Software is furnished to do so, subject to
// the following conditions: The above copyright notice and this permission notice shall
// be included in all copies or substantial portions of the Software. THE SOFTWARE IS
// PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED."
//
// Changed here: BYEASTER is left out (Parse refuses it), and the masks are built once.

import "time"

// Every mask is 7 days longer than a year, for weekly periods that cross the year.
var (
	m366Mask, m365Mask       []int // month of each day of the year
	mday366Mask, mday365Mask []int // day of month
	nmday366Mask, nmday365   []int // day of month counted from the end (-1 the last)
	wdayMask                 []int // weekday (0 Monday) from a Monday
	m366Range                = []int{0, 31, 60, 91, 121, 152, 182, 213, 244, 274, 305, 335, 366}
	m365Range                = []int{0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334, 365}
)

func init() {
	lens := []int{31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}
	for m, n := range lens {
		for d := 1; d <= n; d++ {
			m366Mask = append(m366Mask, m+1)
			mday366Mask = append(mday366Mask, d)
			nmday366Mask = append(nmday366Mask, d-n-1)
		}
	}
	for d := 1; d <= 7; d++ {
		m366Mask = append(m366Mask, 1)
		mday366Mask = append(mday366Mask, d)
		nmday366Mask = append(nmday366Mask, d-32)
	}
	m365Mask = append(append([]int{}, m366Mask[:59]...), m366Mask[60:]...)
	mday365Mask = append(append([]int{}, mday366Mask[:59]...), mday366Mask[60:]...)
	// February without its 29th counts -28 … -1 from its end.
	nmday365 = append(append([]int{}, nmday366Mask[:31]...), nmday366Mask[32:]...)
	for i := 0; i < 55; i++ {
		wdayMask = append(wdayMask, 0, 1, 2, 3, 4, 5, 6)
	}
}

// yearInfo holds the masks of the year (and, for BYDAY ordinals, the month) the
// generator is in.
type yearInfo struct {
	r           *ruleSpec
	lastyear    int
	lastmonth   time.Month
	yearlen     int
	nextyearlen int
	firstyday   time.Time
	yearweekday int
	mmask       []int
	mrange      []int
	mdaymask    []int
	nmdaymask   []int
	wdaymask    []int
	wnomask     []int
	nwdaymask   []int
}

func (info *yearInfo) rebuild(year int, month time.Month) {
	r := info.r
	if year != info.lastyear {
		info.yearlen = 365 + isLeap(year)
		info.nextyearlen = 365 + isLeap(year+1)
		info.firstyday = time.Date(year, time.January, 1, 0, 0, 0, 0, r.loc)
		info.yearweekday = pyWeekday(info.firstyday.Weekday())
		info.wdaymask = wdayMask[info.yearweekday:]
		if info.yearlen == 365 {
			info.mmask, info.mdaymask, info.nmdaymask, info.mrange = m365Mask, mday365Mask, nmday365, m365Range
		} else {
			info.mmask, info.mdaymask, info.nmdaymask, info.mrange = m366Mask, mday366Mask, nmday366Mask, m366Range
		}
		if len(r.byweekno) == 0 {
			info.wnomask = nil
		} else {
			info.buildWeekNo(year)
		}
	}
	if len(r.bynweekday) != 0 && (month != info.lastmonth || year != info.lastyear) {
		var ranges [][]int
		if r.freq == freqYearly {
			if len(r.bymonth) != 0 {
				for _, m := range r.bymonth {
					ranges = append(ranges, info.mrange[m-1:m+1])
				}
			} else {
				ranges = [][]int{{0, info.yearlen}}
			}
		} else if r.freq == freqMonthly {
			ranges = [][]int{info.mrange[month-1 : month+1]}
		}
		if len(ranges) != 0 {
			info.nwdaymask = make([]int, info.yearlen)
			for _, x := range ranges {
				first, last := x[0], x[1]-1
				for _, y := range r.bynweekday {
					wday, n := y.Day(), y.N()
					var i int
					if n < 0 {
						i = last + (n+1)*7
						if i < 0 || i >= len(info.wdaymask) {
							continue // beyond the period: never (rrule-go indexes past its mask)
						}
						i -= pymod(info.wdaymask[i]-wday, 7)
					} else {
						i = first + (n-1)*7
						if i < 0 || i >= len(info.wdaymask) {
							continue
						}
						i += pymod(7-info.wdaymask[i]+wday, 7)
					}
					if first <= i && i <= last {
						info.nwdaymask[i] = 1
					}
				}
			}
		}
	}
	info.lastyear, info.lastmonth = year, month
}

// buildWeekNo marks the days of the BYWEEKNO weeks of the year (weeks start on WKST;
// week 1 is the first with at least 4 days in the year).
func (info *yearInfo) buildWeekNo(year int) {
	r := info.r
	info.wnomask = make([]int, info.yearlen+7)
	firstwkst := pymod(7-info.yearweekday+r.wkst, 7)
	no1wkst := firstwkst
	var wyearlen int
	if no1wkst >= 4 {
		no1wkst = 0
		wyearlen = info.yearlen + pymod(info.yearweekday-r.wkst, 7)
	} else {
		wyearlen = info.yearlen - no1wkst
	}
	div, mod := divmod(wyearlen, 7)
	numweeks := div + mod/4
	mark := func(i int) {
		for j := 0; j < 7; j++ {
			info.wnomask[i] = 1
			i++
			if info.wdaymask[i] == r.wkst {
				break
			}
		}
	}
	for _, n := range r.byweekno {
		if n < 0 {
			n += numweeks + 1
		}
		if !(0 < n && n <= numweeks) {
			continue
		}
		i := no1wkst
		if n > 1 {
			i = no1wkst + (n-1)*7
			if no1wkst != firstwkst {
				i -= 7 - firstwkst
			}
		}
		mark(i)
	}
	if contains(r.byweekno, 1) {
		// Week 1 of the next year may start in this one.
		i := no1wkst + numweeks*7
		if no1wkst != firstwkst {
			i -= 7 - firstwkst
		}
		if i < info.yearlen {
			mark(i)
		}
	}
	if no1wkst != 0 {
		// The days before week 1 belong to last year's last week.
		var lnumweeks int
		if !contains(r.byweekno, -1) {
			lyearweekday := pyWeekday(time.Date(year-1, 1, 1, 0, 0, 0, 0, r.loc).Weekday())
			lno1wkst := pymod(7-lyearweekday+r.wkst, 7)
			lyearlen := 365 + isLeap(year-1)
			if lno1wkst >= 4 {
				lnumweeks = 52 + pymod(lyearlen+pymod(lyearweekday-r.wkst, 7), 7)/4
			} else {
				lnumweeks = 52 + pymod(info.yearlen-no1wkst, 7)/4
			}
		} else {
			lnumweeks = -1
		}
		if contains(r.byweekno, lnumweeks) {
			for i := 0; i < no1wkst; i++ {
				info.wnomask[i] = 1
			}
		}
	}
}

// daySet returns the day-of-year indexes [start, end) of the period containing the date.
func (info *yearInfo) daySet(freq int, year int, month time.Month, day int) (start, end int) {
	switch freq {
	case freqYearly:
		return 0, info.yearlen
	case freqMonthly:
		return info.mrange[month-1], info.mrange[month]
	case freqWeekly:
		i := time.Date(year, month, day, 0, 0, 0, 0, time.UTC).YearDay() - 1
		start, end = i, i+1
		for j := 0; j < 7; j++ {
			i++
			if info.wdaymask[i] == info.r.wkst {
				break
			}
			end = i + 1
		}
		return start, end
	default:
		i := time.Date(year, month, day, 0, 0, 0, 0, time.UTC).YearDay() - 1
		return i, i + 1
	}
}

func pyWeekday(d time.Weekday) int { return (int(d) + 6) % 7 } // Monday 0 … Sunday 6

func isLeap(year int) int {
	if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
		return 1
	}
	return 0
}

func daysIn(m time.Month, year int) int {
	return time.Date(year, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// pymod is Python's %: the result has the sign of b.
func pymod(a, b int) int {
	r := a % b
	if r*b < 0 {
		r += b
	}
	return r
}

// divmod is Python's divmod (floor division).
func divmod(a, b int) (int, int) {
	m := pymod(a, b)
	return (a - m) / b, m
}

func contains(list []int, elem int) bool {
	for _, t := range list {
		if t == elem {
			return true
		}
	}
	return false
}
