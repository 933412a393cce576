package storage

import (
	"context"
	"errors"
	"github.com/pimvault/pimvault/internal/fixture"
	"os"
	"path/filepath"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// The fixture: a data directory written by pimvault 0.1.0 (store.db schema
// 1), made by testdata/upgrade/make-schema1.sh, and what that pimvault said
// its state hash was.
const fixtureDir = "../testdata/upgrade"

// unpackFixture extracts schema1.tar.gz into a new directory and returns
// the data directory and the state hash the old version printed.
func unpackFixture(t *testing.T) (dir, stateHash string) {
	t.Helper()
	return fixture.UnpackSchema1(t, fixtureDir)
}

func schemaFile(t *testing.T, path string) (int, string) {
	t.Helper()
	var schema int
	var min string
	err := viewReadOnly(path, func(tx *bolt.Tx) error {
		var err error
		schema, err = schemaOf(tx, path)
		min = string(tx.Bucket(bktMeta).Get(keyMinRelease))
		return err
	})
	if err != nil {
		t.Fatalf("schema of %s: %v", path, err)
	}
	return schema, min
}

// withMigrations replaces the registry for one test (not parallel).
func withMigrations(t *testing.T, ms []migration) {
	old := migrations
	migrations = ms
	t.Cleanup(func() { migrations = old })
}

func TestUpgradeFromSchema1Fixture(t *testing.T) {
	dir, oldHash := unpackFixture(t)
	if s, _ := schemaFile(t, filepath.Join(dir, dbFile)); s != 1 {
		t.Fatalf("fixture store.db is at schema %d, want 1", s)
	}
	before := hashTree(t, dir)
	// Without Upgrade, nothing is migrated and the refusal says what to run.
	_, err := Open(dir, Options{})
	var une *UpgradeNeededError
	if !errors.As(err, &une) || une.FromSchema != 1 || !strings.Contains(err.Error(), "pimvault upgrade --data") {
		t.Fatalf("open without upgrade: %v, want an UpgradeNeededError naming pimvault upgrade", err)
	}
	plan, err := PlanUpgrade(dir, Options{})
	if err != nil || !plan.Needed() || len(plan.Steps) != 1 || !strings.Contains(plan.String(), "schema 1 → 2") {
		t.Fatalf("plan: %v\n%v", err, plan)
	}
	if hashTree(t, dir) != before {
		t.Fatal("a refused open or the upgrade check changed the directory")
	}

	s, err := Open(dir, Options{Upgrade: true})
	if err != nil {
		t.Fatalf("open with upgrade: %v", err)
	}
	rep := s.Upgraded()
	if rep == nil || rep.FromSchema != 1 || rep.ToSchema != currentSchema() || rep.Snapshot == "" {
		t.Fatalf("upgrade report %+v", rep)
	}
	if _, err := VerifySnapshot(rep.Snapshot, s.Identity().StoreID); err != nil {
		t.Fatalf("the snapshot taken before the upgrade does not verify: %v", err)
	}
	if sch, _ := schemaFile(t, rep.Snapshot); sch != 1 {
		t.Errorf("the snapshot before the upgrade is at schema %d, want the old schema 1", sch)
	}
	hash, seq, err := s.StateHash()
	if err != nil || hash != oldHash || seq != 12 {
		t.Fatalf("after the upgrade: state hash %s at %d (%v), pimvault 0.1.0 said %s at 12", hash, seq, err, oldHash)
	}
	checkIntegrity(t, s)
	mustCommit(t, s, putChange("alice", "contacts", "new.vcf", "new", vcard("new", 1)))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	sch, min := schemaFile(t, filepath.Join(dir, dbFile))
	if sch != currentSchema() || min != releaseOf(currentSchema()) {
		t.Fatalf("store.db after the upgrade: schema %d, min_release %q", sch, min)
	}

	// The snapshots of schema 1 stay usable: a restore from the old one.
	out := filepath.Join(t.TempDir(), "restored")
	rrep, err := Restore(context.Background(), RestoreOptions{DataDir: dir, Out: out, ToSeq: 12, KeepEpoch: true})
	if err != nil || rrep.StateHash != oldHash {
		t.Fatalf("restore to 12 after the upgrade: %v (state hash %v, want %s)", err, rrep, oldHash)
	}

	// A reader that knows only schema 1 refuses the migrated store and
	// says which release it needs, and changes nothing.
	withMigrations(t, nil)
	before = hashTree(t, dir)
	_, err = Open(dir, Options{Upgrade: true})
	if !errors.Is(err, ErrNewer) || !strings.Contains(err.Error(), "store.db schema 2") || !strings.Contains(err.Error(), "run pimvault ≥ 0.2.0") {
		t.Fatalf("schema-1 reader on the migrated store: %v", err)
	}
	if hashTree(t, dir) != before {
		t.Fatal("the schema-1 reader changed the directory")
	}
}

// TestFailedMigrationLeavesStoreAsItWas: a step that fails leaves store.db,
// the journal and every other file of the store as they were (only the
// snapshot taken before it is new), and the store opens as before.
func TestFailedMigrationLeavesStoreAsItWas(t *testing.T) {
	dir := newerFixture(t)
	withMigrations(t, append(append([]migration(nil), migrations...), migration{From: 2, To: 3, Release: "9.0.0", Kind: migrateInPlace,
		What: "a step that fails half way", apply: func(tx *bolt.Tx) error {
			if err := tx.Bucket(bktMeta).Put([]byte("half"), []byte("way")); err != nil {
				return err
			}
			return errors.New("disk on fire")
		}}))
	keep := func() string {
		snaps := filepath.Join(dir, SnapshotDir)
		tmp := t.TempDir()
		if err := os.Rename(snaps, filepath.Join(tmp, "s")); err != nil {
			t.Fatal(err)
		}
		h := hashTree(t, dir)
		if err := os.Rename(filepath.Join(tmp, "s"), snaps); err != nil {
			t.Fatal(err)
		}
		return h
	}
	before := keep()
	_, err := Open(dir, Options{Upgrade: true})
	if err == nil || !strings.Contains(err.Error(), "disk on fire") || !strings.Contains(err.Error(), "unchanged") {
		t.Fatalf("open with a failing migration: %v", err)
	}
	if keep() != before {
		t.Fatal("a failed migration changed the store")
	}
	if m, _ := filepath.Glob(filepath.Join(dir, SnapshotDir, preUpgradePrefix+"schema2-*.db")); len(m) != 1 {
		t.Fatalf("snapshot before the failed migration: %v", m)
	}
	withMigrations(t, migrations[:len(migrations)-1])
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatalf("open after the failed migration: %v", err)
	}
	checkIntegrity(t, s)
	s.Close()
}

