package storage

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDamagedStoreDBIsACorruptionError: store.db pages overwritten with
// garbage (bbolt panics on them, or refuses the file) make Open return a
// *CorruptionError that names store.db and 'pimvault rebuild', never a
// panic; RebuildDir then builds it again from the journal to the same state.
func TestDamagedStoreDBIsACorruptionError(t *testing.T) {
	for _, tc := range []struct {
		name     string
		off, len int64
	}{
		{"meta-pages", 0, 2 * projectionPageSize},
		{"data-pages", 3 * projectionPageSize, 4 * projectionPageSize},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := newerFixture(t)
			s, err := Open(dir, Options{})
			if err != nil {
				t.Fatal(err)
			}
			want, _, _ := s.StateHash()
			s.Close()
			path := filepath.Join(dir, dbFile)
			f, err := os.OpenFile(path, os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			junk := make([]byte, tc.len)
			for i := range junk {
				junk[i] = byte(i*7 + 13)
			}
			if _, err := f.WriteAt(junk, tc.off); err != nil {
				t.Fatal(err)
			}
			f.Close()
			_, err = Open(dir, Options{})
			var ce *CorruptionError
			if !errors.As(err, &ce) || ce.Path != path || !strings.Contains(err.Error(), "pimvault rebuild") {
				t.Fatalf("open of a damaged store.db: %v, want a CorruptionError naming %s and the rebuild", err, path)
			}
			if _, err := RebuildDir(dir, Options{}); err != nil {
				t.Fatalf("rebuild: %v", err)
			}
			s, err = Open(dir, Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if got, _, _ := s.StateHash(); got != want {
				t.Fatalf("state hash %s after the rebuild, want %s", got, want)
			}
			checkIntegrity(t, s)
		})
	}
}
