package storage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/pimvault/pimvault/version"
	bolt "go.etcd.io/bbolt"
)

// The on-disk formats this build reads and writes. A reader that meets a
// higher version of any of them refuses with a *NewerError and changes
// nothing: not the journal (no torn-tail cut, no .broken copy), not
// store.db (no quarantine, no migration), not IDENTITY.
const (
	// SegmentFormat is the journal segment header version: the two digits
	// after "PVJRNL" in the magic.
	SegmentFormat = 1
	// RecordFormat is the first byte of every journal record payload.
	RecordFormat = recordFormatVersion
	// HighestOp is the highest journal operation this build knows.
	HighestOp = opMax
	// IdentityFormat is the "format" field of IDENTITY.
	IdentityFormat = identityFormat
)

// SchemaVersion is the store.db schema this build writes (the last
// migration's target, see migrate.go).
func SchemaVersion() int { return currentSchema() }

// Formats describes the formats of a build or of a data directory.
type Formats struct {
	Segment  int // journal segment header version
	Record   int // journal record format
	HighOp   Op  // highest journal operation
	Schema   int // store.db schema
	Identity int // IDENTITY format
}

// CurrentFormats returns what this build writes.
func CurrentFormats() Formats {
	return Formats{Segment: SegmentFormat, Record: RecordFormat, HighOp: HighestOp, Schema: currentSchema(), Identity: IdentityFormat}
}

// ErrNewer: data written by a newer pimvault; this one refuses to touch it.
var ErrNewer = errors.New("written by a newer pimvault")

// NewerError says what in a data directory is newer than this build knows
// and which release reads it.
type NewerError struct {
	Path   string // file that holds it
	Offset int64  // byte offset in Path, -1 when not applicable
	What   string // e.g. "journal record operation 12; this pimvault knows up to 11"
	Needs  string // lowest release that reads it, "" when unknown
}

func (e *NewerError) Error() string {
	where := e.Path
	if e.Offset >= 0 {
		where += fmt.Sprintf(" at offset %d", e.Offset)
	}
	need := "run pimvault ≥ " + e.Needs
	if e.Needs == "" {
		need = "run a pimvault newer than " + version.Name()
	}
	return fmt.Sprintf("%s: written by a newer pimvault (%s; this is pimvault %s); %s. Nothing was changed: this pimvault does not repair, move or migrate data it does not know (see docs/UPGRADING.md)",
		where, e.What, version.Name(), need)
}

func (e *NewerError) Unwrap() error { return ErrNewer }

// isNewer reports whether err says some data is from a newer version.
func isNewer(err error) bool { return errors.Is(err, ErrNewer) }

// newerRecordError is what decodeFrame returns for a frame whose checksum
// holds but whose format, operation or flags this build does not know. The
// caller adds the path and offset.
type newerRecordError struct{ what string }

func (e *newerRecordError) Error() string { return "written by a newer pimvault: " + e.what }
func (e *newerRecordError) Unwrap() error { return ErrNewer }

// asNewer turns a decode error into a *NewerError at path and off, or
// returns nil when err does not say newer.
func asNewer(err error, path string, off int64) error {
	var nr *newerRecordError
	if errors.As(err, &nr) {
		return &NewerError{Path: path, Offset: off, What: nr.what}
	}
	var ne *NewerError
	if errors.As(err, &ne) {
		return ne
	}
	return nil
}

// adviceCopyOrRestore is the advice when store.db is ahead of the journal:
// in a directory copied while a server wrote it (store.db copied after the
// journal) nothing is lost and a rebuild from the journal fixes it; in the
// store itself acknowledged records are missing.
const adviceCopyOrRestore = "if this directory is a copy taken while pimvault was writing it, run 'pimvault rebuild --data DIR' on the copy (store.db was copied after the journal); otherwise " + adviceRestore

// UpgradeNeededError: the data directory is at an older format that this
// build migrates, but the caller did not ask for an upgrade.
type UpgradeNeededError struct {
	Dir        string
	FromSchema int
	ToSchema   int
}

// ErrUpgradeNeeded is what an *UpgradeNeededError unwraps to.
var ErrUpgradeNeeded = errors.New("data directory needs an upgrade")

func (e *UpgradeNeededError) Error() string {
	return fmt.Sprintf("%s: store.db is at schema %d, this pimvault %s uses schema %d: run 'pimvault upgrade --check --data %s' to see what changes, then 'pimvault upgrade --data %s' (or start 'pimvault serve', which upgrades); both write a verified snapshot first",
		filepath.Join(e.Dir, dbFile), e.FromSchema, version.Name(), e.ToSchema, e.Dir, e.Dir)
}

func (e *UpgradeNeededError) Unwrap() error { return ErrUpgradeNeeded }

// schemaOf reads the schema of a store.db from its meta bucket and, when it
// is newer than this build, the lowest release that reads it. The meta
// bucket's "schema" and "min_release" keys are kept by every schema, so any
// version can tell what it is looking at.
func schemaOf(tx *bolt.Tx, path string) (int, error) {
	meta := tx.Bucket(bktMeta)
	if meta == nil {
		return 0, errEmptyProjection
	}
	v := meta.Get(keySchema)
	if len(v) != 8 {
		return 0, &CorruptionError{Path: path, Offset: -1, What: "store.db has no valid schema key", Advice: adviceRebuild}
	}
	n := binary.BigEndian.Uint64(v)
	switch {
	case n == 0:
		return 0, &CorruptionError{Path: path, Offset: -1, What: "store.db has schema 0", Advice: adviceRebuild}
	case n > uint64(currentSchema()):
		return 0, &NewerError{Path: path, Offset: -1, Needs: string(meta.Get(keyMinRelease)),
			What: fmt.Sprintf("store.db schema %d; this pimvault knows up to %d", n, currentSchema())}
	}
	return int(n), nil
}

