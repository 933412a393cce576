package calendar

import "time"

// Local times are handled as wall clocks: a time.Time in UTC whose fields are the local
// date and time. toZone resolves a wall clock in a zone by RFC 5545 §3.3.5: a local time
// that occurs twice (fall back) is the first occurrence; one that does not exist (spring
// forward) is read with the offset before the gap. Go's time.Date guarantees neither.

// wallOf returns t's wall clock in t's own location, as a UTC time.
func wallOf(t time.Time) time.Time {
	y, m, d := t.Date()
	h, mi, s := t.Clock()
	return time.Date(y, m, d, h, mi, s, 0, time.UTC)
}

// toZone returns the instant at which the wall clock w is shown in loc.
func toZone(w time.Time, loc *time.Location) time.Time {
	if loc == time.UTC {
		return w
	}
	u := w.Unix()
	offAt := func(unix int64) int64 {
		_, off := time.Unix(unix, 0).In(loc).Zone()
		return int64(off)
	}
	// The offsets in effect a day before and a day after cover any one transition.
	before, after := offAt(u-86400), offAt(u+86400)
	if before == after && offAt(u-before) == before {
		return time.Unix(u-before, 0).In(loc) // no transition near: the common case
	}
	best, found := int64(0), false
	for _, off := range []int64{before, after, offAt(u)} {
		c := u - off
		if offAt(c) == off && (!found || c < best) {
			best, found = c, true
		}
	}
	if !found {
		best = u - before // in a gap
	}
	return time.Unix(best, 0).In(loc)
}

// addDays adds n calendar days on t's wall clock in t's location.
func addDays(t time.Time, n int) time.Time {
	if n == 0 {
		return t
	}
	return toZone(wallOf(t).AddDate(0, 0, n), t.Location())
}
