package storage

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// scriptedHistory runs n random changes (puts, edits, deletes, moves,
// collection creation, deletion and property changes, for two principals)
// against s, taking a snapshot every snapEvery changes, and returns the state
// hash the store had after each sequence.
func scriptedHistory(t *testing.T, s *Store, rng *rand.Rand, n, snapEvery int) map[uint64]string {
	t.Helper()
	ctx := context.Background()
	hashes := map[uint64]string{}
	record := func() {
		h, seq, err := s.StateHash()
		if err != nil {
			t.Fatal(err)
		}
		hashes[seq] = h
	}
	users := []string{"alice", "bob"}
	cols := map[string][]string{}
	for _, u := range users {
		seedCollection(t, s, u, "contacts")
		cols[u] = []string{"contacts"}
	}
	record()
	for i := 0; i < n; i++ {
		if snapEvery > 0 && i%snapEvery == snapEvery-1 {
			if _, _, err := s.SnapshotScheduled(ctx, 0); err != nil {
				t.Fatalf("snapshot: %v", err)
			}
		}
		u := users[rng.IntN(len(users))]
		c := cols[u][rng.IntN(len(cols[u]))]
		name := fmt.Sprintf("o%d.vcf", rng.IntN(40))
		var ch Change
		switch k := rng.IntN(100); {
		case k < 50:
			ch = putChange(u, c, name, "uid-"+name, vcard("uid-"+name, rng.IntN(1000)))
		case k < 70:
			ch = Change{Op: OpDelete, Principal: u, Collection: c, Name: name}
		case k < 80:
			to := cols[u][rng.IntN(len(cols[u]))]
			ch = Change{Op: OpMove, Principal: u, Collection: c, Name: name, ToCollection: to, ToName: fmt.Sprintf("m%d.vcf", rng.IntN(40)), Overwrite: true}
		case k < 85:
			ch = Change{Op: OpSetProps, Principal: u, Collection: c, Props: map[string][]byte{"{DAV:}displayname": []byte(fmt.Sprintf("name %d", i))}}
		case k < 92:
			nc := fmt.Sprintf("col%d", rng.IntN(4))
			ch = Change{Op: OpCreateCollection, Principal: u, Collection: nc, Kind: "addressbook"}
			if _, err := s.Commit(ctx, ch); err == nil {
				cols[u] = append(cols[u], nc)
				record()
			}
			continue
		default:
			if c == "contacts" {
				continue
			}
			ch = Change{Op: OpDeleteCollection, Principal: u, Collection: c}
			if _, err := s.Commit(ctx, ch); err == nil {
				var keep []string
				for _, x := range cols[u] {
					if x != c {
						keep = append(keep, x)
					}
				}
				cols[u] = keep
				record()
			}
			continue
		}
		if _, err := s.Commit(ctx, ch); err != nil && !errors.Is(err, ErrNotFound) && !errors.Is(err, ErrUIDConflict) && !errors.Is(err, ErrPreconditionFailed) {
			t.Fatalf("change %d: %v", i, err)
		}
		record()
	}
	return hashes
}

// TestRestoreAtRandomPoints: restores at 20 random
// points of a long scripted history (10 by sequence, 10 by time) have the
// state hash the live store had at that point, and start a new epoch.
func TestRestoreAtRandomPoints(t *testing.T) {
	s, dir := openTestStore(t, Options{SegmentSize: 64 << 10})
	rng := rand.New(rand.NewPCG(6, 1))
	hashes := scriptedHistory(t, s, rng, 3000, 700)
	snaps, err := ListSnapshots(filepath.Join(dir, SnapshotDir))
	if err != nil || len(snaps) < 3 {
		t.Fatalf("snapshots: %d, %v", len(snaps), err)
	}
	head := s.Head()
	usedSnapshot := 0
	for i := 0; i < 20; i++ {
		target := 1 + rng.Uint64N(head)
		if i == 0 {
			target = head
		}
		o := RestoreOptions{DataDir: dir, Out: filepath.Join(t.TempDir(), "restored")}
		if i%2 == 0 {
			o.ToSeq = target
		} else {
			o.ToTime = time.Unix(0, s.recordTime(target))
			// Records of one group commit share a time: the target is the
			// last record written at that time.
			for target < head && s.recordTime(target+1) == s.recordTime(target) {
				target++
			}
		}
		rep, err := Restore(context.Background(), o)
		if err != nil {
			t.Fatalf("restore %d to %d: %v", i, target, err)
		}
		if rep.TargetSeq != target {
			t.Fatalf("restore %d: target %d, want %d", i, rep.TargetSeq, target)
		}
		want, ok := hashes[target]
		if !ok {
			t.Fatalf("no recorded hash at %d", target)
		}
		if rep.StateHash != want {
			t.Errorf("restore to %d (snapshot %d): state hash %s, live had %s", target, rep.SnapshotSeq, rep.StateHash, want)
		}
		if rep.Snapshot != "" {
			usedSnapshot++
		}
		r, err := OpenExisting(o.Out, Options{})
		if err != nil {
			t.Fatalf("open restored: %v", err)
		}
		epoch, start, err := r.Epoch()
		if err != nil || epoch != rep.Epoch || start != target+1 {
			t.Errorf("restored epoch %s at %d, want %s at %d (%v)", epoch, start, rep.Epoch, target+1, err)
		}
		checkIntegrity(t, r)
		r.Close()
	}
	if usedSnapshot == 0 {
		t.Errorf("no restore started from a snapshot")
	}
}

