package storage

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/pimvault/pimvault/version"
	bolt "go.etcd.io/bbolt"
)

// Migrations. store.db is a projection of the journal, so a new schema is
// reached either in place (one bbolt write transaction over every step, so
// a failed migration leaves store.db exactly as it was) or by building a
// new store.db from the journal at the new schema and renaming it into
// place only once complete. Before either, an upgrade writes a verified
// snapshot of the old store.db into snapshots/ (the way back: see
// docs/UPGRADING.md). The journal needs no migration step: a new journal
// format is read old, written new (old segments and records stay as they
// are and keep being read; new ones are written in the new format), and an
// older build refuses the new ones (NewerError).

// migrationKind says how a schema step is taken.
type migrationKind int

const (
	migrateInPlace migrationKind = iota // apply in one write transaction of store.db
	migrateRebuild                      // build a new store.db from the journal
)

func (k migrationKind) String() string {
	if k == migrateRebuild {
		return "rebuild store.db from the journal"
	}
	return "in place, one transaction"
}

// migration is one store.db schema step.
type migration struct {
	From, To int
	Release  string // lowest release that reads schema To
	Kind     migrationKind
	// SameLayout: the data buckets did not change, so this build can read
	// a snapshot of schema From as it is (undo, restore, snapshot checks).
	SameLayout bool
	What       string                  // one line for 'pimvault upgrade --check'
	apply      func(tx *bolt.Tx) error // migrateInPlace only
}

// schema1Release is the release every store.db of schema 1 was written by
// (the releases before store.db recorded one).
const schema1Release = "0.1.0"

// migrations is the registry of store.db schema steps, in order; the last
// one's To is the schema this build writes.
var migrations = []migration{
	{From: 1, To: 2, Release: "0.2.0", Kind: migrateInPlace, SameLayout: true,
		What:  "record in store.db's meta bucket the lowest release that reads it (min_release) and the history of its migrations (migrations); the data buckets do not change",
		apply: func(*bolt.Tx) error { return nil }},
}

// Meta keys of schema 2 (kept by every later schema, read by every build).
var (
	// lowest release that reads this data directory: store.db, and the
	// journal operations and formats its release writes (a release that
	// starts writing a new operation stamps itself here first)
	keyMinRelease = []byte("min_release")
	keyMigrations = []byte("migrations") // JSON []MigrationRecord
)

// MigrationRecord is one entry of store.db's migration history.
type MigrationRecord struct {
	From     int       `json:"from"`
	To       int       `json:"to"`
	Release  string    `json:"release"`            // the pimvault that migrated
	Commit   string    `json:"commit,omitempty"`   // its VCS revision
	At       time.Time `json:"at"`                 // when
	Kind     string    `json:"kind"`               // in place or rebuilt
	Snapshot string    `json:"snapshot,omitempty"` // the snapshot taken before
}

func currentSchema() int {
	if len(migrations) == 0 {
		return 1
	}
	return migrations[len(migrations)-1].To
}

// releaseOf returns the lowest release that reads schema.
func releaseOf(schema int) string {
	for _, m := range migrations {
		if m.To == schema {
			return m.Release
		}
	}
	return schema1Release
}

// stepsFrom returns the migrations from schema to the current one.
func stepsFrom(schema int) []migration {
	var out []migration
	for _, m := range migrations {
		if m.From >= schema {
			out = append(out, m)
		}
	}
	return out
}

// readableAsIs reports whether this build reads a store.db of schema as it
// is (read-only: snapshots).
func readableAsIs(schema int) bool {
	for _, m := range stepsFrom(schema) {
		if !m.SameLayout {
			return false
		}
	}
	return true
}

func needsRebuild(steps []migration) bool {
	for _, m := range steps {
		if m.Kind == migrateRebuild {
			return true
		}
	}
	return false
}

