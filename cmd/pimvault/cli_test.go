package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pimvault/pimvault/storage"
)

// segmentFiles lists the journal segments of dir in order.
func segmentFiles(t *testing.T, dir string) []string {
	t.Helper()
	segs, err := filepath.Glob(filepath.Join(dir, "journal", "*.pvj"))
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(segs)
	return segs
}

func TestRebuildDeletedStoreDB(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	head := writeStore(t, dir, storage.Options{SegmentSize: 64 << 10}, 500)
	hash, seq := status(t, dir)
	if seq != fmt.Sprint(head) {
		t.Fatalf("status: head %s, want %d", seq, head)
	}
	if err := os.Remove(filepath.Join(dir, "store.db")); err != nil {
		t.Fatal(err)
	}
	res := pimvault(t, "rebuild", "--data", dir)
	if res.code != 0 {
		t.Fatalf("pimvault rebuild: want exit 0, got\n%s", res)
	}
	if !strings.Contains(res.stdout, "state hash: "+hash) {
		t.Errorf("rebuild output does not show the state hash %s from before:\n%s", hash, res)
	}
	hash2, seq2 := status(t, dir)
	if hash2 != hash || seq2 != seq {
		t.Errorf("after rebuild: state hash %s at %s, want %s at %s", hash2, seq2, hash, seq)
	}
	expectVerifyOK(t, dir)
}

func TestVerifyReportsDamagedSealedSegment(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeStore(t, dir, storage.Options{SegmentSize: 4096}, 100)
	segs := segmentFiles(t, dir)
	if len(segs) < 3 {
		t.Fatalf("want several segments, got %d", len(segs))
	}
	damaged := segs[1] // sealed: not the last
	b, err := os.ReadFile(damaged)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0xff
	if err := os.WriteFile(damaged, b, 0o600); err != nil {
		t.Fatal(err)
	}
	res := pimvault(t, "verify", "--data", dir)
	if res.code != 1 {
		t.Fatalf("pimvault verify on a damaged sealed segment: want exit 1, got\n%s", res)
	}
	out := res.stdout + res.stderr
	if !strings.Contains(out, damaged) {
		t.Errorf("verify output does not name the damaged segment %s:\n%s", damaged, res)
	}
	if !strings.Contains(out, "sealed") || !strings.Contains(out, "restore") {
		t.Errorf("verify output does not say the sealed segment is damaged and what to do:\n%s", res)
	}
	if strings.Contains(res.stdout, "OK") {
		t.Errorf("verify printed OK for a damaged store:\n%s", res)
	}
}

