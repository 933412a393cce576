package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pimvault/pimvault/storage"
)

var restoredHashRe = regexp.MustCompile(`(?m)^state hash at (\d+): ([0-9a-f]{64})$`)

// TestBackupAndRestoreOffline: backup of a store no server holds, restore to
// its head and to an earlier sequence, refusal of a non-empty output.
func TestBackupAndRestoreOffline(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	head := writeStore(t, dir, storage.Options{SegmentSize: 16 << 10}, 300)
	hash, _ := status(t, dir)
	snap := filepath.Join(t.TempDir(), "backup.db")
	res := pimvault(t, "backup", "--data", dir, "--out", snap)
	if res.code != 0 || !strings.Contains(res.stdout, "verified") || !strings.Contains(res.stdout, "state hash: "+hash) {
		t.Fatalf("backup: want exit 0, verified, state hash %s; got\n%s", hash, res)
	}
	if _, err := os.Stat(snap + ".json"); err != nil {
		t.Fatalf("no snapshot tag: %v", err)
	}
	out := filepath.Join(t.TempDir(), "restored")
	res = pimvault(t, "restore", "--data", dir, "--from", snap, "--out", out)
	m := restoredHashRe.FindStringSubmatch(res.stdout)
	if res.code != 0 || m == nil || m[1] != itoa(head) || m[2] != hash {
		t.Fatalf("restore to head %d: want exit 0 and state hash %s; got\n%s", head, hash, res)
	}
	expectVerifyOK(t, out)
	if st := pimvault(t, "status", "--data", out); !strings.Contains(st.stdout, "head sequence: "+itoa(head+1)) {
		t.Fatalf("restored store should be at %d (the new epoch record):\n%s", head+1, st)
	}
	// Refuses a non-empty directory and leaves it alone.
	res = pimvault(t, "restore", "--data", dir, "--to-seq", "10", "--out", out)
	if res.code != 1 || !strings.Contains(res.stderr, "not empty") {
		t.Fatalf("restore into non-empty dir: want exit 1 and 'not empty', got\n%s", res)
	}
	expectVerifyOK(t, out)
	// An earlier point, from the journal alone (the backup is after it).
	out2 := filepath.Join(t.TempDir(), "early")
	res = pimvault(t, "restore", "--data", dir, "--to-seq", "50", "--out", out2)
	if res.code != 0 || !strings.Contains(res.stdout, "state hash at 50: ") || !strings.Contains(res.stdout, "whole journal") {
		t.Fatalf("restore to 50: got\n%s", res)
	}
	expectVerifyOK(t, out2)
}

// TestScheduledSnapshotsAndDrillInRunningServer: serve takes snapshots,
// keeps only the newest, runs drills; backup and verify --drill go through
// the admin socket; status shows the last drill.
func TestScheduledSnapshotsAndDrillInRunningServer(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeStore(t, dir, storage.Options{SegmentSize: 16 << 10}, 100)
	rs := startServer(t, dir, "--snapshot-every", "100ms", "--keep-snapshots", "2", "--drill-every", "150ms")
	deadline := time.Now().Add(30 * time.Second)
	var st cliResult
	for {
		st = pimvault(t, "status", "--data", dir)
		snaps, _ := filepath.Glob(filepath.Join(dir, "snapshots", "snap-*.db"))
		if strings.Contains(st.stdout, "last restore drill: OK") && len(snaps) == 2 && strings.Contains(st.stdout, "snapshots: 2,") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no OK drill and 2 kept snapshots within 30s:\n%s\n%s", st, rs.stderr.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	snap := filepath.Join(t.TempDir(), "hot.db")
	if res := pimvault(t, "backup", "--data", dir, "--out", snap); res.code != 0 || !strings.Contains(res.stdout, "verified") {
		t.Fatalf("backup through the socket: %s", res)
	}
	if res := pimvault(t, "verify", "--data", dir, "--drill"); res.code != 0 || !strings.Contains(res.stdout, "OK: the restore equals the live store") {
		t.Fatalf("verify --drill through the socket: %s", res)
	}
	// Undo and import through the socket: the server holds the lock.
	if res := pimvault(t, "undo", "--data", dir, "--user", "alice", "--to-seq", "3", "--dry-run"); res.code != 0 || !strings.Contains(res.stdout, "would undo alice's changes after sequence 3") || !strings.Contains(res.stdout, "removed: 90,") {
		t.Fatalf("undo --dry-run through the socket: %s", res)
	}
	vcf := filepath.Join(t.TempDir(), "one.vcf")
	os.WriteFile(vcf, []byte("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:via-socket\r\nFN:Socket\r\nEND:VCARD\r\n"), 0o600)
	if res := pimvault(t, "import", "--data", dir, "--user", "alice", vcf); res.code != 0 || !strings.Contains(res.stdout, "added: 1,") {
		t.Fatalf("import through the socket: %s", res)
	}
	if !strings.Contains(rs.stderr.String(), "scheduled snapshot") {
		t.Fatalf("server log has no scheduled snapshot:\n%s", rs.stderr.String())
	}
}

func itoa(v uint64) string { return strconv.FormatUint(v, 10) }
