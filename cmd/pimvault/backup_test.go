package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
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
	// To a time after the last record: the whole history, from the newest snapshot in snapshots/.
	if res := pimvault(t, "backup", "--data", dir); res.code != 0 {
		t.Fatalf("backup into snapshots/: %s", res)
	}
	out3 := filepath.Join(t.TempDir(), "bytime")
	res = pimvault(t, "restore", "--data", dir, "--to-time", time.Now().UTC().Format(time.RFC3339Nano), "--out", out3)
	if m := restoredHashRe.FindStringSubmatch(res.stdout); res.code != 0 || m == nil || m[2] != hash || !strings.Contains(res.stdout, "from snapshot "+filepath.Join(dir, "snapshots")) {
		t.Fatalf("restore --to-time now: want state hash %s from a snapshot in snapshots/, got\n%s", hash, res)
	}
	// The drill without a server: the store is opened here.
	if res := pimvault(t, "verify", "--data", dir, "--drill"); res.code != 0 || !strings.Contains(res.stdout, "OK: the restore equals the live store") {
		t.Fatalf("verify --drill offline: %s", res)
	}
}

// TestScheduledSnapshotsAndDrillInRunningServer: serve takes a snapshot
// when something was written since the last one, keeps only the newest two,
// runs drills; backup, verify --drill, undo and import go through the admin
// socket; status shows the newest snapshot and the last drill.
func TestScheduledSnapshotsAndDrillInRunningServer(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeStore(t, dir, storage.Options{SegmentSize: 16 << 10}, 100)
	rs := startServer(t, dir, "--snapshot-every", "100ms", "--keep-snapshots", "2", "--drill-every", "150ms")
	// waitStatus polls 'pimvault status' until ok says so (at most 30 s).
	waitStatus := func(what string, ok func(out string, snaps int) bool) string {
		t.Helper()
		deadline := time.Now().Add(30 * time.Second)
		for {
			st := pimvault(t, "status", "--data", dir)
			snaps, _ := filepath.Glob(filepath.Join(dir, "snapshots", "snap-*.db"))
			if ok(st.stdout, len(snaps)) {
				return st.stdout
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within 30s:\n%s\n%s", what, st, rs.stderr.String())
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	waitStatus("first snapshot and an OK drill", func(out string, n int) bool {
		return n == 1 && strings.Contains(out, "snapshots: 1,") && strings.Contains(out, "last restore drill: OK")
	})
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
	for i := 0; i < 2; i++ {
		vcf := filepath.Join(t.TempDir(), "one.vcf")
		os.WriteFile(vcf, []byte(fmt.Sprintf("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:via-socket-%d\r\nFN:Socket\r\nEND:VCARD\r\n", i)), 0o600)
		if res := pimvault(t, "import", "--data", dir, "--user", "alice", vcf); res.code != 0 || !strings.Contains(res.stdout, "added: 1,") {
			t.Fatalf("import through the socket: %s", res)
		}
		_, head := status(t, dir)
		want := "newest at sequence " + head + " "
		waitStatus("a snapshot of the new head "+head, func(out string, n int) bool {
			return strings.Contains(out, want) && n == min(i+2, 2) && strings.Contains(out, "last restore drill: OK")
		})
	}
	if !strings.Contains(rs.stderr.String(), "scheduled snapshot") {
		t.Fatalf("server log has no scheduled snapshot:\n%s", rs.stderr.String())
	}
}

func itoa(v uint64) string { return strconv.FormatUint(v, 10) }

var tagSeqRe = regexp.MustCompile(`(?m)^sequence: (\d+)$`)
var tagHashRe = regexp.MustCompile(`(?m)^state hash: ([0-9a-f]{64})$`)

// TestBackupDuringHTTPWrites, end to end: the real
// server takes PUTs from 8 clients while three backups run through its admin
// socket; no PUT fails, and each snapshot restores (while the server still
// runs) to its tagged state hash and verifies.
func TestBackupDuringHTTPWrites(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	rs := startServer(t, dir, "--user", "dora")
	if rs.password == "" {
		t.Fatal("no password printed")
	}
	// The address book is created on first sign-in.
	put := func(name, body string) (int, error) {
		req, _ := http.NewRequest("PUT", rs.url+"/dav/addressbooks/dora/contacts/"+name, strings.NewReader(body))
		req.SetBasicAuth("dora", rs.password)
		req.Header.Set("Content-Type", "text/vcard")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	if code, err := put("first.vcf", card("3.0", "first", "First")); err != nil || code != http.StatusCreated {
		t.Fatalf("first put: %d %v", code, err)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	var failures []string
	var puts int
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
				uid := fmt.Sprintf("w%d-%d", w, i)
				code, err := put(uid+".vcf", card("3.0", uid, "Writer "+uid))
				mu.Lock()
				puts++
				if err != nil || code != http.StatusCreated {
					failures = append(failures, fmt.Sprintf("%s: %d %v", uid, code, err))
				}
				mu.Unlock()
			}
		}(w)
	}
	var snaps, paths []string
	for i := 0; i < 3; i++ {
		snap := filepath.Join(t.TempDir(), fmt.Sprintf("hot-%d.db", i))
		res := pimvault(t, "backup", "--data", dir, "--out", snap)
		if res.code != 0 || !strings.Contains(res.stdout, "verified") {
			close(stop)
			wg.Wait()
			t.Fatalf("backup %d during writes: %s", i, res)
		}
		snaps, paths = append(snaps, res.stdout), append(paths, snap)
	}
	close(stop)
	wg.Wait()
	if len(failures) > 0 {
		t.Fatalf("%d of %d PUTs failed during backups: %v", len(failures), puts, failures[:min(5, len(failures))])
	}
	t.Logf("%d PUTs during 3 backups, none failed", puts)
	for i, out := range snaps {
		seq, hash := tagSeqRe.FindStringSubmatch(out), tagHashRe.FindStringSubmatch(out)
		if seq == nil || hash == nil {
			t.Fatalf("backup %d printed no sequence or state hash:\n%s", i, out)
		}
		snap := paths[i]
		restored := filepath.Join(t.TempDir(), "r")
		res := pimvault(t, "restore", "--data", dir, "--from", snap, "--to-seq", seq[1], "--out", restored)
		if m := restoredHashRe.FindStringSubmatch(res.stdout); res.code != 0 || m == nil || m[2] != hash[1] {
			t.Fatalf("restore of backup %d (seq %s, hash %s): %s", i, seq[1], hash[1], res)
		}
		expectVerifyOK(t, restored)
	}
}
