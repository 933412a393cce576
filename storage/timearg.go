package storage

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// Time arguments (the target of an undo or a restore) name a point of the
// journal, whose records carry their time as Unix nanoseconds. An int64 of
// nanoseconds covers 1677 to 2262; time.Time.UnixNano outside that is
// undefined, and a wrapped value used to select "every record is after the
// target", i.e. an undo back to nothing. Every time argument is therefore
// checked against the range the journal can hold (timeArgMin to a little
// after now: records are stamped with the clock when written) before it is
// converted, and the conversion itself saturates.

// TimeArgFormat is the accepted format of a time argument.
const TimeArgFormat = "RFC 3339, e.g. 2026-11-27T12:00:00Z"

// timeArgSlack is how far after now a time argument may be (clocks of the
// caller and the server differ; a target after the last record means "now").
const timeArgSlack = 24 * time.Hour

// timeArgMin is the earliest time argument: journal times are Unix times.
var timeArgMin = time.Unix(0, 0).UTC()

// ErrTimeRange: a time argument is malformed or outside the range the journal
// can represent.
var ErrTimeRange = errors.New("time out of range")

// TimeArgError says which time argument was refused, why, and what is
// accepted.
type TimeArgError struct {
	Arg    string // the argument's name as the caller knows it (to_time, --to-time)
	Value  string
	Reason string
	Max    time.Time // latest accepted time
}

func (e *TimeArgError) Error() string {
	return fmt.Sprintf("%s %q: %s; give a time between %s and %s (%s)", e.Arg, e.Value, e.Reason,
		timeArgMin.Format(time.RFC3339), e.Max.UTC().Format(time.RFC3339), TimeArgFormat)
}

func (e *TimeArgError) Unwrap() []error { return []error{ErrTimeRange, ErrInvalidChange} }

// ParseTimeArg parses a time argument named arg (RFC 3339, with or without
// fractional seconds) and checks its range (CheckTimeArg).
func ParseTimeArg(arg, s string, now time.Time) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, &TimeArgError{Arg: arg, Value: s, Reason: "not a valid time", Max: now.Add(timeArgSlack)}
	}
	return t, CheckTimeArg(arg, t, now)
}

// CheckTimeArg refuses a time before 1970-01-01T00:00:00Z or more than a day
// after now. It is the one range check for every time argument; storage
// applies it again inside undo and restore, whatever the caller checked.
func CheckTimeArg(arg string, t, now time.Time) error {
	max := now.Add(timeArgSlack)
	switch {
	case t.Before(timeArgMin):
		return &TimeArgError{Arg: arg, Value: t.Format(time.RFC3339Nano), Reason: "before the earliest time the journal can hold", Max: max}
	case t.After(max):
		return &TimeArgError{Arg: arg, Value: t.Format(time.RFC3339Nano), Reason: "in the future", Max: max}
	}
	return nil
}

// unixNanos is t.UnixNano saturated to the int64 range instead of wrapping.
func unixNanos(t time.Time) int64 {
	switch {
	case t.Before(time.Unix(0, math.MinInt64)):
		return math.MinInt64
	case t.After(time.Unix(0, math.MaxInt64)):
		return math.MaxInt64
	}
	return t.UnixNano()
}

// MaxDaysArg bounds an argument counted in days (a window of device
// activity) so that it converts to a time.Duration, which holds 292 years,
// without overflow.
const MaxDaysArg = 36500

// DaysArg converts an argument of n days, refusing n outside 1..MaxDaysArg.
func DaysArg(arg string, n int) (time.Duration, error) {
	if n < 1 || n > MaxDaysArg {
		return 0, fmt.Errorf("%s %d: give a number of days from 1 to %d: %w", arg, n, MaxDaysArg, ErrTimeRange)
	}
	return time.Duration(n) * 24 * time.Hour, nil
}
