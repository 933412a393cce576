package storage

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

const (
	rebuildChildDirEnv = "PIMVAULT_REBUILD_CHILD_DIR"
	rebuildTestSegment = 64 << 10 // several sealed segments
)

// fillRebuildStore writes a store with puts, overwrites, deletes, moves and
// property changes in two collections, closes it and returns its state hash
// and head.
func fillRebuildStore(t *testing.T, dir string, n int) (string, uint64) {
	t.Helper()
	s, err := Open(dir, Options{SegmentSize: rebuildTestSegment})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	seedCollection(t, s, "alice", "contacts")
	seedCollection(t, s, "alice", "archive")
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("c%05d.vcf", i%(n/2+1))
		mustCommit(t, s, putChange("alice", "contacts", name, fmt.Sprintf("uid-%d", i), vcard(name, i)))
		switch {
		case i%7 == 3:
			mustCommit(t, s, Change{Op: OpDelete, Principal: "alice", Collection: "contacts", Name: name})
		case i%11 == 5:
			mustCommit(t, s, Change{Op: OpMove, Principal: "alice", Collection: "contacts", Name: name, ToCollection: "archive", ToName: fmt.Sprintf("m%05d.vcf", i)})
		case i%97 == 0:
			mustCommit(t, s, Change{Op: OpSetProps, Principal: "alice", Collection: "archive", Props: map[string][]byte{"displayname": []byte(name)}})
		}
	}
	hash, head, err := s.StateHash()
	if err != nil {
		t.Fatalf("state hash: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	return hash, head
}

// TestRebuildChild is the child process of TestRebuildKilledMidway.
func TestRebuildChild(t *testing.T) {
	dir := os.Getenv(rebuildChildDirEnv)
	if dir == "" {
		t.Skip("helper process for TestRebuildKilledMidway; runs only when re-executed by it")
	}
	os.Stdout.WriteString("start\n")
	if _, err := RebuildDir(dir, Options{SegmentSize: rebuildTestSegment}); err != nil {
		fmt.Fprintf(os.Stdout, "fail %v\n", err)
		os.Exit(3)
	}
	os.Stdout.WriteString("done\n")
	time.Sleep(time.Minute) // wait for the kill
}

// TestRebuildKilledMidway kills a rebuild (RebuildDir in a child process)
// with SIGKILL at random moments. After each kill store.db is absent or
// holds the whole journal (a partial one is never left as store.db), and the
// store reopens to the state hash it had before.
func TestRebuildKilledMidway(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skips the rebuild crash loop (6 SIGKILLs of a rebuilding child); make test runs it")
	}
	dir := t.TempDir()
	want, head := fillRebuildStore(t, dir, 2000)
	// Time one rebuild in this process to spread the kills over it.
	start := time.Now()
	if _, err := RebuildDir(dir, Options{SegmentSize: rebuildTestSegment}); err != nil {
		t.Fatalf("rebuild: %v", err)
	}
	took := time.Since(start)
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 0))
	t.Logf("one rebuild of %d records took %v; kill timing seed %d", head, took, seed)
	var partial int
	for round := 1; round <= 6; round++ {
		delay := time.Duration(rng.Int64N(int64(took)*3/2 + int64(20*time.Millisecond)))
		cmd := exec.Command(os.Args[0], "-test.run", "^TestRebuildChild$")
		cmd.Env = append(os.Environ(), rebuildChildDirEnv+"="+dir)
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 6)
		if _, err := out.Read(buf); err != nil || string(buf) != "start\n" {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("round %d: child said %q (%v), want start", round, buf, err)
		}
		time.Sleep(delay)
		cmd.Process.Signal(os.Kill)
		rest := make([]byte, 512)
		n, _ := out.Read(rest)
		cmd.Wait()
		if strings.HasPrefix(string(rest[:n]), "fail") {
			t.Fatalf("round %d: child: %s", round, rest[:n])
		}
		applied, ok := appliedOfFile(t, filepath.Join(dir, dbFile))
		if ok && applied != head {
			t.Fatalf("round %d (killed after %v): store.db is in place with applied sequence %d of %d: a partial rebuild was published", round, delay, applied, head)
		}
		if !ok {
			partial++
		}
		s, err := Open(dir, Options{SegmentSize: rebuildTestSegment})
		if err != nil {
			t.Fatalf("round %d: open after kill: %v", round, err)
		}
		got, gotHead, err := s.StateHash()
		if err != nil || got != want || gotHead != head {
			s.Close()
			t.Fatalf("round %d: state %s at %d (%v), want %s at %d", round, got, gotHead, err, want, head)
		}
		checkIntegrity(t, s)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(filepath.Join(dir, dbFile+rebuildSuffix)); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("round %d: %s%s left behind after a successful open (%v)", round, dbFile, rebuildSuffix, err)
		}
		os.RemoveAll(filepath.Join(dir, quarantineDir))
	}
	t.Logf("%d of 6 kills left no store.db (rebuilt on the next open)", partial)
}

// appliedOfFile reads the applied sequence of a store.db file, or reports
// that there is none.
func appliedOfFile(t *testing.T, path string) (uint64, bool) {
	t.Helper()
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return 0, false
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		t.Fatalf("open %s: %v", path, err)
	}
	defer db.Close()
	var applied uint64
	db.View(func(tx *bolt.Tx) error {
		if m := tx.Bucket(bktMeta); m != nil {
			if v := m.Get(keyAppliedSeq); len(v) == 8 {
				applied = binary.BigEndian.Uint64(v)
			}
		}
		return nil
	})
	return applied, true
}