// TestRebuildMigration: a schema step of the rebuild kind builds store.db
// from the journal at the new schema; the state hash stays, the old
// store.db goes to quarantine/ and a snapshot of it to snapshots/.
func TestRebuildMigration(t *testing.T) {
	dir := newerFixture(t)
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	want, _, _ := s.StateHash()
	s.Close()
	withMigrations(t, append(append([]migration(nil), migrations...), migration{From: 2, To: 3, Release: "9.0.0", Kind: migrateRebuild,
		What: "rebuild"}))
	s, err = Open(dir, Options{Upgrade: true})
	if err != nil {
		t.Fatalf("open with a rebuild migration: %v", err)
	}
	defer s.Close()
	if rep := s.Upgraded(); rep == nil || rep.Kind != migrateRebuild.String() || rep.Snapshot == "" {
		t.Fatalf("upgrade report %+v", rep)
	}
	if got, _, _ := s.StateHash(); got != want {
		t.Fatalf("state hash %s after the rebuild migration, want %s", got, want)
	}
	checkIntegrity(t, s)
	if m, _ := filepath.Glob(filepath.Join(dir, quarantineDir, dbFile+".*")); len(m) != 1 {
		t.Fatalf("old store.db in quarantine: %v", m)
	}
	mustCommit(t, s, putChange("alice", "contacts", "after.vcf", "after", vcard("after", 1)))
}

// TestPrunedJournalSeedsFromSchema1Snapshot: after retention pruned the
// journal, a new store.db starts from the snapshot journal/BASE names; one
// of schema 1 is migrated in the copy (the snapshot stays as it is, and its
// tag still verifies: the state hash does not depend on the schema).
func TestPrunedJournalSeedsFromSchema1Snapshot(t *testing.T) {
	dir := newerFixture(t)
	s, err := Open(dir, Options{SegmentSize: 4096})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Prune(context.Background(), 1, false); err != nil {
		t.Fatalf("prune: %v", err)
	}
	want, _, _ := s.StateHash()
	base, err := readBase(s.opts.JournalDir)
	if err != nil || base.Seq == 0 {
		t.Fatalf("no journal base after prune: %v %+v", err, base)
	}
	s.Close()
	snap := filepath.Join(dir, SnapshotDir, base.Snapshot)
	db, err := bolt.Open(snap, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error { // as pimvault 0.1.0 wrote it
		m := tx.Bucket(bktMeta)
		if err := m.Put(keySchema, u64(1)); err != nil {
			return err
		}
		return m.Delete(keyMinRelease)
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := VerifySnapshot(snap, storeIDHex(t, dir)); err != nil {
		t.Fatalf("the schema-1 snapshot's tag no longer verifies: %v", err)
	}
	if err := os.Remove(filepath.Join(dir, dbFile)); err != nil {
		t.Fatal(err)
	}
	s, err = Open(dir, Options{})
	if err != nil {
		t.Fatalf("open from the schema-1 base snapshot: %v", err)
	}
	defer s.Close()
	if got, _, _ := s.StateHash(); got != want {
		t.Fatalf("state hash %s, want %s", got, want)
	}
	checkIntegrity(t, s)
	if sch, _ := schemaFile(t, snap); sch != 1 {
		t.Fatalf("the base snapshot was changed to schema %d", sch)
	}
}

func storeIDHex(t *testing.T, dir string) string {
	t.Helper()
	_, id, err := readIdentityFile(dir)
	if err != nil {
		t.Fatal(err)
	}
	return id.StoreID
}