func TestAdminCommandsThroughSocketOfRunningServer(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeStore(t, dir, storage.Options{SegmentSize: 16 << 10}, 200)
	sock := filepath.Join(dir, "admin.sock")

	var serverErr syncBuffer
	srv := exec.Command(pimvaultBin, "serve", "--addr", "127.0.0.1:0", "--data", dir)
	srv.Stdout, srv.Stderr = &serverErr, &serverErr
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- srv.Wait() }()
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			srv.Process.Kill()
			<-exited
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		if _, err := os.Stat(sock); err == nil {
			break
		}
		select {
		case err := <-exited:
			stopped = true
			t.Fatalf("pimvault serve exited before creating %s: %v\n%s", sock, err, serverErr.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("pimvault serve did not create %s within 30s:\n%s", sock, serverErr.String())
		}
	}

	st, err := os.Lstat(sock)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode()&fs.ModeSocket == 0 || st.Mode().Perm() != 0o600 {
		t.Errorf("admin socket mode: got %v, want a socket with mode 0600", st.Mode())
	}

	hash, seq := status(t, dir)
	expectVerifyOK(t, dir)
	res := pimvault(t, "rebuild", "--data", dir)
	if res.code != 0 {
		t.Fatalf("pimvault rebuild through the admin socket: want exit 0, got\n%s", res)
	}
	if m := regexp.MustCompile(`previous store.db kept at (\S+)`).FindStringSubmatch(res.stdout); m == nil {
		t.Errorf("rebuild does not say where the previous store.db went:\n%s", res)
	} else if _, err := os.Stat(m[1]); err != nil {
		t.Errorf("previous store.db is not where rebuild says: %v", err)
	}
	if hash2, seq2 := status(t, dir); hash2 != hash || seq2 != seq {
		t.Errorf("after rebuild: state hash %s at %s, want %s at %s", hash2, seq2, hash, seq)
	}
	expectVerifyOK(t, dir)
	for _, cmd := range []string{"status", "verify", "rebuild"} {
		if !strings.Contains(serverErr.String(), "cmd="+cmd) {
			t.Errorf("the server did not log the admin command %s: it did not run through the admin socket:\n%s", cmd, serverErr.String())
		}
	}

	// A second server on the same directory fails (instead of waiting for the
	// lock: a blocking lock would hang this call until the test's timeout)
	// and leaves the first one alone. No wall-clock bound is asserted: under
	// a loaded -race run even a failing start can take seconds.
	second := pimvault(t, "serve", "--addr", "127.0.0.1:0", "--data", dir)
	if second.code == 0 {
		t.Errorf("second pimvault serve on %s: want a failure, got\n%s", dir, second)
	}
	if !strings.Contains(second.stderr, "in use") || !strings.Contains(second.stderr, fmt.Sprint(srv.Process.Pid)) {
		t.Errorf("second pimvault serve: want a message saying %s is in use by process %d, got\n%s", dir, srv.Process.Pid, second)
	}
	if _, err := os.Stat(sock); err != nil {
		t.Errorf("the first server's admin socket is gone after the second serve failed: %v", err)
	}
	if hash3, _ := status(t, dir); hash3 != hash {
		t.Errorf("after the second serve: state hash %s, want %s", hash3, hash)
	}

	if err := srv.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		stopped = true
		if err != nil {
			t.Errorf("pimvault serve after SIGTERM: got %v, want exit 0\n%s", err, serverErr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("pimvault serve did not stop within 30s of SIGTERM:\n%s", serverErr.String())
	}
	if strings.Contains(serverErr.String(), "DATA RACE") {
		t.Errorf("the race detector found a race in pimvault serve:\n%s", serverErr.String())
	}
	if _, err := os.Lstat(sock); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("admin socket after the server stopped: got %v, want it removed", err)
	}
	if locked, err := storage.IsLocked(dir); err != nil || locked {
		t.Errorf("data directory after the server stopped: locked %v (%v), want unlocked", locked, err)
	}
	// Offline now: the store is as the server left it.
	if hash4, _ := status(t, dir); hash4 != hash {
		t.Errorf("after the server stopped: state hash %s, want %s", hash4, hash)
	}
	expectVerifyOK(t, dir)
}

func TestAdminCommandsOnMissingDataDir(t *testing.T) {
	t.Parallel()
	type target struct {
		path    string
		cleanup bool // the test must remove it if a command created it
	}
	targets := []target{{path: filepath.Join(t.TempDir(), "no", "such", "data")}}
	if _, err := os.Lstat("/nonexistent"); errors.Is(err, fs.ErrNotExist) {
		targets = append(targets, target{path: "/nonexistent", cleanup: true})
	} else {
		t.Logf("/nonexistent exists here; testing only a path in a temporary directory")
	}
	for _, tg := range targets {
		for _, cmd := range []string{"verify", "status", "rebuild"} {
			t.Run(cmd+" "+tg.path, func(t *testing.T) {
				res := pimvault(t, cmd, "--data", tg.path)
				_, statErr := os.Lstat(tg.path)
				if statErr == nil && tg.cleanup {
					os.RemoveAll(tg.path)
				}
				if res.code == 0 {
					t.Errorf("pimvault %s --data %s: want a failure, got\n%s", cmd, tg.path, res)
				}
				if !strings.Contains(res.stderr, tg.path) || !strings.Contains(res.stderr, "no pimvault store") {
					t.Errorf("pimvault %s --data %s: want a message naming the directory and saying it holds no store, got\n%s", cmd, tg.path, res)
				}
				if statErr == nil {
					t.Errorf("pimvault %s created %s", cmd, tg.path)
				}
			})
		}
	}
	// An existing directory that holds no store stays empty.
	empty := t.TempDir()
	for _, cmd := range []string{"verify", "status", "rebuild"} {
		res := pimvault(t, cmd, "--data", empty)
		if res.code == 0 || !strings.Contains(res.stderr, "no pimvault store") {
			t.Errorf("pimvault %s on an empty directory: want a failure saying it holds no store, got\n%s", cmd, res)
		}
		if ents, _ := os.ReadDir(empty); len(ents) != 0 {
			t.Errorf("pimvault %s on an empty directory created %v", cmd, ents)
		}
	}
}
