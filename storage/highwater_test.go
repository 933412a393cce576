package storage

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// syncWriter is a log destination safe for the committer goroutine.
type syncWriter struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

func (w *syncWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String()
}

func readMark(t *testing.T, dir string) highWater {
	t.Helper()
	var hw highWater
	if err := json.Unmarshal(readFileT(t, filepath.Join(dir, highWaterFile)), &hw); err != nil {
		t.Fatal(err)
	}
	return hw
}

func writeCards(t *testing.T, s *Store, prefix string, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		uid := fmt.Sprintf("%s-%d", prefix, i)
		mustCommit(t, s, putChange("alice", "contacts", uid+".vcf", uid, vcard(uid, i)))
	}
}

// replaceStore puts src's store.db and journal into dst, keeping dst's
// IDENTITY and HIGHWATER: an admin restoring files by hand.
func replaceStore(t *testing.T, src, dst string) {
	t.Helper()
	for _, p := range []string{dbFile, "journal"} {
		if err := os.RemoveAll(filepath.Join(dst, p)); err != nil {
			t.Fatal(err)
		}
	}
	copyFileT(t, filepath.Join(src, dbFile), filepath.Join(dst, dbFile))
	copyTreeT(t, filepath.Join(src, "journal"), filepath.Join(dst, "journal"))
}

