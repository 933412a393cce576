// Package calendar is pimvault's iCalendar logic for CalDAV: it validates calendar object
// resources, computes their time spans for the store's index, evaluates calendar-query
// filters, expands recurrences and computes free-busy. It is pure logic: it imports the
// standard library, github.com/emersion/go-ical and github.com/teambition/rrule-go only, and
// never does I/O.
//
// # Standards
//
//   - RFC 5545 (iCalendar): value types (DATE, DATE-TIME, DURATION, PERIOD), VTIMEZONE,
//     recurrence sets (RRULE, RDATE, EXDATE, RECURRENCE-ID, RANGE=THISANDFUTURE), nominal
//     durations (a day is a calendar day, so DST transitions are honoured).
//   - RFC 4791 (CalDAV): §4.1 calendar object resources (Parse), §9.7 filters (CompFilter,
//     Validate, Match), §9.9 time-range rules for VEVENT, VTODO, VJOURNAL, VFREEBUSY and
//     VALARM, §9.6.5 expand, §9.6.6 limit-recurrence-set, §7.10 free-busy.
//   - RFC 4790 collations i;ascii-casemap and i;octet; RFC 5051 i;unicode-casemap.
//
// # Invariants
//
//   - Every time is resolved in its own time zone before it is compared: a TZID names a
//     VTIMEZONE of the same object or an IANA zone; DATE values and floating times are
//     interpreted in the caller's floating location (the calendar-timezone, or UTC).
//     A VTIMEZONE whose TZID is an IANA name uses Go's IANA rules; any other VTIMEZONE is
//     compiled into a *time.Location from its own observances.
//   - Recurrences are generated wall-clock in the event's zone, so an instance at 09:00
//     Europe/Berlin stays at 09:00 across DST changes.
//   - Work is bounded on hostile input: Parse refuses nesting deeper than MaxDepth and
//     unknown time zones; every expansion stops at the query window and at MaxInstances
//     instances (ErrTooManyInstances), and never enumerates an unbounded rule.
//   - Object.Span is a superset of every instance (and alarm) of the object, so a store
//     that prefilters candidates by span never loses a match; unbounded rules end at
//     Forever.
//   - Anything Parse accepts passes go-ical's encoder checks (RFC 5545 cardinalities),
//     except that a missing DTSTAMP is accepted, as Radicale and Xandikos do.
//
// # Choices where the RFCs leave room
//
//   - DTSTART is always the first instance (RFC 5545 §3.8.2.4), also with RDATE only or a
//     rule that does not generate it, as libical (Cyrus) and Apple's server count it.
//   - An EXDATE removes its instance even when an override (RECURRENCE-ID) exists for it;
//     an override whose RECURRENCE-ID the rules do not generate is still an instance.
//   - A zero-length VEVENT (DTEND = DTSTART, or DURATION:PT0S) is an instant: it matches
//     a range with start <= DTSTART < end.
//   - A START-related alarm of a VTODO without DTSTART counts from DUE, as the example of
//     RFC 4791 §7.8.5 requires; a DATE UNTIL of a DATE-TIME rule includes that whole day.
//   - A missing DTSTAMP and a VTODO's DUE before DTSTART are accepted (clients write
//     them); a VEVENT's DTEND before DTSTART is not.
//   - Rules no day satisfies (FREQ=DAILY;BYYEARDAY=366;BYMONTH=1), unreachable BYSETPOS
//     and periods of more than 100,000 instances are refused by Parse: rrule-go would
//     search until the year 9999 for them on every query.
//
// # Reuse
//
// Object.Match and Object.Expand reuse what Parse prepared (zones, recurrence sets), and
// Cache keeps parsed Objects by ETag, so a server need not decode and prepare unchanged
// objects for every query. Object.ExpandText writes expanded instances from per-component
// text templates kept with the Object (the same bytes as encoding Expand's result), and
// rules with one instance per period (every n days, weeks, months or years, no BY parts)
// are generated directly rather than through rrule-go (rule_simple.go).
//
// Errors wrap one of the sentinels (ErrInvalidData, ErrInvalidObject, ErrTooManyInstances,
// ErrBadFilter, ErrUnsupportedCollation) and say which component or property is wrong.
package calendar