// writeSchema stamps tx with the current schema and its lowest release and,
// when rec is not nil, appends it to the migration history.
func writeSchema(tx *bolt.Tx, rec *MigrationRecord) error {
	meta := tx.Bucket(bktMeta)
	if err := meta.Put(keySchema, u64(uint64(currentSchema()))); err != nil {
		return err
	}
	if err := meta.Put(keyMinRelease, []byte(releaseOf(currentSchema()))); err != nil {
		return err
	}
	if rec == nil {
		return nil
	}
	var hist []MigrationRecord
	if v := meta.Get(keyMigrations); v != nil {
		if err := json.Unmarshal(v, &hist); err != nil {
			return fmt.Errorf("store.db migration history: %w", err)
		}
	}
	b, err := json.Marshal(append(hist, *rec))
	if err != nil {
		return err
	}
	return meta.Put(keyMigrations, b)
}

// initCopy initialises a new store.db in tx, or checks a copy of a
// snapshot in it and migrates that copy in place to the current schema
// (the snapshot it was copied from stays as it is, so no other is taken).
func initCopy(tx *bolt.Tx, storeID [16]byte, path string) (uint64, [32]byte, error) {
	if tx.Bucket(bktMeta) == nil {
		return initProjection(tx, storeID, path)
	}
	applied, hash, schema, err := checkProjection(tx, storeID, path)
	if err == nil && schema < currentSchema() {
		err = migrateInPlaceTx(tx, schema, newMigrationRecord(schema, migrateInPlace, ""))
	}
	return applied, hash, err
}

// migrateInPlaceTx applies every in-place step from schema in tx.
func migrateInPlaceTx(tx *bolt.Tx, schema int, rec *MigrationRecord) error {
	for _, m := range stepsFrom(schema) {
		if m.Kind != migrateInPlace {
			return fmt.Errorf("store.db schema %d to %d needs a rebuild from the journal", m.From, m.To)
		}
		if err := m.apply(tx); err != nil {
			return fmt.Errorf("migrate store.db from schema %d to %d: %w", m.From, m.To, err)
		}
	}
	return writeSchema(tx, rec)
}

func newMigrationRecord(from int, kind migrationKind, snapshot string) *MigrationRecord {
	return &MigrationRecord{From: from, To: currentSchema(), Release: version.Name(), Commit: version.Commit(),
		At: time.Now().UTC(), Kind: kind.String(), Snapshot: snapshot}
}

// UpgradeReport says what an upgrade did.
type UpgradeReport struct {
	FromSchema int
	ToSchema   int
	Snapshot   string // verified snapshot of store.db taken before
	Kind       string
	Took       time.Duration
}

func (r *UpgradeReport) String() string {
	return fmt.Sprintf("upgraded store.db from schema %d to %d (%s) in %s\nsnapshot of the old store.db, verified: %s\n",
		r.FromSchema, r.ToSchema, r.Kind, r.Took.Round(time.Millisecond), r.Snapshot)
}

// Upgraded returns what Open upgraded, or nil when it upgraded nothing.
func (s *Store) Upgraded() *UpgradeReport { return s.upgraded }

// upgradeProjection migrates the open store.db (s.db, at schema, having
// applied applied) to the current schema after the journal was checked
// (s.j): a verified snapshot first, then the steps. It returns the applied
// sequence and hash of the migrated store.db.
func (s *Store) upgradeProjection(schema int, applied uint64, appliedHash [32]byte) (uint64, [32]byte, error) {
	start := time.Now()
	steps := stepsFrom(schema)
	kind := migrateInPlace
	if needsRebuild(steps) {
		kind = migrateRebuild
	}
	rep := &UpgradeReport{FromSchema: schema, ToSchema: currentSchema(), Kind: kind.String()}
	if !s.opts.upgradeNoSnapshot {
		snap, err := s.preUpgradeSnapshot(schema, applied)
		if err != nil {
			return applied, appliedHash, fmt.Errorf("snapshot before upgrading store.db (nothing was migrated): %w", err)
		}
		rep.Snapshot = snap
		s.log.Info("upgrade: verified snapshot of store.db written before migrating", "path", snap, "schema", schema, "seq", applied)
	}
	rec := newMigrationRecord(schema, kind, rep.Snapshot)
	if kind == migrateInPlace {
		if err := updateSafe(s.db, func(tx *bolt.Tx) error { return migrateInPlaceTx(tx, schema, rec) }); err != nil {
			return applied, appliedHash, fmt.Errorf("%w (store.db is unchanged: the migration is one transaction)", err)
		}
	} else {
		var err error
		if applied, appliedHash, err = s.rebuildForUpgrade(rec); err != nil {
			return applied, appliedHash, fmt.Errorf("upgrade store.db by rebuilding it from the journal: %w (store.db is unchanged)", err)
		}
	}
	rep.Took = time.Since(start)
	s.upgraded = rep
	s.log.Info("upgrade: store.db migrated", "from", schema, "to", currentSchema(), "how", kind.String(), "took", rep.Took)
	return applied, appliedHash, nil
}

