package calendar

import (
	"errors"
	"time"

	"github.com/emersion/go-ical"
)

// errPending is returned by the parts of the API that land in the next commits of this
// branch (Expand, LimitRecurrenceSet, FreeBusy, Export), so callers compile now.
var errPending = errors.New("calendar: not implemented yet")

// Expand returns cal with recurrences expanded in tr. (Lands in a later commit.)
func Expand(cal *ical.Calendar, tr TimeRange, floating *time.Location) (*ical.Calendar, error) {
	return nil, errPending
}

// LimitRecurrenceSet limits cal's overrides to tr. (Lands in a later commit.)
func LimitRecurrenceSet(cal *ical.Calendar, tr TimeRange, floating *time.Location) (*ical.Calendar, error) {
	return nil, errPending
}

// FreeBusy computes free-busy over tr. (Lands in a later commit.)
func FreeBusy(cals []*ical.Calendar, tr TimeRange, floating *time.Location) (*ical.Calendar, error) {
	return nil, errPending
}

// Export merges calendar objects for a collection GET. (Lands in a later commit.)
func Export(cals []*ical.Calendar, prodID string) (*ical.Calendar, error) {
	return nil, errPending
}
