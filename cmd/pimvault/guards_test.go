package main

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/pimvault/pimvault/storage"
)

// TestServeWithoutInitCreatesNothing: a mistyped --data is refused, and
// nothing (not the directory, not a LOCK file) is created; with --init the
// store is created and serve says where.
func TestServeWithoutInitCreatesNothing(t *testing.T) {
	t.Parallel()
	parent := t.TempDir()
	typo := filepath.Join(parent, "dta")
	res := pimvault(t, "serve", "--addr", "127.0.0.1:0", "--data", typo)
	if res.code == 0 || !strings.Contains(res.stderr, "holds no pimvault store") || !strings.Contains(res.stderr, "--init") {
		t.Fatalf("serve on a new path without --init: want a refusal naming --init, got\n%s", res)
	}
	if ents, _ := os.ReadDir(parent); len(ents) != 0 {
		t.Fatalf("a refused serve created %v", ents)
	}
	empty := filepath.Join(parent, "empty")
	if err := os.Mkdir(empty, 0o700); err != nil {
		t.Fatal(err)
	}
	if res := pimvault(t, "serve", "--addr", "127.0.0.1:0", "--data", empty); res.code == 0 {
		t.Fatalf("serve on an empty directory without --init started:\n%s", res)
	}
	if ents, _ := os.ReadDir(empty); len(ents) != 0 {
		t.Fatalf("a refused serve wrote %v into the empty directory", ents)
	}
	rs := startServer(t, typo) // the harness passes --init
	if rs.password == "" {
		t.Fatal("first start with --init printed no password")
	}
	rs.stop(t)
	id, err := storage.ReadIdentity(typo)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(rs.stderr.String(), "created a new store") || !strings.Contains(rs.stderr.String(), id.StoreID) {
		t.Errorf("serve --init did not say where it created the store:\n%s", rs.stderr.String())
	}
}

// TestFirstStartBindFailureKeepsPassword: when the port is taken, the first
// start fails before it creates the first account, so the next start
// creates it and prints its password.
func TestFirstStartBindFailureKeepsPassword(t *testing.T) {
	t.Parallel()
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	dir := t.TempDir()
	res := pimvault(t, "serve", "--init", "--addr", taken.Addr().String(), "--data", dir)
	if res.code == 0 || !strings.Contains(res.stderr, "address already in use") {
		t.Fatalf("serve on a taken port: want a bind failure, got\n%s", res)
	}
	if strings.Contains(res.stdout, "password") {
		t.Fatalf("a start that could not bind printed a password (it would be the only time):\n%s", res)
	}
	rs := startServer(t, dir)
	if rs.password == "" {
		t.Fatalf("the start after the bind failure printed no password: the first account's password is lost\n%s", rs.stderr.String())
	}
	resp, _ := davDo(t, rs, "admin", rs.password, "PROPFIND", "/dav/", map[string]string{"Depth": "0"}, "")
	if resp.StatusCode != 207 {
		t.Errorf("sign-in with the printed password: %d", resp.StatusCode)
	}
	rs.stop(t)
}

// TestExpectStoreID: serve and every admin command refuse a directory of
// another store, or none, and change nothing.
func TestExpectStoreID(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	rs := startServer(t, dir)
	rs.stop(t)
	id, err := storage.ReadIdentity(dir)
	if err != nil {
		t.Fatal(err)
	}
	other := strings.Repeat("0", 32)
	before := treeHash(t, dir)
	missing := filepath.Join(t.TempDir(), "nothing")
	for _, args := range [][]string{
		{"serve", "--init", "--addr", "127.0.0.1:0"},
		{"status"}, {"verify"}, {"rebuild"}, {"backup"}, {"user", "list"}, {"user", "add", "zed"},
		{"prune", "--retention", "1h"}, {"upgrade", "--check"}, {"undo", "--user", "admin", "--to-seq", "1"},
		{"restore", "--to-seq", "1", "--out", filepath.Join(t.TempDir(), "r")},
		{"recovery", "status", "--user", "admin"}, {"export", "--user", "admin", "--out", filepath.Join(t.TempDir(), "x.zip")},
	} {
		res := pimvault(t, append(args, "--data", dir, "--expect-store-id", other)...)
		if res.code == 0 || !strings.Contains(res.stderr, "not the expected "+other) {
			t.Errorf("%v with another store id: want a refusal naming both ids, got\n%s", args, res)
		}
		res = pimvault(t, append(args, "--data", missing, "--expect-store-id", id.StoreID)...)
		if res.code == 0 || !strings.Contains(res.stderr, "holds no pimvault store") {
			t.Errorf("%v on a missing directory: want a refusal, got\n%s", args, res)
		}
	}
	if after := treeHash(t, dir); after != before {
		t.Errorf("refused commands changed the data directory")
	}
	if _, err := os.Stat(missing); !os.IsNotExist(err) {
		t.Errorf("a refused command created %s", missing)
	}
	if res := pimvault(t, "status", "--data", dir, "--expect-store-id", id.StoreID); res.code != 0 {
		t.Errorf("status with the right id: %s", res)
	}
}

