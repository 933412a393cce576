package storage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// prunedStore writes a scripted history over many small segments with
// snapshots, prunes with a tiny retention and returns the store, its
// directory, the state hashes by sequence and the prune report.
func prunedStore(t *testing.T) (*Store, string, map[uint64]string, *PruneReport) {
	t.Helper()
	s, dir := openTestStore(t, Options{SegmentSize: 16 << 10})
	rng := rand.New(rand.NewPCG(9, 2))
	hashes := scriptedHistory(t, s, rng, 1500, 600)
	rep, err := s.Prune(context.Background(), time.Nanosecond, false)
	if err != nil {
		t.Fatalf("prune: %v", err)
	}
	if len(rep.Segments) < 3 || rep.Base == 0 || rep.Base > rep.SnapSeq {
		t.Fatalf("prune pruned too little or a bad base:\n%s", rep)
	}
	for i, p := range rep.Segments {
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("pruned segment %s still in the journal", p)
		}
		if _, err := os.Stat(rep.Moved[i]); err != nil || !strings.Contains(rep.Moved[i], quarantineDir) {
			t.Errorf("pruned segment not in quarantine: %s (%v)", rep.Moved[i], err)
		}
	}
	return s, dir, hashes, rep
}

func TestPruneThenReopenVerifyRebuild(t *testing.T) {
	s, dir, hashes, rep := prunedStore(t)
	ctx := context.Background()
	checkIntegrity(t, s)
	head := s.Head()
	if b, err := s.JournalBase(); err != nil || b.Seq != rep.Base || b.SnapSeq != rep.SnapSeq {
		t.Fatalf("JournalBase = %+v, %v; want base %d", b, err, rep.Base)
	}
	// Writes go on after pruning.
	mustCommit(t, s, putChange("alice", "contacts", "after.vcf", "uid-after", vcard("uid-after", 1)))
	if _, err := s.Rebuild(ctx); err != nil {
		t.Fatalf("rebuild after prune: %v", err)
	}
	checkIntegrity(t, s)
	want, _, _ := s.StateHash()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2, err := Open(dir, Options{SegmentSize: 16 << 10})
	if err != nil {
		t.Fatalf("reopen after prune: %v", err)
	}
	checkIntegrity(t, s2)
	s2.Close()
	// store.db gone: the open starts from the base's snapshot.
	if _, err := RebuildDir(dir, Options{SegmentSize: 16 << 10}); err != nil {
		t.Fatalf("RebuildDir after prune: %v", err)
	}
	s3, err := Open(dir, Options{SegmentSize: 16 << 10})
	if err != nil {
		t.Fatalf("open after RebuildDir: %v", err)
	}
	defer s3.Close()
	checkIntegrity(t, s3)
	if got, seq, _ := s3.StateHash(); got != want || seq != head+1 {
		t.Errorf("rebuilt state %s at %d, want %s at %d", got, seq, want, head+1)
	}
	_ = hashes
}

func TestPruneRestoreAndUndoAroundBase(t *testing.T) {
	s, dir, hashes, rep := prunedStore(t)
	ctx := context.Background()
	head := s.Head()
	// After the base: restores to the state the live store had.
	for _, target := range []uint64{rep.SnapSeq, (rep.SnapSeq + head) / 2, head} {
		out := filepath.Join(t.TempDir(), "r")
		r, err := Restore(ctx, RestoreOptions{DataDir: dir, Out: out, ToSeq: target})
		if err != nil {
			t.Fatalf("restore to %d after the base %d: %v", target, rep.Base, err)
		}
		if r.StateHash != hashes[target] {
			t.Errorf("restore to %d: state %s, live had %s", target, r.StateHash, hashes[target])
		}
		rs, err := OpenExisting(out, Options{})
		if err != nil {
			t.Fatalf("open restored: %v", err)
		}
		checkIntegrity(t, rs)
		rs.Close()
	}
	// Before the base: refused, naming the oldest point.
	out := filepath.Join(t.TempDir(), "r")
	_, err := Restore(ctx, RestoreOptions{DataDir: dir, Out: out, ToSeq: rep.Base / 2})
	if !errors.Is(err, ErrJournalPruned) || !strings.Contains(err.Error(), "oldest point you can restore to") {
		t.Fatalf("restore before the base: %v, want ErrJournalPruned", err)
	}
	if ents, _ := os.ReadDir(out); len(ents) != 0 {
		t.Errorf("refused restore left %d files", len(ents))
	}
	// Undo after the snapshot works; before the base it is refused.
	mid := (rep.SnapSeq + head) / 2
	if _, err := s.Undo(ctx, UndoRequest{Principal: "alice", ToSeq: mid}); err != nil {
		t.Fatalf("undo after the base: %v", err)
	}
	// alice's data is now as it was at mid: restore to mid agrees for her.
	out0 := filepath.Join(t.TempDir(), "r0")
	if _, err := Restore(ctx, RestoreOptions{DataDir: dir, Out: out0, ToSeq: mid}); err != nil {
		t.Fatal(err)
	}
	r0, err := OpenExisting(out0, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := collectionsOf(t, s, "alice"), collectionsOf(t, r0, "alice"); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("after undo to %d alice has\n%v\nthe restore to %d has\n%v", mid, got, mid, want)
	}
	r0.Close()
	if _, err := s.Undo(ctx, UndoRequest{Principal: "alice", ToSeq: rep.Base / 2, DryRun: true}); !errors.Is(err, ErrJournalPruned) {
		t.Fatalf("undo before the base: %v, want ErrJournalPruned", err)
	}
	if _, err := s.History("alice", "", 10); err != nil {
		t.Fatalf("history after prune: %v", err)
	}
}