// preUpgradeSnapshot writes a snapshot of s.db into snapshots/ with the
// snapshot machinery (copy, reopen read-only, compare state hashes, tag).
func (s *Store) preUpgradeSnapshot(schema int, applied uint64) (string, error) {
	dir := filepath.Join(s.dir, SnapshotDir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	path := filepath.Join(dir, fmt.Sprintf("%sschema%d-%020d-%s%s", preUpgradePrefix, schema, applied, time.Now().UTC().Format("20060102T150405Z"), snapshotExt))
	tx, err := s.db.Begin(false)
	if err != nil {
		return "", err
	}
	info, live, err := writeSnapshotTx(context.Background(), tx, path)
	tx.Rollback()
	if err != nil {
		os.Remove(path + ".tmp")
		return "", err
	}
	info.StoreID = s.id.StoreID
	info.Time = s.recordTime(info.Seq)
	got, err := checkSnapshotCopy(path, s.storeID, info, true)
	if err == nil && got != live {
		err = fmt.Errorf("snapshot %s: state hash %s differs from store.db's %s: %w", path, got, live, ErrSnapshotInvalid)
	}
	if err != nil {
		quarantineBadSnapshot(s.dir, path)
		return "", err
	}
	info.StateHash, info.Verified = live, true
	if err := writeSidecar(path, info); err != nil {
		return "", err
	}
	return path, nil
}

// preUpgradePrefix names the snapshots an upgrade takes; scheduled
// snapshot rotation never deletes them.
const preUpgradePrefix = "pre-upgrade-"

// rebuildForUpgrade builds store.db at the current schema from the journal
// under a temporary name, then moves the old one to quarantine/ and renames
// the new one into place.
func (s *Store) rebuildForUpgrade(rec *MigrationRecord) (uint64, [32]byte, error) {
	var zero [32]byte
	path := filepath.Join(s.dir, dbFile)
	tmp := path + rebuildSuffix
	os.Remove(tmp)
	db, last, _, err := s.replayIntoMode(context.Background(), tmp, s.j.lastSeq, replayRebuild)
	if err != nil {
		os.Remove(tmp)
		return 0, zero, err
	}
	if err := updateSafe(db, func(tx *bolt.Tx) error { return writeSchema(tx, rec) }); err != nil {
		db.Close()
		os.Remove(tmp)
		return 0, zero, err
	}
	db.NoSync = false
	if err := db.Sync(); err != nil {
		db.Close()
		os.Remove(tmp)
		return 0, zero, err
	}
	db.Close()
	if err := s.db.Close(); err != nil {
		return 0, zero, err
	}
	s.db = nil
	if _, err := quarantine(s.dir, path); err != nil {
		return 0, zero, err
	}
	if err := os.Rename(tmp, path); err != nil {
		return 0, zero, err
	}
	if err := syncDir(s.dir); err != nil {
		return 0, zero, err
	}
	if s.db, err = s.openDB(path); err != nil {
		return 0, zero, err
	}
	return s.j.lastSeq, last, nil
}

// UpgradePlan says what an upgrade of a data directory would do.
type UpgradePlan struct {
	Dir      string
	Formats  DirFormats
	Steps    []string // one line per store.db step
	Rebuild  bool     // a step rebuilds store.db from the journal
	Snapshot string   // where the snapshot before it would go
}

// Needed reports whether anything would change.
func (p *UpgradePlan) Needed() bool { return len(p.Steps) > 0 }

func (p *UpgradePlan) String() string {
	var b strings.Builder
	cur := CurrentFormats()
	fmt.Fprintf(&b, "data directory: %s\n", p.Dir)
	fmt.Fprintf(&b, "IDENTITY: format %d (this pimvault: %d)\n", p.Formats.Identity, cur.Identity)
	var segs []string
	for v := 1; v <= SegmentFormat; v++ {
		if n := p.Formats.Segments[v]; n > 0 {
			segs = append(segs, fmt.Sprintf("%d segments of format %d", n, v))
		}
	}
	if len(segs) == 0 {
		segs = append(segs, "no segments")
	}
	fmt.Fprintf(&b, "journal: %s, %d records, highest operation %d (%v); this pimvault reads segment formats up to %d, operations up to %d: nothing to migrate (new records are written in format %d, old ones are kept and read as they are)\n",
		strings.Join(segs, ", "), p.Formats.Records, p.Formats.HighOp, p.Formats.HighOp, SegmentFormat, HighestOp, RecordFormat)
	switch {
	case p.Formats.Schema == 0:
		fmt.Fprintf(&b, "store.db: none (the next open builds it from the journal at schema %d)\n", cur.Schema)
	case !p.Needed():
		fmt.Fprintf(&b, "store.db: schema %d, current\n", p.Formats.Schema)
	default:
		fmt.Fprintf(&b, "store.db: schema %d, this pimvault uses %d:\n", p.Formats.Schema, cur.Schema)
		for _, st := range p.Steps {
			fmt.Fprintf(&b, "  %s\n", st)
		}
		fmt.Fprintf(&b, "before migrating, a verified snapshot of store.db is written to %s\n", p.Snapshot)
		fmt.Fprintf(&b, "after it, pimvault older than %s refuses this directory; to go back, see docs/UPGRADING.md\n", releaseOf(cur.Schema))
	}
	if p.Needed() {
		fmt.Fprintf(&b, "run 'pimvault upgrade --data %s' (or start 'pimvault serve', which upgrades at start)\n", p.Dir)
	} else {
		b.WriteString("nothing to upgrade\n")
	}
	return b.String()
}

// PlanUpgrade reads the data directory dir without changing it and says
// what an upgrade would do. Data newer than this build is a *NewerError.
func PlanUpgrade(dir string, opts Options) (*UpgradePlan, error) {
	f, err := ReadFormats(dir, opts)
	if err != nil {
		return nil, err
	}
	p := &UpgradePlan{Dir: dir, Formats: *f}
	if f.Schema > 0 && f.Schema < currentSchema() {
		steps := stepsFrom(f.Schema)
		p.Rebuild = needsRebuild(steps)
		for _, m := range steps {
			p.Steps = append(p.Steps, fmt.Sprintf("schema %d → %d (%s): %s", m.From, m.To, m.Kind, m.What))
		}
		p.Snapshot = filepath.Join(dir, SnapshotDir, fmt.Sprintf("%sschema%d-<seq>-<time>%s", preUpgradePrefix, f.Schema, snapshotExt))
	}
	return p, nil
}

// digestMeta is the state-hash part of the meta bucket. The state hash says
// what a store holds, not how it is laid out: the schema key counts as
// schema 1 whatever its value, and the migration bookkeeping of later
// schemas (min_release, migrations) is left out. So a store has the same
// state hash before and after a migration, and the tags of snapshots taken
// by earlier versions still verify.
func digestMeta(meta *bolt.Bucket) [32]byte {
	var tmp [32]byte
	h := sha256.New()
	var n [8]byte
	meta.ForEach(func(k, v []byte) error {
		switch string(k) {
		case string(keyMinRelease), string(keyMigrations):
			return nil
		case string(keySchema):
			v = u64(1)
		}
		if v == nil {
			return nil
		}
		binary.BigEndian.PutUint64(n[:], uint64(len(k)))
		h.Write(n[:])
		h.Write(k)
		binary.BigEndian.PutUint64(n[:], uint64(len(v)))
		h.Write([]byte{'V'})
		h.Write(n[:])
		h.Write(v)
		return nil
	})
	copy(tmp[:], h.Sum(nil))
	return tmp
}