// DirFormats is what a data directory holds, read without changing it.
type DirFormats struct {
	Identity int
	Schema   int         // 0: no store.db
	Segments map[int]int // segment format → number of segments
	Records  uint64      // journal records read
	HighOp   Op          // highest operation in the journal
}

// ReadFormats reads the formats of the store in dir without changing
// anything (IDENTITY, store.db opened read-only, every journal segment read).
// Data newer than this build is a *NewerError; damage is reported as a
// *CorruptionError, except a torn tail at the end of the last segment, which
// the next open repairs.
func ReadFormats(dir string, opts Options) (*DirFormats, error) {
	opts = opts.withDefaults(dir)
	out := &DirFormats{Segments: map[int]int{}}
	_, id, err := readIdentityFile(dir)
	if err != nil {
		return nil, err
	}
	out.Identity = id.Format
	raw, _ := id.rawID()
	dbPath := filepath.Join(dir, dbFile)
	if ok, err := fileExists(dbPath); err != nil {
		return nil, err
	} else if ok {
		err := viewReadOnly(dbPath, func(tx *bolt.Tx) error {
			var err error
			out.Schema, err = schemaOf(tx, dbPath)
			return err
		})
		if err != nil && !errors.Is(err, errEmptyProjection) {
			return nil, err
		}
	}
	segs, _, err := liveSegments(opts.JournalDir)
	if err != nil {
		return nil, err
	}
	for _, sg := range segs {
		out.Segments[segmentFormatOf(sg.path)]++
	}
	_, _, err = scanJournal(opts.JournalDir, raw, ^uint64(0), func(r *Record, _ [32]byte) error {
		out.Records++
		if r.Op > out.HighOp {
			out.HighOp = r.Op
		}
		return nil
	})
	if err != nil && !isNewer(err) && tornTail(err, segs) {
		err = nil
	}
	if isNewer(err) {
		if db, oerr := openBolt(dbPath, &bolt.Options{ReadOnly: true, Timeout: 50 * time.Millisecond}); oerr == nil {
			err = releaseHint(err, db)
			db.Close()
		}
	}
	return out, err
}

// tornTail reports whether err is damage that the next open repairs by
// itself: a frame at the end of the last segment that fails its checksum
// with no valid frame after it.
func tornTail(err error, segs []segment) bool {
	var ce *CorruptionError
	if !errors.As(err, &ce) || len(segs) == 0 || ce.Path != segs[len(segs)-1].path || ce.Offset < 0 {
		return false
	}
	b, rerr := os.ReadFile(ce.Path)
	if rerr != nil || ce.Offset > int64(len(b)) {
		return false
	}
	if ce.Offset < segHeaderLen {
		return len(b) < segHeaderLen && segmentVersion(b) <= SegmentFormat
	}
	_, _, _, derr := decodeFrame(b[ce.Offset:])
	if !tornFrame(derr) {
		return false
	}
	_, valid := validFrameAfter(b, ce.Offset, ce.Seq-1)
	return !valid
}

// viewReadOnly opens the bbolt file at path read-only (it is never
// written) and runs fn in a read transaction; bbolt panics on damaged
// pages become a *CorruptionError.
func viewReadOnly(path string, fn func(tx *bolt.Tx) error) (err error) {
	db, err := openBolt(path, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		return err
	}
	defer db.Close()
	return viewSafe(db, fn)
}

// refuseNewer returns a *NewerError when anything in the data directory is
// newer than this build, and nil otherwise (damage is left to the caller's
// own checks). It runs before a step that would move or rewrite files
// before the journal is read: quarantining a store.db.
func refuseNewer(dir string, opts Options) error {
	if _, err := ReadFormats(dir, opts); isNewer(err) {
		return err
	}
	return nil
}

// newerStoreDB returns a *NewerError when the store.db of dir is of a newer
// schema, nil otherwise (also when it cannot be read right now: a server
// holds it, or it is missing or damaged, which the caller's own reads
// report). It lets a command that never reads store.db (restore) refuse a
// directory that a newer pimvault wrote, as every other command does.
func newerStoreDB(dir string) error {
	path := filepath.Join(dir, dbFile)
	if ok, _ := fileExists(path); !ok {
		return nil
	}
	db, err := openBolt(path, &bolt.Options{ReadOnly: true, Timeout: 50 * time.Millisecond})
	if err != nil {
		return nil
	}
	defer db.Close()
	err = viewSafe(db, func(tx *bolt.Tx) error { _, err := schemaOf(tx, path); return err })
	if isNewer(err) {
		return err
	}
	return nil
}

// releaseHint fills in the release a *NewerError needs from store.db's
// min_release when that names a release this build does not know: a
// release that writes journal operations or formats an earlier one cannot
// read records itself there. It returns err, filled in or as it was.
func releaseHint(err error, db *bolt.DB) error {
	var ne *NewerError
	if db == nil || !errors.As(err, &ne) || ne.Needs != "" {
		return err
	}
	viewSafe(db, func(tx *bolt.Tx) error {
		meta := tx.Bucket(bktMeta)
		if meta == nil {
			return nil
		}
		min := string(meta.Get(keyMinRelease))
		known := min == "" || min == schema1Release
		for _, m := range migrations {
			known = known || min == m.Release
		}
		if !known {
			ne.Needs = min
		}
		return nil
	})
	return err
}
