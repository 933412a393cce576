package calendar

import "math"

// SpanUnix is the object's span as the store's time index keeps it, in Unix
// seconds, half-open [start, end): an object with no time at all covers all
// time (so a time-range query always considers it), an unbounded recurrence
// ends at Forever, and an end before the start is raised to the start.
// Everything that writes calendar objects into the store (PUT, import) uses
// it, so the index means the same whatever wrote the object.
func (o *Object) SpanUnix() (start, end int64) {
	if !o.HasSpan {
		return math.MinInt64, math.MaxInt64
	}
	start, end = o.Start.Unix(), o.End.Unix()
	if o.End.After(Forever) {
		end = Forever.Unix()
	}
	if end < start {
		end = start
	}
	return start, end
}
