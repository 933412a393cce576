package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pimvault/pimvault/storage"
)

// TestPruneOffline: prune refuses without a snapshot and with no
// retention, prunes after a backup, and the store still verifies, rebuilds
// (from the covering snapshot) and restores to its head.
func TestPruneOffline(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeStore(t, dir, storage.Options{SegmentSize: 16 << 10}, 300)
	if res := pimvault(t, "prune", "--data", dir); res.code != 2 || !strings.Contains(res.stderr, "--retention") {
		t.Fatalf("prune without --retention: want exit 2, got\n%s", res)
	}
	if res := pimvault(t, "prune", "--data", dir, "--retention", "1ns"); res.code != 0 || !strings.Contains(res.stdout, "no verified snapshot") {
		t.Fatalf("prune without a snapshot: want 'no verified snapshot', got\n%s", res)
	}
	if res := pimvault(t, "backup", "--data", dir); res.code != 0 {
		t.Fatalf("backup: %s", res)
	}
	if res := pimvault(t, "prune", "--data", dir, "--retention", "720h"); res.code != 0 || !strings.Contains(res.stdout, "newer than the retention") {
		t.Fatalf("prune of recent segments: want them kept, got\n%s", res)
	}
	segs := func() int {
		m, _ := filepath.Glob(filepath.Join(dir, "journal", "*.pvj"))
		return len(m)
	}
	n := segs()
	if res := pimvault(t, "prune", "--data", dir, "--retention", "1ns", "--dry-run"); res.code != 0 || !strings.Contains(res.stdout, "would prune") || segs() != n {
		t.Fatalf("dry run: got\n%s (segments %d, before %d)", res, segs(), n)
	}
	res := pimvault(t, "prune", "--data", dir, "--retention", "1ns")
	if res.code != 0 || !strings.Contains(res.stdout, "pruned ") || segs() >= n {
		t.Fatalf("prune: got\n%s (segments %d, before %d)", res, segs(), n)
	}
	if q, _ := filepath.Glob(filepath.Join(dir, "quarantine", "*.pvj.*")); len(q) != n-segs() {
		t.Fatalf("quarantine holds %d segments, want %d", len(q), n-segs())
	}
	hash, head := status(t, dir)
	if st := pimvault(t, "status", "--data", dir); !strings.Contains(st.stdout, "journal base: records up to sequence ") {
		t.Fatalf("status does not show the base:\n%s", st)
	}
	expectVerifyOK(t, dir)
	if res := pimvault(t, "rebuild", "--data", dir); res.code != 0 || !strings.Contains(res.stdout, "state hash: "+hash) {
		t.Fatalf("rebuild after prune: want state hash %s, got\n%s", hash, res)
	}
	out := filepath.Join(t.TempDir(), "restored")
	if res := pimvault(t, "restore", "--data", dir, "--out", out); res.code != 0 || !strings.Contains(res.stdout, "state hash at "+head+": "+hash) {
		t.Fatalf("restore to head after prune: got\n%s", res)
	}
	expectVerifyOK(t, out)
	out2 := filepath.Join(t.TempDir(), "early")
	if res := pimvault(t, "restore", "--data", dir, "--to-seq", "5", "--out", out2); res.code != 1 || !strings.Contains(res.stderr, "oldest point you can restore to") {
		t.Fatalf("restore before the base: want a refusal naming the oldest point, got\n%s", res)
	}
	if ents, _ := os.ReadDir(out2); len(ents) != 0 {
		t.Fatalf("refused restore left files in %s", out2)
	}
}

// TestPruneThroughSocket: with a server running, prune goes through the
// admin socket and the served store verifies afterwards.
func TestPruneThroughSocket(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeStore(t, dir, storage.Options{SegmentSize: 16 << 10}, 200)
	startServer(t, dir)
	if res := pimvault(t, "backup", "--data", dir); res.code != 0 {
		t.Fatalf("backup through the socket: %s", res)
	}
	if res := pimvault(t, "prune", "--data", dir, "--retention", "1ns"); res.code != 0 || !strings.Contains(res.stdout, "pruned ") {
		t.Fatalf("prune through the socket: %s", res)
	}
	if st := pimvault(t, "status", "--data", dir); !strings.Contains(st.stdout, "journal base: records up to sequence ") {
		t.Fatalf("status does not show the base:\n%s", st)
	}
	expectVerifyOK(t, dir)
}

// TestServeJournalRetention: serve prunes after each scheduled snapshot.
func TestServeJournalRetention(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeStore(t, dir, storage.Options{SegmentSize: 16 << 10}, 200)
	rs := startServer(t, dir, "--snapshot-every", "100ms", "--journal-retention", "1ns")
	deadline := time.Now().Add(30 * time.Second)
	for {
		st := pimvault(t, "status", "--data", dir)
		if strings.Contains(st.stdout, "journal base: records up to sequence ") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no journal base within 30s:\n%s\n%s", st, rs.stderr.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !strings.Contains(rs.stderr.String(), "journal retention: pruned segments") {
		t.Fatalf("server log does not say it pruned:\n%s", rs.stderr.String())
	}
	expectVerifyOK(t, dir)
}