func TestPruneRefusals(t *testing.T) {
	s, dir := openTestStore(t, Options{SegmentSize: 16 << 10})
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(3, 4))
	scriptedHistory(t, s, rng, 600, 0)
	before, _ := listSegments(filepath.Join(dir, "journal"))
	// No snapshot: nothing covers any segment.
	if _, err := s.Prune(ctx, time.Nanosecond, false); !errors.Is(err, ErrNothingToPrune) {
		t.Fatalf("prune without a snapshot: %v", err)
	}
	// retention 0 keeps everything.
	if _, err := s.Prune(ctx, 0, false); err == nil {
		t.Fatal("prune with retention 0 accepted")
	}
	// A snapshot whose copy no longer matches its tag is not trusted.
	info, _, err := s.SnapshotScheduled(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	good, _ := os.ReadFile(info.Path + sidecarExt)
	bad := strings.Replace(string(good), info.StateHash, strings.Repeat("0", len(info.StateHash)), 1)
	if err := os.WriteFile(info.Path+sidecarExt, []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Prune(ctx, time.Nanosecond, false); !errors.Is(err, ErrNothingToPrune) {
		t.Fatalf("prune with a snapshot that does not verify: %v", err)
	}
	if err := os.WriteFile(info.Path+sidecarExt, good, 0o600); err != nil {
		t.Fatal(err)
	}
	// Segments newer than the retention period are kept.
	rep, err := s.Prune(ctx, 24*time.Hour, false)
	if err != nil || len(rep.Segments) != 0 || !strings.Contains(rep.Kept, "newer than the retention") {
		t.Fatalf("prune of new segments: %v\n%v", err, rep)
	}
	// Dry run: says what it would do, moves nothing.
	rep, err = s.Prune(ctx, time.Nanosecond, true)
	if err != nil || len(rep.Segments) == 0 {
		t.Fatalf("dry run: %v\n%v", err, rep)
	}
	after, _ := listSegments(filepath.Join(dir, "journal"))
	if len(after) != len(before) {
		t.Errorf("segments %d, before %d: a refused or dry-run prune changed the journal", len(after), len(before))
	}
	if _, err := os.Stat(filepath.Join(dir, "journal", baseFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("BASE written by a refused or dry-run prune")
	}
}

const pruneChildEnv = "PIMVAULT_PRUNE_CHILD_DIR"

// TestPruneChild is the child of TestPruneCrashBetweenBaseAndMove: it opens
// the store and prunes, and SIGKILLs itself once BASE is written, before any
// segment is moved.
func TestPruneChild(t *testing.T) {
	dir := os.Getenv(pruneChildEnv)
	if dir == "" {
		t.Skip("child process of TestPruneCrashBetweenBaseAndMove; runs only when it sets " + pruneChildEnv)
	}
	s, err := Open(dir, Options{SegmentSize: 16 << 10})
	if err != nil {
		t.Fatalf("child open: %v", err)
	}
	pruneHook = func() { syscall.Kill(os.Getpid(), syscall.SIGKILL) }
	s.Prune(context.Background(), time.Nanosecond, false)
	t.Fatal("child survived the prune")
}

// TestPruneCrashBetweenBaseAndMove: a process is killed after writing BASE
// and before moving the segments: the store opens (skipping the segments
// below the base), verifies, rebuilds from the base's snapshot, and the
// next prune moves the leftovers.
func TestPruneCrashBetweenBaseAndMove(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{SegmentSize: 16 << 10})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	scriptedHistory(t, s, rand.New(rand.NewPCG(5, 6)), 800, 500)
	want, head, _ := s.StateHash()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	jdir := filepath.Join(dir, "journal")
	before, _ := listSegments(jdir)
	cmd := exec.Command(os.Args[0], "-test.run=^TestPruneChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), pruneChildEnv+"="+dir)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		t.Fatalf("child was not killed in the middle of pruning: %v\n%s", err, out)
	}
	base, err := readBase(jdir)
	if err != nil || base.Seq == 0 {
		t.Fatalf("BASE after the crash: %+v, %v", base, err)
	}
	if left, _ := listSegments(jdir); len(left) != len(before) || left[0].firstSeq > base.Seq {
		t.Fatalf("segments below the base should still be there: %d of %d", len(left), len(before))
	}
	s, err = Open(dir, Options{SegmentSize: 16 << 10})
	if err != nil {
		t.Fatalf("open after a crash between BASE and the move: %v", err)
	}
	defer s.Close()
	checkIntegrity(t, s)
	if _, err := s.Rebuild(ctx); err != nil {
		t.Fatalf("rebuild: %v", err)
	}
	checkIntegrity(t, s)
	if got, seq, _ := s.StateHash(); got != want || seq != head {
		t.Fatalf("state after crash and rebuild %s at %d, want %s at %d", got, seq, want, head)
	}
	rep, err := s.Prune(ctx, time.Nanosecond, false)
	if err != nil {
		t.Fatalf("prune after the crash: %v", err)
	}
	if left, _ := listSegments(jdir); len(left) == 0 || left[0].firstSeq <= base.Seq {
		t.Errorf("segments below the base not moved by the next prune:\n%s", rep)
	}
	checkIntegrity(t, s)
}

// TestScheduledSnapshotsKeepTheBaseSnapshot: --keep-snapshots deletes the
// oldest scheduled snapshots, but never the one journal/BASE names: the
// pruned journal before the base can only be rebuilt from it.
func TestScheduledSnapshotsKeepTheBaseSnapshot(t *testing.T) {
	s, dir, _, _ := prunedStore(t)
	ctx := context.Background()
	b, err := s.JournalBase()
	if err != nil || b.Snapshot == "" {
		t.Fatalf("JournalBase = %+v, %v; want a base naming its snapshot", b, err)
	}
	basePath := filepath.Join(dir, SnapshotDir, b.Snapshot)
	for i := range 3 {
		name := fmt.Sprintf("keep-%d.vcf", i)
		mustCommit(t, s, putChange("alice", "contacts", name, "uid-"+name, vcard("uid-"+name, i)))
		if _, _, err := s.SnapshotScheduled(ctx, 1); err != nil {
			t.Fatalf("scheduled snapshot %d: %v", i, err)
		}
	}
	if _, err := os.Stat(basePath); err != nil {
		t.Fatalf("the snapshot journal/BASE names was deleted by --keep-snapshots 1: %v", err)
	}
	dbs, _ := filepath.Glob(filepath.Join(dir, SnapshotDir, "*.db"))
	if len(dbs) != 2 {
		t.Errorf("snapshots left with keep 1: %v; want the newest and the base's", dbs)
	}
	checkIntegrity(t, s)
}

// TestJournalSize: the kept journal's segments and bytes are those on disk.
func TestJournalSize(t *testing.T) {
	s, dir := openTestStore(t, Options{SegmentSize: 4096})
	mustCommit(t, s, Change{Op: OpPutPrincipal, Principal: "u", Body: []byte("{}")})
	mustCommit(t, s, Change{Op: OpCreateCollection, Principal: "u", Collection: "c", Kind: "addressbook"})
	for i := 0; i < 40; i++ {
		mustCommit(t, s, Change{Op: OpPut, Principal: "u", Collection: "c", Name: fmt.Sprintf("%d.vcf", i), Body: bytes.Repeat([]byte("x"), 300)})
	}
	segs, size, err := s.JournalSize()
	if err != nil {
		t.Fatal(err)
	}
	ents, err := filepath.Glob(filepath.Join(dir, "journal", "*"+segExt))
	if err != nil {
		t.Fatal(err)
	}
	var want int64
	for _, e := range ents {
		st, err := os.Stat(e)
		if err != nil {
			t.Fatal(err)
		}
		want += st.Size()
	}
	if segs < 2 || segs != len(ents) || size != want {
		t.Fatalf("JournalSize = %d segments, %d bytes; on disk %d segments, %d bytes", segs, size, len(ents), want)
	}
}
