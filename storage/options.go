package storage

import (
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"time"
)

// Options configures a Store. The zero value gives the defaults.
type Options struct {
	// JournalDir holds the journal segments; default <data dir>/journal. It
	// may be on another disk.
	JournalDir string
	// SegmentSize is the size after which a journal segment is sealed.
	SegmentSize int64
	// MaxBodySize bounds an object body; default 10 MiB.
	MaxBodySize int64
	// MaxBatch bounds how many changes one group commit takes.
	MaxBatch int
	// SyncProjection fsyncs store.db on every commit. By default it does not:
	// the journal alone makes a write durable, and after an operating-system
	// crash store.db is rebuilt from the journal (see doc.go).
	SyncProjection bool
	// UndoConfirmOver is how many objects an undo may remove without
	// UndoRequest.Confirm (an undo that removes a collection always needs
	// it); default DefaultUndoConfirmOver.
	UndoConfirmOver int
	// Standby opens a copy that only takes records from its primary
	// (AppendFrames): a new store gets no first epoch record, and a store
	// that holds less than its high-water mark starts no epoch of its own.
	Standby bool
	// Logger receives the store's log lines; default discards them.
	Logger *slog.Logger
	// Upgrade lets Open migrate a store.db of an older schema (after writing
	// a verified snapshot of it into snapshots/). Without it such a store is
	// refused with an *UpgradeNeededError. serve and 'pimvault upgrade' set it.
	Upgrade bool
	// ExpectStoreID, when set, refuses a data directory whose IDENTITY names
	// another store (or that holds no store yet): a guard against a command
	// pointed at the wrong directory. Nothing is created or changed.
	ExpectStoreID string
	// AssumeJournalComplete: when store.db and HIGHWATER are both missing,
	// trust that the journal holds everything the store acknowledged.
	// Without it such a store opens with every principal RECOVERING, since
	// nothing shows whether the journal lost its tail.
	AssumeJournalComplete bool
	// Observer receives measurements of the commit path (metrics); nil:
	// none. It is called on the committer goroutine and must not block.
	Observer Observer
	// upgradeNoSnapshot: the store.db being upgraded is itself a copy of a
	// snapshot that stays where it is (a restore), so none is taken.
	upgradeNoSnapshot bool
}

// Observer is what the store reports about its writes. The commands adapt
// it to their metrics; storage itself depends on no metrics library.
type Observer interface {
	// Committed reports one group commit: how many journal records it wrote
	// and how long their write and fdatasync took.
	Committed(records int, journalSync time.Duration)
}

// DefaultUndoConfirmOver is the default of Options.UndoConfirmOver.
const DefaultUndoConfirmOver = 100

// DefaultMaxBodySize is the default bound on one object body.
const DefaultMaxBodySize = 10 << 20

func (o Options) withDefaults(dir string) Options {
	if o.JournalDir == "" {
		o.JournalDir = filepath.Join(dir, "journal")
	}
	if o.SegmentSize == 0 {
		o.SegmentSize = DefaultSegmentSize
	}
	if o.MaxBodySize == 0 {
		o.MaxBodySize = DefaultMaxBodySize
	}
	if o.MaxBatch == 0 {
		o.MaxBatch = 512
	}
	if o.UndoConfirmOver == 0 {
		o.UndoConfirmOver = DefaultUndoConfirmOver
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return o
}

// Validate reports options that cannot work.
func (o Options) Validate() error {
	switch {
	case o.SegmentSize < 0 || (o.SegmentSize > 0 && o.SegmentSize < 4096):
		return fmt.Errorf("segment size %d: must be at least 4096 bytes", o.SegmentSize)
	case o.MaxBodySize < 0 || o.MaxBodySize > 64<<20:
		return fmt.Errorf("max body size %d: must be between 1 byte and 64 MiB", o.MaxBodySize)
	case o.UndoConfirmOver < 0:
		return fmt.Errorf("undo confirmation limit %d: must not be negative", o.UndoConfirmOver)
	case o.MaxBatch < 0:
		return fmt.Errorf("max batch %d: must not be negative", o.MaxBatch)
	}
	return nil
}