func openT(t *testing.T, dir string) *Store {
	t.Helper()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func closeT(t *testing.T, s *Store) {
	t.Helper()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestHighWater: a store whose journal and store.db hold less than its
// high-water mark says it acknowledged opens with a new epoch (the old one
// forked at the restored head), every principal RECOVERING and a log line
// saying why; a clean reopen does not.
func TestHighWater(t *testing.T) {
	cases := []struct {
		name string
		// damage builds the store in dir and leaves it closed; it returns
		// the head of the journal the store will open with.
		damage  func(t *testing.T, dir string) (restoredHead uint64)
		wantWhy string // "" when the store is whole
	}{
		{"clean reopen", func(t *testing.T, dir string) uint64 {
			s := openT(t, dir)
			seedCollection(t, s, "alice", "contacts")
			seedCollection(t, s, "bob", "contacts")
			writeCards(t, s, "a", 5)
			closeT(t, s)
			return readMark(t, dir).Seq
		}, ""},
		{"older store.db and journal", func(t *testing.T, dir string) uint64 {
			s := openT(t, dir)
			seedCollection(t, s, "alice", "contacts")
			seedCollection(t, s, "bob", "contacts")
			writeCards(t, s, "a", 5)
			closeT(t, s)
			old := t.TempDir()
			copyTreeT(t, dir, old)
			s = openT(t, dir)
			writeCards(t, s, "b", 5)
			closeT(t, s)
			replaceStore(t, old, dir)
			return readMark(t, old).Seq
		}, "rolled back or replaced"},
		{"another history of the same length", func(t *testing.T, dir string) uint64 {
			s := openT(t, dir)
			seedCollection(t, s, "alice", "contacts")
			seedCollection(t, s, "bob", "contacts")
			closeT(t, s)
			other := t.TempDir()
			copyTreeT(t, dir, other)
			s = openT(t, dir)
			writeCards(t, s, "mine", 3)
			closeT(t, s)
			s = openT(t, other)
			writeCards(t, s, "theirs", 3)
			closeT(t, s)
			replaceStore(t, other, dir)
			return readMark(t, other).Seq
		}, "chain hash differs"},
		{"a longer other history", func(t *testing.T, dir string) uint64 {
			s := openT(t, dir)
			seedCollection(t, s, "alice", "contacts")
			seedCollection(t, s, "bob", "contacts")
			closeT(t, s)
			other := t.TempDir()
			copyTreeT(t, dir, other)
			s = openT(t, dir)
			writeCards(t, s, "mine", 3)
			closeT(t, s)
			s = openT(t, other)
			writeCards(t, s, "theirs", 9)
			closeT(t, s)
			replaceStore(t, other, dir)
			return readMark(t, other).Seq
		}, "chain hash differs"},
		{"store.db, HIGHWATER and the journal tail missing", func(t *testing.T, dir string) uint64 {
			restored := loseEverythingButJournalHead(t, dir)
			return restored
		}, "store.db and HIGHWATER are both missing"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			restored := tc.damage(t, dir)
			logs := &syncWriter{}
			s, err := Open(dir, Options{Logger: slog.New(slog.NewTextHandler(logs, nil))})
			if err != nil {
				t.Fatal(err)
			}
			h, err := s.EpochHistory()
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range []string{"alice", "bob"} {
				st, err := s.PrincipalState(p)
				if err != nil {
					t.Fatal(err)
				}
				if st.Recovery.Recovering != (tc.wantWhy != "") {
					t.Errorf("%s recovering = %v, want %v", p, st.Recovery.Recovering, tc.wantWhy != "")
				}
				if tc.wantWhy != "" && !strings.Contains(st.Recovery.Reason, tc.wantWhy) {
					t.Errorf("%s recovery reason %q, want it to say %q", p, st.Recovery.Reason, tc.wantWhy)
				}
			}
			if tc.wantWhy == "" {
				if len(h.Earlier) != 0 || strings.Contains(logs.String(), "holds less") {
					t.Errorf("a whole store started an epoch or logged a loss: %+v\n%s", h, logs)
				}
			} else {
				if !strings.Contains(logs.String(), "holds less than it acknowledged") || !strings.Contains(logs.String(), tc.wantWhy) {
					t.Errorf("log does not say why:\n%s", logs)
				}
				if len(h.Earlier) != 1 || h.Start != restored+1 {
					t.Errorf("epochs %+v: want one earlier epoch and the current one starting at %d", h, restored+1)
				}
				for e, fork := range h.Earlier {
					if fork != restored {
						t.Errorf("earlier epoch %s forks at %d, want %d", e, fork, restored)
					}
				}
			}
			checkIntegrity(t, s)
			closeT(t, s)
			if mark := readMark(t, dir); tc.wantWhy != "" && mark.Seq <= restored {
				t.Errorf("mark after close %d, want past %d", mark.Seq, restored)
			}
			// The new mark matches: a reopen is clean and starts nothing.
			logs2 := &syncWriter{}
			s2, err := Open(dir, Options{Logger: slog.New(slog.NewTextHandler(logs2, nil))})
			if err != nil {
				t.Fatal(err)
			}
			defer s2.Close()
			if h2, _ := s2.EpochHistory(); h2.Current != h.Current || strings.Contains(logs2.String(), "holds less") {
				t.Errorf("second open: epoch %s (was %s)\n%s", h2.Current, h.Current, logs2)
			}
		})
	}
}

// TestHighWaterWrittenWhileRunning: the mark follows the head at least every
// HighWaterEvery records, not only at Close.
func TestHighWaterWrittenWhileRunning(t *testing.T) {
	s, dir := openTestStore(t, Options{})
	seedCollection(t, s, "alice", "contacts")
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < HighWaterEvery/8+20; i++ {
				uid := fmt.Sprintf("g%d-%d", g, i)
				if _, err := s.Commit(context.Background(), putChange("alice", "contacts", uid+".vcf", uid, vcard(uid, i))); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	mark := readMark(t, dir)
	if mark.Seq < HighWaterEvery || mark.Seq > s.Head() {
		t.Fatalf("mark at %d while running with head %d, want at least %d and at most the head", mark.Seq, s.Head(), HighWaterEvery)
	}
}

// FuzzReadHighWater: any HIGHWATER content gives a mark or a clear error.
func FuzzReadHighWater(f *testing.F) {
	for _, s := range []string{`{"store_id":"00","seq":5,"chain_hash":"ab"}`, `{}`, ``, `{"seq":-1}`, `[1]`, `{"seq":18446744073709551616}`, "\x00"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, highWaterFile), b, 0o600); err != nil {
			t.Fatal(err)
		}
		hw, err := readHighWater(dir)
		if (hw == nil) == (err == nil) {
			t.Fatalf("readHighWater(%q) = %v, %v: want exactly one of a mark and an error", b, hw, err)
		}
	})
}

