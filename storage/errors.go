package storage

import (
	"errors"
	"fmt"
)

// Sentinel errors. Callers test them with errors.Is; the server maps each to
// one HTTP status and, where the RFC names one, a DAV precondition element.
var (
	// ErrNotFound: the principal, collection or object does not exist.
	ErrNotFound = errors.New("not found")
	// ErrExists: a collection or principal of that name already exists.
	ErrExists = errors.New("already exists")
	// ErrPreconditionFailed: If-Match or If-None-Match did not hold.
	ErrPreconditionFailed = errors.New("precondition failed")
	// ErrUIDConflict: another object of the collection already has that UID.
	ErrUIDConflict = errors.New("uid conflict")
	// ErrInvalidName: a principal, collection or object name is not allowed.
	ErrInvalidName = errors.New("invalid name")
	// ErrTooLarge: a body exceeds the configured maximum.
	ErrTooLarge = errors.New("body too large")
	// ErrInvalidChange: a change is malformed (unknown operation, missing field).
	ErrInvalidChange = errors.New("invalid change")
	// ErrClosed: the store has been closed.
	ErrClosed = errors.New("store closed")
	// ErrLocked: another process holds the data directory.
	ErrLocked = errors.New("data directory is locked by another process")
	// ErrCorrupt: acknowledged data is damaged; the store refuses to open.
	ErrCorrupt = errors.New("store damaged")
	// ErrJournalPruned: the records a request needs were pruned by retention.
	ErrJournalPruned = errors.New("journal pruned")
	// ErrNothingToPrune: retention found no segment it may prune.
	ErrNothingToPrune = errors.New("nothing to prune")
	// ErrHistoryGone: the changes asked for are older than the collection's kept
	// history (the token predates its creation or pruned tombstones).
	ErrHistoryGone = errors.New("changes older than the kept history")
	// ErrWrongStore: the data directory holds another store than the one
	// the caller expected (Options.ExpectStoreID).
	ErrWrongStore = errors.New("data directory holds another store")
	// ErrNotEmpty: a restore's output directory is not empty.
	ErrNotEmpty = errors.New("directory not empty")
	// ErrSnapshotInvalid: a snapshot's copy does not match its sidecar or the
	// store it claims to come from.
	ErrSnapshotInvalid = errors.New("snapshot invalid")
	// ErrDeleted: a device asked to create a collection again whose
	// deletion the store recorded after the device's last sync of it.
	ErrDeleted = errors.New("deleted after this copy was last synced")
	// ErrConflict: a Cond of the change does not hold.
	ErrConflict = errors.New("conflicts with the state of another resource")
)

// UIDConflictError says which object already holds a UID, or (Replaces set)
// that a write would give an existing object another UID.
type UIDConflictError struct {
	UID      string
	Existing string // name of the object that holds the UID
	Replaces string // the UID Existing holds, when the write would change it
}

func (e *UIDConflictError) Error() string {
	if e.Replaces != "" {
		return fmt.Sprintf("%q holds uid %q; it cannot be overwritten with uid %q (delete it first, or write to a new name)", e.Existing, e.Replaces, e.UID)
	}
	return fmt.Sprintf("uid %q already used by %q", e.UID, e.Existing)
}

func (e *UIDConflictError) Unwrap() error { return ErrUIDConflict }

// CorruptionError describes damage found in the journal or projection: where
// it is, what is wrong, and what an admin can do about it.
type CorruptionError struct {
	Path   string // file that is damaged
	Offset int64  // byte offset in Path, -1 when not applicable
	Seq    uint64 // sequence number involved, 0 when unknown
	What   string // what is wrong
	Advice string // what to do
}

func (e *CorruptionError) Error() string {
	s := "store damaged: " + e.What
	if e.Path != "" {
		s += " (" + e.Path
		if e.Offset >= 0 {
			s += fmt.Sprintf(" at offset %d", e.Offset)
		}
		s += ")"
	}
	if e.Seq != 0 {
		s += fmt.Sprintf(" near sequence %d", e.Seq)
	}
	if e.Advice != "" {
		s += "; " + e.Advice
	}
	return s
}

func (e *CorruptionError) Unwrap() error { return ErrCorrupt }

const (
	adviceRestore = "acknowledged data may be lost: do not start the server; keep this directory untouched and restore from a snapshot plus journal (pimvault restore), or rebuild from devices"
	adviceRebuild = "the journal is intact: run 'pimvault rebuild --data DIR' to rebuild store.db from it"
)
