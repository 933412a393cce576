package calendar

import (
	"errors"
	"fmt"
	"time"

	"github.com/emersion/go-ical"
)

// Limits (bounded work on hostile input).
const (
	// MaxInstances is the most instances of one component a query counts inside its
	// window; past it (or past MaxWork) Expand truncates, FreeBusy counts the rest of the
	// range busy and Match matches (see the package documentation).
	MaxInstances = 10000
	// MaxDepth is the deepest component nesting Parse accepts (VCALENDAR is depth 1).
	MaxDepth = 8
)

// Sentinel errors; the server maps them to CalDAV preconditions (RFC 4791 §5.3.2.1, §9.x).
var (
	ErrInvalidData          = errors.New("not valid iCalendar data")                    // valid-calendar-data
	ErrInvalidObject        = errors.New("not a valid calendar object resource")        // valid-calendar-object-resource
	ErrTooManyInstances     = errors.New("recurrence expands to too many instances")    // internal: a limit was reached
	ErrBadFilter            = errors.New("invalid calendar filter")                     // valid-filter
	ErrUnsupportedCollation = errors.New("unsupported collation")                       // supported-collation
	ErrBeforeMinDate        = errors.New("before the earliest date a calendar accepts") // min-date-time
)

// MinDate and MaxDate bound the dates a calendar accepts (RFC 4791 §5.2.6,
// §5.2.7); the server advertises them.
var (
	MinDate = time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)
	MaxDate = time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)
)

// CheckDates refuses an object that starts before MinDate, with
// ErrBeforeMinDate. A CalDAV PUT and an import both call it after Parse.
func (o *Object) CheckDates() error {
	if o.HasSpan && o.Start.Before(MinDate) {
		return fmt.Errorf("the object starts before %s: %w", MinDate.Format("20060102T150405Z"), ErrBeforeMinDate)
	}
	return nil
}

// Forever is the End of the span of an unbounded recurrence.
var Forever = time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)

// Object is a parsed, validated calendar object resource (RFC 4791 §4.1).
type Object struct {
	Cal       *ical.Calendar
	UID       string
	Component string // "VEVENT", "VTODO", "VJOURNAL" or "VFREEBUSY"
	// Span is the smallest UTC interval [Start, End) covering every instance (and every
	// alarm trigger), for the store's time index. Unbounded recurrences: End = Forever.
	// Objects with no time at all (a VTODO without DTSTART, DUE, COMPLETED or CREATED; a
	// VJOURNAL without DTSTART): HasSpan=false, meaning always a candidate.
	HasSpan    bool
	Start, End time.Time
	// Body is the body to store when Parse had to complete it (see Parse: a
	// VCALENDAR without VERSION or PRODID gets them); nil when the body as sent is
	// stored byte for byte. Fixed says what was added, for logs and messages.
	Body  []byte
	Fixed []string

	prep *prepared // zones and recurrence sets, kept for Object.Match and Object.Expand
}

// TimeRange is a CALDAV:time-range (RFC 4791 §9.9). A zero bound is unbounded on that side.
type TimeRange struct{ Start, End time.Time }

// TextMatch is a CALDAV:text-match (RFC 4791 §9.7.5).
type TextMatch struct {
	Text      string
	Collation string // "i;ascii-casemap" (default), "i;octet" or "i;unicode-casemap"
	MatchType string // "contains" (default); "equals", "starts-with", "ends-with" as extensions (RFC 6352 §10.5.4 names)
	Negate    bool
}

// ParamFilter is a CALDAV:param-filter (RFC 4791 §9.7.3).
type ParamFilter struct {
	Name         string
	IsNotDefined bool
	TextMatch    *TextMatch
}

// PropFilter is a CALDAV:prop-filter (RFC 4791 §9.7.2).
type PropFilter struct {
	Name         string
	IsNotDefined bool
	TimeRange    *TimeRange
	TextMatch    *TextMatch
	ParamFilters []ParamFilter
}

// CompFilter is a CALDAV:comp-filter (RFC 4791 §9.7.1); the top one names VCALENDAR.
type CompFilter struct {
	Name         string
	IsNotDefined bool
	TimeRange    *TimeRange
	PropFilters  []PropFilter
	CompFilters  []CompFilter
}
