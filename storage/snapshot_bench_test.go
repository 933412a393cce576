package storage

// Benchmarks of backup and restore of a store of 1,000,000 objects (the
// backup runs while 8 writers commit; BENCHMARKS.md has the figures beside
// their targets: backup under 30 s, restore under 60 s on a 2-core machine)
// and of an undo of 10,000 changes (target: under 5 s).
//
// The 1M store is filled through the normal commit path: 64 goroutines call
// Store.Commit (writeObjects), so the committer writes group commits of up
// to 512 records, each with one fdatasync, exactly as live writes do. Bodies
// are the 2 KiB vCards of the other storage benchmarks. Each benchmark checks
// its outcome (verified snapshot, state hash of the restore, objects after
// the undo).

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"
)

func benchObjects(def int) int {
	if v, err := strconv.Atoi(os.Getenv("PIMVAULT_BENCH_OBJECTS")); err == nil && v > 0 {
		return v
	}
	return def
}

// BenchmarkBackupRestore fills a store with 1M objects (PIMVAULT_BENCH_OBJECTS
// overrides), then times a hot snapshot (Store.Snapshot: copy, verify) and a
// restore (Restore: verify the snapshot, copy it and the journal, open the
// new store, which checks the whole chain and replays the records written
// after the snapshot, then a new epoch).
func BenchmarkBackupRestore(b *testing.B) {
	n := benchObjects(1000000)
	const tail = 10000 // records written after the snapshot, replayed by the restore
	dir := b.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	seedCollection(b, s, benchPrincipal, benchCollection)
	start := time.Now()
	if err := writeObjects(s, 0, n, benchFillers); err != nil {
		b.Fatalf("fill: %v", err)
	}
	checkCount(b, s, n)
	b.Logf("filled %d objects through Commit with %d writers in %s", n, benchFillers, time.Since(start).Round(time.Millisecond))
	var snap SnapshotInfo
	next := n // objects written during and after the backup
	b.Run(fmt.Sprintf("backup/objects=%d", n), func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			// In snapshots/, as serve --snapshot-every writes them: the
			// undo below starts from it.
			os.MkdirAll(filepath.Join(dir, SnapshotDir), 0o700)
			path := filepath.Join(dir, SnapshotDir, fmt.Sprintf("bench-%d.db", i))
			os.Remove(path)
			os.Remove(path + sidecarExt)
			// 8 writers commit while the snapshot runs; the slowest
			// acknowledgement shows how long a write waited.
			stop := make(chan struct{})
			var wg sync.WaitGroup
			var mu sync.Mutex
			var worst time.Duration
			var during int
			var werr error
			for w := 0; w < 8; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						select {
						case <-stop:
							return
						default:
						}
						mu.Lock()
						k := next
						next++
						mu.Unlock()
						t0 := time.Now()
						_, err := s.Commit(context.Background(), benchPut(k))
						d := time.Since(t0)
						mu.Lock()
						during++
						worst = max(worst, d)
						if err != nil && werr == nil {
							werr = err
						}
						mu.Unlock()
					}
				}()
			}
			snap, err = s.Snapshot(context.Background(), path)
			close(stop)
			wg.Wait()
			if err != nil || !snap.Verified {
				b.Fatalf("snapshot: %v", err)
			}
			if werr != nil {
				b.Fatalf("a write during the backup failed: %v", werr)
			}
			b.ReportMetric(float64(during), "writes-during")
			b.ReportMetric(float64(worst.Milliseconds()), "max-write-ms")
		}
		b.ReportMetric(float64(snap.Size)/1e6, "MB")
	})
	if err := writeObjects(s, next, tail, benchFillers); err != nil {
		b.Fatalf("tail: %v", err)
	}
	want, head, err := s.StateHash()
	if err != nil {
		b.Fatal(err)
	}
	col, _ := s.Collection(benchPrincipal, benchCollection)
	b.Run(fmt.Sprintf("restore/objects=%d", col.Count), func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			out := filepath.Join(b.TempDir(), "restored")
			rep, err := Restore(context.Background(), RestoreOptions{DataDir: dir, From: snap.Path, ToSeq: head, Out: out})
			if err != nil {
				b.Fatalf("restore: %v", err)
			}
			if rep.StateHash != want || rep.Replayed != head-snap.Seq {
				b.Fatalf("restore: hash %s replayed %d, want %s and %d", rep.StateHash, rep.Replayed, want, head-snap.Seq)
			}
			b.ReportMetric(float64(rep.Replayed), "replayed")
			b.StopTimer()
			os.RemoveAll(out)
			b.StartTimer()
		}
	})
	// Undo of 10,000 changes (5,000 deletes, 5,000 edits) in this large
	// store: the state at the target is read from the snapshot above plus
	// the journal after it.
	b.Run(fmt.Sprintf("undo-10k/objects=%d", col.Count), func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			target := s.Head()
			for k := 0; k < 10000; k++ {
				c := benchPut(k * 97 % n)
				if k%2 == 0 {
					c = Change{Op: OpDelete, Principal: c.Principal, Collection: c.Collection, Name: c.Name}
				} else {
					c.Body = benchBody(c.Meta.UID, -k-i*10000)
				}
				if _, err := s.Commit(context.Background(), c); err != nil {
					b.Fatalf("change %d: %v", k, err)
				}
			}
			b.StartTimer()
			rep, err := s.Undo(context.Background(), UndoRequest{Principal: benchPrincipal, ToSeq: target, Confirm: true})
			if err != nil || rep.ReAdded != 5000 || rep.ChangedBack != 5000 || rep.Failed != 0 || rep.Snapshot != snap.Path {
				b.Fatalf("undo: %v %d re-added, %d changed back, %d failed", err, rep.ReAdded, rep.ChangedBack, rep.Failed)
			}
		}
	})
}

// BenchmarkUndo10k: 10,000 objects, then 5,000 deleted and 5,000 edited;
// the timed part is the undo that re-adds and changes back all 10,000.
func BenchmarkUndo10k(b *testing.B) {
	const n = 10000
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		s, _ := openBenchStore(b)
		if err := writeObjects(s, 0, n, benchFillers); err != nil {
			b.Fatal(err)
		}
		target := s.Head()
		var changes []Change
		for k := 0; k < n; k++ {
			c := benchPut(k)
			if k%2 == 0 {
				c = Change{Op: OpDelete, Principal: c.Principal, Collection: c.Collection, Name: c.Name}
			} else {
				c.Body = benchBody(c.Meta.UID, -k)
			}
			changes = append(changes, c)
		}
		for k, c := range changes {
			if _, err := s.Commit(context.Background(), c); err != nil {
				b.Fatalf("change %d: %v", k, err)
			}
		}
		b.StartTimer()
		rep, err := s.Undo(context.Background(), UndoRequest{Principal: benchPrincipal, ToSeq: target, Confirm: true})
		b.StopTimer()
		if err != nil || rep.ReAdded != n/2 || rep.ChangedBack != n/2 || rep.Failed != 0 {
			b.Fatalf("undo: %v %+v", err, rep)
		}
		checkCount(b, s, n)
		c, _ := s.Collection(benchPrincipal, benchCollection)
		if c.Bytes != int64(n*benchBodySize) {
			b.Fatalf("after undo %d bytes, want %d", c.Bytes, n*benchBodySize)
		}
		s.Close()
		b.StartTimer()
	}
}
