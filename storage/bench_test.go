package storage

// Benchmarks for the acceptance figures of the store (see BENCHMARKS.md):
// durable puts per second with 1, 8 and 64 writers, the cost of a
// sync-collection delta against the collection size, the speed of a rebuild
// of store.db from the journal, and the peak memory of writing 100k objects.
//
// Every benchmark uses a real store in b.TempDir(): real fdatasync of the
// journal and a real bbolt store.db, with 2 KiB bodies. Each one checks its
// outcome (object counts, change counts, state hashes), so it cannot silently
// measure nothing.

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

const (
	benchPrincipal  = "bench"
	benchCollection = "contacts"
	benchBodySize   = 2048
	benchFillers    = 64 // concurrent writers used to fill a store quickly
)

// benchBody returns a 2 KiB vCard holding uid; the padding makes every body
// exactly benchBodySize bytes.
func benchBody(uid string, n int) []byte {
	head := fmt.Sprintf("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:%s\r\nFN:Person %d\r\nNOTE:", uid, n)
	const tail = "\r\nEND:VCARD\r\n"
	b := make([]byte, 0, benchBodySize)
	b = append(b, head...)
	b = append(b, bytes.Repeat([]byte{'x'}, benchBodySize-len(head)-len(tail))...)
	return append(b, tail...)
}

// benchPut is the change that stores object number n (unique name and UID).
func benchPut(n int) Change {
	uid := fmt.Sprintf("uid-%08d", n)
	return putChange(benchPrincipal, benchCollection, uid+".vcf", uid, benchBody(uid, n))
}

// openBenchStore opens a store in a fresh directory with the benchmark
// principal and collection. The store is closed when the benchmark ends.
func openBenchStore(b *testing.B) (*Store, string) {
	b.Helper()
	dir := b.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		b.Fatalf("open: %v", err)
	}
	b.Cleanup(func() { s.Close() })
	seedCollection(b, s, benchPrincipal, benchCollection)
	return s, dir
}

// writeObjects commits the objects first..first+n-1 (benchPut) from writers
// goroutines, each committing serially, and returns the first error.
func writeObjects(s *Store, first, n, writers int) error {
	var next atomic.Int64
	var wg sync.WaitGroup
	var errMu sync.Mutex
	var firstErr error
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				res, err := s.Commit(context.Background(), benchPut(first+i))
				if err == nil && (!res.Created || res.NoOp) {
					err = fmt.Errorf("put %d: got %+v, want a new object", first+i, res)
				}
				if err != nil {
					errMu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					errMu.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
	return firstErr
}

// checkCount fails the benchmark unless the collection holds want objects.
func checkCount(b *testing.B, s *Store, want int) {
	b.Helper()
	c, err := s.Collection(benchPrincipal, benchCollection)
	if err != nil {
		b.Fatalf("collection: %v", err)
	}
	if c.Count != int64(want) {
		b.Fatalf("collection holds %d objects, want %d", c.Count, want)
	}
}

// BenchmarkPut measures durable puts per second: each put is a new object
// with a unique UID in one collection, and each writer goroutine commits
// serially (waits for its put to be acknowledged before the next).
func BenchmarkPut(b *testing.B) {
	for _, writers := range []int{1, 8, 64} {
		b.Run(fmt.Sprintf("writers=%d", writers), func(b *testing.B) {
			s, _ := openBenchStore(b)
			changes := make([]Change, b.N) // built before the timer, so only the store is measured
			for i := range changes {
				changes[i] = benchPut(i)
			}
			var next atomic.Int64
			var failed atomic.Pointer[error]
			var wg sync.WaitGroup
			b.ResetTimer()
			for w := 0; w < writers; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						i := int(next.Add(1)) - 1
						if i >= b.N {
							return
						}
						res, err := s.Commit(context.Background(), changes[i])
						if err == nil && !res.Created {
							err = fmt.Errorf("put %d: got %+v, want a new object", i, res)
						}
						if err != nil {
							failed.CompareAndSwap(nil, &err)
							return
						}
					}
				}()
			}
			wg.Wait()
			b.StopTimer()
			if p := failed.Load(); p != nil {
				b.Fatalf("commit: %v", *p)
			}
			checkCount(b, s, b.N)
			// Every record of a group commit carries the same timestamp, so
			// the number of distinct object times is the number of batches,
			// and each batch is one fdatasync of the journal.
			times := map[int64]struct{}{}
			if err := s.Objects(benchPrincipal, benchCollection, false, func(o Object) error {
				times[o.Time] = struct{}{}
				return nil
			}); err != nil {
				b.Fatalf("objects: %v", err)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "puts/s")
			b.ReportMetric(float64(len(times))/float64(b.N), "fsyncs/put")
		})
	}
}

// BenchmarkChangesSince measures a sync-collection delta of 10 changes in a
// collection of 1k, 10k and 100k objects; it must not grow with the size.
func BenchmarkChangesSince(b *testing.B) {
	for _, n := range []int{1000, 10000, 100000} {
		b.Run(fmt.Sprintf("objects=%d", n), func(b *testing.B) {
			s, _ := openBenchStore(b)
			if err := writeObjects(s, 0, n, benchFillers); err != nil {
				b.Fatalf("fill: %v", err)
			}
			since := s.Head()
			for i := 0; i < 10; i++ {
				mustCommit(b, s, benchPut(n+i))
			}
			checkCount(b, s, n+10)
			for b.Loop() {
				ch, _, err := s.Changes(benchPrincipal, benchCollection, since)
				if err != nil {
					b.Fatalf("changes: %v", err)
				}
				if len(ch) != 10 {
					b.Fatalf("changes since %d: got %d entries, want 10", since, len(ch))
				}
			}
		})
	}
}

