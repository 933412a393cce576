package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pimvault/pimvault/storage"
)

// TestRestoreFromBackupFileAlone: the data directory is gone; a backup
// written into a folder that did not exist restores by itself into an empty
// directory (and one that does not exist), with the source's state hash, and
// the restored store takes writes, verifies and reopens.
func TestRestoreFromBackupFileAlone(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "data")
	head := writeStore(t, dir, storage.Options{SegmentSize: 16 << 10}, 120)
	hash, _ := status(t, dir)
	snap := filepath.Join(t.TempDir(), "new", "folder", "pv.db")
	res := pimvault(t, "backup", "--data", dir, "--out", snap)
	if res.code != 0 || !strings.Contains(res.stdout, "state hash: "+hash) {
		t.Fatalf("backup into a folder that does not exist: want exit 0 and state hash %s, got\n%s", hash, res)
	}
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, data string }{
		{"default data dir", ""},
		{"missing data dir", filepath.Join(t.TempDir(), "gone")},
		{"empty data dir", t.TempDir()},
	} {
		out := filepath.Join(t.TempDir(), "restored")
		args := []string{"restore", "--from", snap, "--out", out}
		if tc.data != "" {
			args = append(args, "--data", tc.data)
		}
		res := pimvault(t, args...)
		m := restoredHashRe.FindStringSubmatch(res.stdout)
		if res.code != 0 || m == nil || m[1] != itoa(head) || m[2] != hash {
			t.Fatalf("%s: restore from the file alone: want exit 0 and state hash %s at %d, got\n%s", tc.name, hash, head, res)
		}
		expectVerifyOK(t, out)
		if st := pimvault(t, "status", "--data", out); !strings.Contains(st.stdout, "head sequence: "+itoa(head+1)) {
			t.Fatalf("%s: restored store should be at %d (its new epoch):\n%s", tc.name, head+1, st)
		}
	}
	// The restored store takes writes and reopens with them.
	out := filepath.Join(t.TempDir(), "restored")
	if res := pimvault(t, "restore", "--from", snap, "--out", out); res.code != 0 {
		t.Fatalf("restore: %s", res)
	}
	s, err := storage.Open(out, storage.Options{})
	if err != nil {
		t.Fatalf("open restored: %v", err)
	}
	if _, err := s.Commit(t.Context(), storage.Change{Op: storage.OpDelete, Principal: "alice", Collection: "contacts", Name: "contact-0001.vcf"}); err != nil {
		t.Fatalf("write to the restored store: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	expectVerifyOK(t, out)
	if h, _ := status(t, out); h == hash {
		t.Fatalf("state hash unchanged after a delete")
	}
	// A point the file does not hold is refused and leaves nothing behind.
	out2 := filepath.Join(t.TempDir(), "early")
	res = pimvault(t, "restore", "--from", snap, "--to-seq", "5", "--out", out2)
	if res.code != 1 || !strings.Contains(res.stderr, "holds only sequence") {
		t.Fatalf("restore --to-seq 5 from the file alone: want exit 1 and a reason, got\n%s", res)
	}
	if ents, _ := os.ReadDir(out2); len(ents) != 0 {
		t.Fatalf("refused restore left %d files in %s", len(ents), out2)
	}
}