func TestRestoreRefusesNonEmptyOutput(t *testing.T) {
	s, dir := openTestStore(t, Options{})
	seedCollection(t, s, "alice", "contacts")
	out := t.TempDir()
	if err := os.WriteFile(filepath.Join(out, "keep.txt"), []byte("mine"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Restore(context.Background(), RestoreOptions{DataDir: dir, Out: out})
	if !errors.Is(err, ErrNotEmpty) {
		t.Fatalf("restore into non-empty dir: %v, want ErrNotEmpty", err)
	}
	if b, err := os.ReadFile(filepath.Join(out, "keep.txt")); err != nil || string(b) != "mine" {
		t.Fatalf("existing file touched: %q %v", b, err)
	}
	if ents, _ := os.ReadDir(out); len(ents) != 1 {
		t.Fatalf("output dir has %d entries, want 1", len(ents))
	}
}

func TestRestoreSkipsDamagedSnapshot(t *testing.T) {
	s, dir := openTestStore(t, Options{})
	seedCollection(t, s, "alice", "contacts")
	for i := 0; i < 50; i++ {
		mustCommit(t, s, putChange("alice", "contacts", fmt.Sprintf("c%d.vcf", i), fmt.Sprintf("u%d", i), vcard("x", i)))
	}
	good, _, err := s.SnapshotScheduled(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	mustCommit(t, s, putChange("alice", "contacts", "late.vcf", "late", vcard("late", 1)))
	bad, _, err := s.SnapshotScheduled(context.Background(), 0)
	if err != nil {
		t.Fatal(err)
	}
	// Damage the newer snapshot's data (not its meta pages).
	f, err := os.OpenFile(bad.Path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	st, _ := f.Stat()
	for off := int64(8192); off < st.Size(); off += 4096 {
		f.WriteAt([]byte("damage!!"), off+100)
	}
	f.Close()
	want, _, _ := s.StateHash()
	rep, err := Restore(context.Background(), RestoreOptions{DataDir: dir, Out: filepath.Join(t.TempDir(), "r"), KeepEpoch: true})
	if err != nil {
		t.Fatalf("restore: %v", err)
	}
	if rep.Snapshot != good.Path || rep.StateHash != want {
		t.Fatalf("restore used %s (hash %s), want %s (hash %s)", rep.Snapshot, rep.StateHash, good.Path, want)
	}
	if _, err := VerifySnapshot(bad.Path, s.Identity().StoreID); !errors.Is(err, ErrSnapshotInvalid) {
		t.Fatalf("verify damaged snapshot: %v, want ErrSnapshotInvalid", err)
	}
}

// TestBackupUnderConcurrentWrites: snapshots taken
// while writers run make no write fail, and each restores and verifies.
func TestBackupUnderConcurrentWrites(t *testing.T) {
	s, dir := openTestStore(t, Options{})
	seedCollection(t, s, "alice", "contacts")
	ctx := context.Background()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	var writeErrs []error
	writes := 0
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				name := fmt.Sprintf("w%d-%d.vcf", w, i%300)
				_, err := s.Commit(ctx, putChange("alice", "contacts", name, name, vcard(name, i)))
				mu.Lock()
				writes++
				if err != nil {
					writeErrs = append(writeErrs, err)
				}
				mu.Unlock()
			}
		}(w)
	}
	var snaps []SnapshotInfo
	for i := 0; i < 5; i++ {
		for s.Head() < uint64(200*(i+1)) {
			time.Sleep(time.Millisecond)
		}
		info, err := s.Snapshot(ctx, filepath.Join(t.TempDir(), fmt.Sprintf("b%d.db", i)))
		if err != nil {
			t.Fatalf("snapshot %d: %v", i, err)
		}
		snaps = append(snaps, info)
	}
	close(stop)
	wg.Wait()
	if len(writeErrs) > 0 {
		t.Fatalf("%d of %d writes failed during backups, first: %v", len(writeErrs), writes, writeErrs[0])
	}
	for i, info := range snaps {
		if !info.Verified {
			t.Fatalf("snapshot %d not verified", i)
		}
		rep, err := Restore(ctx, RestoreOptions{DataDir: dir, From: info.Path, ToSeq: info.Seq, Out: filepath.Join(t.TempDir(), "r")})
		if err != nil {
			t.Fatalf("restore snapshot %d: %v", i, err)
		}
		if rep.StateHash != info.StateHash || rep.Replayed != 0 {
			t.Fatalf("restore of snapshot %d: hash %s replayed %d, want %s and 0", i, rep.StateHash, rep.Replayed, info.StateHash)
		}
		r, err := OpenExisting(rep.Out, Options{})
		if err != nil {
			t.Fatal(err)
		}
		checkIntegrity(t, r)
		r.Close()
	}
	t.Logf("%d writes, %d snapshots, none failed", writes, len(snaps))
	// A drill restores the newest snapshot plus the journal to the head.
	res, err := s.Drill(ctx)
	if err != nil || !res.OK {
		t.Fatalf("drill: %v %+v", err, res)
	}
	last, err := LastDrill(dir)
	if err != nil || last == nil || last.Seq != res.Seq || !last.OK {
		t.Fatalf("last drill %+v %v", last, err)
	}
}
