package storage

import (
	"errors"
	"math"
	"testing"
	"time"
)

// FuzzParseTimeArg: any text either is refused with ErrTimeRange, or is a
// time in 1970..now+1 day whose Unix nanoseconds convert without overflow
// (and therefore compare correctly with journal times).
func FuzzParseTimeArg(f *testing.F) {
	for _, s := range []string{"2026-11-27T12:00:00Z", "2300-01-01T00:00:00Z", "1600-01-01T00:00:00Z", "1970-01-01T00:00:00Z",
		"1969-12-31T23:59:59.999999999Z", "2262-04-11T23:47:16.854775807Z", "2026-11-27T12:00:00+14:00", "0000-01-01T00:00:00Z",
		"9999-12-31T23:59:59-23:59", "", "yesterday", "2026-02-30T00:00:00Z"} {
		f.Add(s)
	}
	now := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseTimeArg("to_time", s, now)
		if err != nil {
			if !errors.Is(err, ErrTimeRange) || !errors.Is(err, ErrInvalidChange) {
				t.Fatalf("%q: error %v is not ErrTimeRange", s, err)
			}
			return
		}
		if got.Before(timeArgMin) || got.After(now.Add(timeArgSlack)) {
			t.Fatalf("%q accepted as %v, outside the range", s, got)
		}
		n := unixNanos(got)
		if n == math.MinInt64 || n == math.MaxInt64 || !time.Unix(0, n).Equal(got) {
			t.Fatalf("%q: %v does not round-trip through Unix nanoseconds (%d)", s, got, n)
		}
	})
}