// TestHighWaterJournalRestarted: IDENTITY and HIGHWATER survive but the
// journal and store.db are gone: the store opens empty on a new epoch and
// says that it lost what it had acknowledged.
func TestHighWaterJournalRestarted(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir)
	seedCollection(t, s, "alice", "contacts")
	writeCards(t, s, "a", 3)
	old, _ := s.EpochHistory()
	closeT(t, s)
	for _, p := range []string{dbFile, "journal"} {
		if err := os.RemoveAll(filepath.Join(dir, p)); err != nil {
			t.Fatal(err)
		}
	}
	logs := &syncWriter{}
	s, err := Open(dir, Options{Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	h, _ := s.EpochHistory()
	if h.Current == old.Current || !strings.Contains(logs.String(), "holds less than it acknowledged") {
		t.Fatalf("restarted journal: epoch %s (was %s), log:\n%s", h.Current, old.Current, logs)
	}
	checkIntegrity(t, s)
}

// TestHighWaterUnreadable: a damaged HIGHWATER refuses the open with a clear
// error and changes nothing in the directory.
func TestHighWaterUnreadable(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir)
	seedCollection(t, s, "alice", "contacts")
	closeT(t, s)
	if err := os.WriteFile(filepath.Join(dir, highWaterFile), []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadDir(dir)
	_, err := Open(dir, Options{})
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "HIGHWATER") {
		t.Fatalf("open with a damaged HIGHWATER: %v", err)
	}
	after, _ := os.ReadDir(dir)
	if len(before) != len(after) {
		t.Fatalf("a refused open changed the directory: %v → %v", before, after)
	}
	if _, err := os.Stat(filepath.Join(dir, dirtyFile)); err == nil {
		t.Fatal("a refused open left a DIRTY marker")
	}
}

// loseEverythingButJournalHead leaves in dir a store whose journal lost its
// last records and whose store.db and HIGHWATER are gone; it returns the
// head of the journal that is left.
func loseEverythingButJournalHead(t *testing.T, dir string) uint64 {
	t.Helper()
	s := openT(t, dir)
	seedCollection(t, s, "alice", "contacts")
	seedCollection(t, s, "bob", "contacts")
	writeCards(t, s, "a", 5)
	closeT(t, s)
	old := t.TempDir()
	copyTreeT(t, dir, old)
	s = openT(t, dir)
	writeCards(t, s, "b", 20)
	closeT(t, s)
	if err := os.RemoveAll(filepath.Join(dir, "journal")); err != nil {
		t.Fatal(err)
	}
	copyTreeT(t, filepath.Join(old, "journal"), filepath.Join(dir, "journal"))
	for _, f := range []string{dbFile, highWaterFile} {
		if err := os.Remove(filepath.Join(dir, f)); err != nil {
			t.Fatal(err)
		}
	}
	return readMark(t, old).Seq
}

// TestMissingEverythingAssumedComplete: an admin who knows the journal is
// whole says so, and the store opens without a recovery or a new epoch.
func TestMissingEverythingAssumedComplete(t *testing.T) {
	dir := t.TempDir()
	restored := loseEverythingButJournalHead(t, dir)
	s, err := Open(dir, Options{AssumeJournalComplete: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Head() != restored {
		t.Errorf("head %d, want %d", s.Head(), restored)
	}
	st, err := s.PrincipalState("alice")
	if err != nil {
		t.Fatal(err)
	}
	if h, _ := s.EpochHistory(); st.Recovery.Recovering || len(h.Earlier) != 0 {
		t.Errorf("recovering %v, earlier epochs %v: want neither", st.Recovery.Recovering, h.Earlier)
	}
	checkIntegrity(t, s)
}

// TestExpectStoreID: a directory holding another store, or none, is refused
// and nothing in it changes or is created.
func TestExpectStoreID(t *testing.T) {
	dir := t.TempDir()
	s := openT(t, dir)
	id := s.Identity().StoreID
	seedCollection(t, s, "alice", "contacts")
	closeT(t, s)
	before := hashTree(t, dir)
	other := "00000000000000000000000000000000"
	if _, err := Open(dir, Options{ExpectStoreID: other}); !errors.Is(err, ErrWrongStore) || !strings.Contains(err.Error(), id) {
		t.Fatalf("open with another expected id: %v, want ErrWrongStore naming %s", err, id)
	}
	if after := hashTree(t, dir); after != before {
		t.Errorf("a refused open changed the directory")
	}
	missing := filepath.Join(t.TempDir(), "typo")
	if _, err := Open(missing, Options{ExpectStoreID: id}); !errors.Is(err, ErrWrongStore) {
		t.Fatalf("open of a missing directory: %v, want ErrWrongStore", err)
	}
	if _, err := os.Stat(missing); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused open created %s", missing)
	}
	s, err := Open(dir, Options{ExpectStoreID: id})
	if err != nil {
		t.Fatalf("open with the right id: %v", err)
	}
	closeT(t, s)
}