// TestRebuildRefusedOnDamageLeavesNothing: a full rebuild that meets damage
// in the middle of the journal (a flipped byte in a sealed segment) refuses,
// and leaves neither store.db nor its temporary file.
func TestRebuildRefusedOnDamageLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	want, head := fillRebuildStore(t, dir, 1500)
	segs, err := listSegments(filepath.Join(dir, "journal"))
	if err != nil || len(segs) < 3 {
		t.Fatalf("want at least 3 segments, have %d (%v)", len(segs), err)
	}
	seg := segs[len(segs)/2].path
	orig, err := os.ReadFile(seg)
	if err != nil {
		t.Fatal(err)
	}
	bad := append([]byte(nil), orig...)
	bad[len(bad)/2] ^= 0x40
	if err := os.WriteFile(seg, bad, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = RebuildDir(dir, Options{SegmentSize: rebuildTestSegment})
	var ce *CorruptionError
	if !errors.As(err, &ce) || ce.Path != seg {
		t.Fatalf("rebuild over a damaged sealed segment: %v, want a *CorruptionError naming %s", err, seg)
	}
	for _, name := range []string{dbFile, dbFile + rebuildSuffix} {
		if _, err := os.Stat(filepath.Join(dir, name)); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s exists after a refused rebuild (%v)", name, err)
		}
	}
	// Put the segment back: the store rebuilds to the same state.
	if err := os.WriteFile(seg, orig, 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := Open(dir, Options{SegmentSize: rebuildTestSegment})
	if err != nil {
		t.Fatalf("open after repair: %v", err)
	}
	defer s.Close()
	got, gotHead, err := s.StateHash()
	if err != nil || got != want || gotHead != head {
		t.Fatalf("state %s at %d (%v), want %s at %d", got, gotHead, err, want, head)
	}
	checkIntegrity(t, s)
	if _, err := s.Rebuild(context.Background()); err != nil {
		t.Fatalf("online rebuild: %v", err)
	}
	if got, _, _ := s.StateHash(); got != want {
		t.Fatalf("state after online rebuild %s, want %s", got, want)
	}
}

// TestRebuildWithSyncProjection: with SyncProjection a rebuilt store.db is
// fsynced before it is published, marked "sync", and later commits fsync it
// again (the bulk load's NoSync does not stay on).
func TestRebuildWithSyncProjection(t *testing.T) {
	dir := t.TempDir()
	opts := Options{SegmentSize: rebuildTestSegment, SyncProjection: true}
	s, err := Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	seedCollection(t, s, "alice", "contacts")
	for i := 0; i < 50; i++ {
		mustCommit(t, s, putChange("alice", "contacts", fmt.Sprintf("%d.vcf", i), fmt.Sprintf("u%d", i), vcard("x", i)))
	}
	want, head, _ := s.StateHash()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := RebuildDir(dir, opts); err != nil {
		t.Fatalf("rebuild: %v", err)
	}
	s, err = Open(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got, gotHead, _ := s.StateHash(); got != want || gotHead != head {
		t.Fatalf("state %s at %d, want %s at %d", got, gotHead, want, head)
	}
	if s.db.NoSync || s.db.NoGrowSync {
		t.Fatalf("store.db NoSync=%v NoGrowSync=%v after a rebuild with SyncProjection, want both false", s.db.NoSync, s.db.NoGrowSync)
	}
	b, err := os.ReadFile(filepath.Join(dir, dirtyFile))
	if err != nil || !strings.HasSuffix(strings.TrimSpace(string(b)), " sync") {
		t.Fatalf("DIRTY = %q (%v), want this boot and sync", b, err)
	}
	mustCommit(t, s, putChange("alice", "contacts", "after.vcf", "after", vcard("after", 1)))
	checkIntegrity(t, s)
}

// TestReplayerStopsOnABadRecord: a record that cannot be applied (a put into
// a collection that does not exist) ends the replay with a *CorruptionError
// naming its sequence; the transaction it was in is not committed, and add
// returns the error so the scan stops.
func TestReplayerStopsOnABadRecord(t *testing.T) {
	db, err := bolt.Open(filepath.Join(t.TempDir(), dbFile), 0o600, &bolt.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var id [16]byte
	if err := db.Update(func(tx *bolt.Tx) error { _, _, err := initProjection(tx, id, "x"); return err }); err != nil {
		t.Fatal(err)
	}
	rp := newReplayer(db, replayRebuild)
	var h [32]byte
	recs := []*Record{
		{Seq: 1, Op: OpPutPrincipal, Principal: "alice"},
		{Seq: 2, Op: OpPut, Principal: "alice", Collection: "missing", Name: "a.vcf", Body: []byte("x")},
	}
	var addErr error
	for i := 0; i < 20*replayChunk && addErr == nil; i++ { // more than the queue holds
		r := recs[min(i, 1)]
		addErr = rp.add(r, h)
	}
	err = rp.finish()
	var ce *CorruptionError
	if !errors.As(err, &ce) || ce.Seq != 2 || !strings.Contains(ce.What, "cannot be applied") {
		t.Fatalf("finish: %v, want a *CorruptionError for record 2", err)
	}
	if addErr == nil {
		t.Errorf("add kept accepting records after the applier failed")
	}
	if rp.records() != 0 {
		t.Errorf("%d records committed, want 0", rp.records())
	}
	db.View(func(tx *bolt.Tx) error {
		if seq, _ := readApplied(tx); seq != 0 || principalLive(tx, "alice") {
			t.Errorf("store.db changed: applied %d, alice live %v", seq, principalLive(tx, "alice"))
		}
		return nil
	})
}