// BenchmarkRebuild measures rebuilding store.db from the journal alone
// (storage.RebuildDir on a closed store of 100k objects).
func BenchmarkRebuild(b *testing.B) {
	const n = 100000
	b.Run(fmt.Sprintf("objects=%d", n), func(b *testing.B) {
		dir := b.TempDir()
		s, err := Open(dir, Options{})
		if err != nil {
			b.Fatalf("open: %v", err)
		}
		seedCollection(b, s, benchPrincipal, benchCollection)
		if err := writeObjects(s, 0, n, benchFillers); err != nil {
			s.Close()
			b.Fatalf("fill: %v", err)
		}
		checkCount(b, s, n)
		want, head, err := s.StateHash()
		if err != nil {
			s.Close()
			b.Fatalf("state hash: %v", err)
		}
		if err := s.Close(); err != nil {
			b.Fatalf("close: %v", err)
		}
		cpu0 := cpuTime()
		for b.Loop() {
			if _, err := RebuildDir(dir, Options{}); err != nil {
				b.Fatalf("rebuild: %v", err)
			}
			// Each rebuild moves the old store.db to quarantine/; drop it
			// (not timed) so the disk does not fill up.
			b.StopTimer()
			c := cpuTime()
			if err := os.RemoveAll(filepath.Join(dir, quarantineDir)); err != nil {
				b.Fatalf("remove quarantine: %v", err)
			}
			cpu0 += cpuTime() - c
			b.StartTimer()
		}
		b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "objects/s")
		// CPU seconds (user+system, all threads) per rebuild: less sensitive
		// than the wall time to other processes on a shared machine.
		b.ReportMetric((cpuTime()-cpu0).Seconds()/float64(b.N), "cpu-s/op")
		s, err = Open(dir, Options{})
		if err != nil {
			b.Fatalf("open after rebuild: %v", err)
		}
		defer s.Close()
		checkCount(b, s, n)
		got, gotHead, err := s.StateHash()
		if err != nil {
			b.Fatalf("state hash after rebuild: %v", err)
		}
		if got != want || gotHead != head {
			b.Fatalf("rebuilt state %s at %d, want %s at %d", got, gotHead, want, head)
		}
	})
}

// BenchmarkPeakMemoryWrite100k writes 100k objects with 64 writers into a
// fresh store and reports the peak Go heap in use (sampled every 10 ms) and
// the peak resident set size of the process (VmHWM, reset before the run).
func BenchmarkPeakMemoryWrite100k(b *testing.B) {
	const n = 100000
	var peakHeap, peakAnon uint64
	var rssReset bool
	for b.Loop() {
		b.StopTimer()
		dir := b.TempDir()
		runtime.GC()
		debug.FreeOSMemory()
		// Writing 5 to clear_refs resets VmHWM to the current RSS, so the
		// peak is this run's and not an earlier benchmark's in this process.
		rssReset = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
		stop := make(chan struct{})
		sampled := make(chan struct{})
		go func() {
			defer close(sampled)
			t := time.NewTicker(10 * time.Millisecond)
			defer t.Stop()
			var ms runtime.MemStats
			for {
				runtime.ReadMemStats(&ms)
				peakHeap = max(peakHeap, ms.HeapInuse)
				if v, err := procStatus("RssAnon"); err == nil {
					peakAnon = max(peakAnon, v)
				}
				select {
				case <-stop:
					return
				case <-t.C:
				}
			}
		}()
		b.StartTimer()

		s, err := Open(dir, Options{})
		if err != nil {
			b.Fatalf("open: %v", err)
		}
		seedCollection(b, s, benchPrincipal, benchCollection)
		err = writeObjects(s, 0, n, benchFillers)

		b.StopTimer()
		close(stop)
		<-sampled
		if err != nil {
			s.Close()
			b.Fatalf("write: %v", err)
		}
		checkCount(b, s, n)
		if err := s.Close(); err != nil {
			b.Fatalf("close: %v", err)
		}
		b.StartTimer()
	}
	hwm, err := procStatus("VmHWM")
	if err != nil {
		b.Fatalf("read VmHWM: %v", err)
	}
	if !rssReset {
		b.Logf("could not reset VmHWM (/proc/self/clear_refs); peak-rss-MiB is the process's peak since it started")
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "puts/s")
	b.ReportMetric(float64(peakHeap)/(1<<20), "peak-heap-MiB")
	b.ReportMetric(float64(hwm)/(1<<20), "peak-rss-MiB")
	b.ReportMetric(float64(peakAnon)/(1<<20), "peak-rss-anon-MiB")
}

// procStatus returns a "kB" field of /proc/self/status in bytes.
func procStatus(field string) (uint64, error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok || k != field {
			continue
		}
		kb, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		return kb << 10, err
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, errors.New(field + " not in /proc/self/status")
}

// BenchmarkFdatasync is the floor under a serial durable put on this disk:
// append 2 KiB to a file and fdatasync it, as the journal does per batch.
func BenchmarkFdatasync(b *testing.B) {
	f, err := os.Create(filepath.Join(b.TempDir(), "sync"))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	buf := benchBody("uid", 0)
	for b.Loop() {
		if _, err := f.Write(buf); err != nil {
			b.Fatal(err)
		}
		if err := fdatasync(f); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "fsyncs/s")
}

// cpuTime returns the user plus system CPU time of the process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
