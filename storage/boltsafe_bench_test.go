package storage

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// BenchmarkOpenWalk measures what walkBolt adds to opening an existing
// store.db (10k objects of 2 KiB) next to bbolt's own writable open, which
// rebuilds the free list by walking the same pages.
func BenchmarkOpenWalk(b *testing.B) {
	dir := b.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		b.Fatal(err)
	}
	seedCollection(b, s, "alice", "contacts")
	var wg sync.WaitGroup
	body := strings.Repeat("x", 2048)
	for w := 0; w < 64; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; i < 10000; i += 64 {
				uid := fmt.Sprintf("u%05d", i)
				if _, err := s.Commit(context.Background(), putChange("alice", "contacts", uid+".vcf", uid, []byte(body+uid))); err != nil {
					b.Error(err)
					return
				}
			}
		}(w)
	}
	wg.Wait()
	s.Close()
	path := filepath.Join(dir, dbFile)
	b.ResetTimer()
	var walk, open time.Duration
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		if err := walkBolt(path); err != nil {
			b.Fatal(err)
		}
		walk += time.Since(t0)
		t0 = time.Now()
		s, err := Open(dir, Options{})
		if err != nil {
			b.Fatal(err)
		}
		open += time.Since(t0)
		s.Close()
	}
	b.ReportMetric(float64(walk.Microseconds())/float64(b.N), "walk-µs/op")
	b.ReportMetric(float64(open.Microseconds())/float64(b.N), "open-µs/op")
}
