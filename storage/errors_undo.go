package storage

import (
	"errors"
	"fmt"
)

// ErrNeedsConfirmation: an undo would remove a collection or more objects
// than Options.UndoConfirmOver and was not confirmed; nothing was changed.
var ErrNeedsConfirmation = errors.New("undo needs confirmation")

// ConfirmationError is ErrNeedsConfirmation with the exact counts and the
// report of what the undo would do.
type ConfirmationError struct {
	Principal   string
	Collections int // collections removed (or replaced)
	Objects     int // objects removed, with those of the removed collections
	Limit       int // objects an undo may remove without confirmation
	Report      *UndoReport
}

func (e *ConfirmationError) Error() string {
	why := fmt.Sprintf("more than %d objects", e.Limit)
	if e.Collections > 0 {
		why = "a collection"
	}
	return fmt.Sprintf("undo of %s's data would remove %d collections and %d objects in all; it removes %s, so it needs confirmation (pimvault undo --yes, or \"confirm\": true in POST /api/undo): nothing was changed",
		e.Principal, e.Collections, e.Objects, why)
}

func (e *ConfirmationError) Unwrap() error { return ErrNeedsConfirmation }