// TestMissingStoreDBHighWaterAndJournalTail: a store whose last journal
// segment, store.db and HIGHWATER are gone is not served as complete:
// every account is RECOVERING (stock clients get 503), unless the admin
// says the journal is complete.
func TestMissingStoreDBHighWaterAndJournalTail(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeStore(t, dir, storage.Options{SegmentSize: 4096}, 200)
	segs, _ := filepath.Glob(filepath.Join(dir, "journal", "*.pvj"))
	if len(segs) < 3 {
		t.Fatalf("want several segments, got %d", len(segs))
	}
	for _, p := range []string{segs[len(segs)-1], filepath.Join(dir, "store.db"), filepath.Join(dir, "HIGHWATER")} {
		if err := os.Remove(p); err != nil {
			t.Fatal(err)
		}
	}
	trusted := t.TempDir()
	copyTree(t, dir, trusted)

	rs := startServer(t, dir)
	if !strings.Contains(rs.stderr.String(), "store.db and HIGHWATER are both missing") {
		t.Errorf("the server did not log why it treats the store as a possible loss:\n%s", rs.stderr.String())
	}
	rs.stop(t)
	res := pimvault(t, "recovery", "status", "--user", "alice", "--data", dir)
	if !regexp.MustCompile(`state: RECOVERING`).MatchString(res.stdout) {
		t.Errorf("alice after a start without store.db, HIGHWATER and the journal tail: want RECOVERING, got\n%s", res)
	}

	rs = startServer(t, trusted, "--assume-journal-complete")
	rs.stop(t)
	res = pimvault(t, "recovery", "status", "--user", "alice", "--data", trusted)
	if res.code != 0 || strings.Contains(res.stdout, "RECOVERING") {
		t.Errorf("with --assume-journal-complete: want alice not recovering, got\n%s", res)
	}
}

// TestFailedRestoreLeavesNoOut: a restore that fails removes the --out
// directory it created (and leaves an existing empty one empty).
func TestFailedRestoreLeavesNoOut(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	head := writeStore(t, dir, storage.Options{}, 20)
	out := filepath.Join(t.TempDir(), "restored")
	res := pimvault(t, "restore", "--data", dir, "--to-seq", fmt.Sprint(head+1000), "--out", out)
	if res.code == 0 {
		t.Fatalf("restore past the head succeeded:\n%s", res)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("the failed restore left %s behind (%v)", out, err)
	}
	empty := t.TempDir()
	if res := pimvault(t, "restore", "--data", dir, "--to-seq", fmt.Sprint(head+1000), "--out", empty); res.code == 0 {
		t.Fatalf("restore past the head succeeded:\n%s", res)
	}
	if ents, err := os.ReadDir(empty); err != nil || len(ents) != 0 {
		t.Errorf("the failed restore into an existing empty directory left %v (%v)", ents, err)
	}
}

// TestUserDeleteAndUndo: 'user delete' is a journalled tombstone (the
// account can no longer sign in), and the undo it names brings the account
// and its data back; through the admin socket of a running server.
func TestUserDeleteAndUndo(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	rs := startServer(t, dir)
	res := pimvaultStdin(t, "a long password\n", "user", "add", "bob", "--password-stdin", "--data", dir)
	if res.code != 0 {
		t.Fatal(res)
	}
	card := "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:u1\r\nFN:Una\r\nEND:VCARD\r\n"
	if resp, _ := davDo(t, rs, "bob", "a long password", "PUT", "/dav/addressbooks/bob/contacts/u1.vcf", map[string]string{"Content-Type": "text/vcard"}, card); resp.StatusCode != 201 {
		t.Fatalf("put: %d", resp.StatusCode)
	}
	res = pimvault(t, "user", "delete", "bob", "--data", dir)
	m := regexp.MustCompile(`--to-seq (\d+)`).FindStringSubmatch(res.stdout)
	if res.code != 0 || m == nil {
		t.Fatalf("user delete: want the undo command in its output, got\n%s", res)
	}
	if resp, _ := davDo(t, rs, "bob", "a long password", "PROPFIND", "/dav/addressbooks/bob/", map[string]string{"Depth": "0"}, ""); resp.StatusCode != 401 {
		t.Errorf("deleted account signs in: %d", resp.StatusCode)
	}
	if res := pimvault(t, "user", "list", "--data", dir); strings.Contains(res.stdout, "bob") {
		t.Errorf("user list still shows bob:\n%s", res)
	}
	if res := pimvault(t, "undo", "--user", "bob", "--to-seq", m[1], "--data", dir); res.code != 0 || !strings.Contains(res.stdout, "recreate-account") {
		t.Fatalf("undo of the deletion:\n%s", res)
	}
	resp, body := davDo(t, rs, "bob", "a long password", "GET", "/dav/addressbooks/bob/contacts/u1.vcf", nil, "")
	if resp.StatusCode != 200 || !strings.Contains(body, "FN:Una") {
		t.Errorf("after undo: GET %d %q, want the card back and the old password working", resp.StatusCode, body)
	}
	rs.stop(t)
}
