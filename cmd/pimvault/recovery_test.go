package main

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pimvault/pimvault/storage"
)

// putCard PUTs a minimal vCard 3.0 named uid into alice's default address book.
func putCard(t *testing.T, rs *runningServer, pw, uid string) {
	t.Helper()
	body := "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:" + uid + "\r\nFN:" + uid + "\r\nN:" + uid + ";;;;\r\nEND:VCARD\r\n"
	resp, b := davDo(t, rs, "alice", pw, "PUT", "/dav/addressbooks/alice/contacts/"+uid+".vcf", map[string]string{"Content-Type": "text/vcard"}, body)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("put %s: %d %s", uid, resp.StatusCode, b)
	}
}

// TestHighWaterDetectsOlderDataDir: the real binary, started on a data
// directory whose store.db and journal were replaced by an older copy (its
// IDENTITY and HIGHWATER kept), says why in its log, starts a new epoch and
// puts the account into RECOVERING: stock clients get 503, devices are
// served with the recovery headers. pimvault recovery status/close work
// through the admin socket, and open/status on the stopped store; the state
// survives a restart.
func TestHighWaterDetectsOlderDataDir(t *testing.T) {
	dir := t.TempDir()
	old := t.TempDir()
	rs := startServer(t, dir, "--user", "alice")
	pw := rs.password
	putCard(t, rs, pw, "one")
	putCard(t, rs, pw, "two")
	rs.stop(t)
	copyTree(t, filepath.Join(dir, "store.db"), filepath.Join(old, "store.db"))
	copyTree(t, filepath.Join(dir, "journal"), filepath.Join(old, "journal"))

	rs = startServer(t, dir)
	resp, _ := davDo(t, rs, "alice", pw, "PROPFIND", "/dav/addressbooks/alice/contacts/", map[string]string{"X-Pimvault-Device": "phone", "Depth": "0"}, "")
	oldEpoch := resp.Header.Get("X-Pimvault-Epoch")
	putCard(t, rs, pw, "three")
	putCard(t, rs, pw, "four")
	rs.stop(t)

	// The admin restores the old store.db and journal by hand.
	for _, p := range []string{"store.db", "journal"} {
		if err := os.RemoveAll(filepath.Join(dir, p)); err != nil {
			t.Fatal(err)
		}
		copyTree(t, filepath.Join(old, p), filepath.Join(dir, p))
	}
	rs = startServer(t, dir)
	if log := rs.stderr.String(); !strings.Contains(log, "holds less than it acknowledged") || !strings.Contains(log, "rolled back or replaced") {
		t.Fatalf("no log line says why the store is RECOVERING:\n%s", log)
	}
	resp, body := davDo(t, rs, "alice", pw, "PROPFIND", "/dav/addressbooks/alice/contacts/", map[string]string{"Depth": "1"}, "")
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("stock client on a rolled-back store: %d %s, want 503 with Retry-After", resp.StatusCode, body)
	}
	resp, body = davDo(t, rs, "alice", pw, "PROPFIND", "/dav/addressbooks/alice/contacts/", map[string]string{"Depth": "1", "X-Pimvault-Device": "phone"}, "")
	if resp.StatusCode != http.StatusMultiStatus || resp.Header.Get("X-Pimvault-Recovering") != "1" {
		t.Fatalf("device on a rolled-back store: %d recovering %q %s", resp.StatusCode, resp.Header.Get("X-Pimvault-Recovering"), body)
	}
	if e := resp.Header.Get("X-Pimvault-Epoch"); e == "" || e == oldEpoch {
		t.Fatalf("epoch after the rollback %q, want a new one (was %q)", e, oldEpoch)
	}
	res := pimvault(t, "recovery", "status", "--user", "alice", "--data", dir)
	if res.code != 0 || !strings.Contains(res.stdout, "state: RECOVERING") || !strings.Contains(res.stdout, "acknowledged") || !strings.Contains(res.stdout, "phone") {
		t.Fatalf("recovery status through the socket:\n%s", res)
	}
	res = pimvault(t, "recovery", "close", "--user", "alice", "--data", dir)
	if res.code != 0 || !strings.Contains(res.stdout, "closed") {
		t.Fatalf("recovery close:\n%s", res)
	}
	resp, body = davDo(t, rs, "alice", pw, "PROPFIND", "/dav/addressbooks/alice/contacts/", map[string]string{"Depth": "1"}, "")
	if resp.StatusCode != http.StatusMultiStatus || !strings.Contains(body, "two.vcf") {
		t.Fatalf("stock client after close: %d %s", resp.StatusCode, body)
	}
	rs.stop(t)
	if log := rs.stderr.String(); !strings.Contains(log, "recovery closed") {
		t.Fatalf("the close is not logged:\n%s", log)
	}

	// Offline: open, status; then the state survives a restart.
	res = pimvault(t, "recovery", "open", "--user", "alice", "--reason", "testing offline", "--data", dir)
	if res.code != 0 || !strings.Contains(res.stdout, "RECOVERING") {
		t.Fatalf("recovery open offline:\n%s", res)
	}
	res = pimvault(t, "recovery", "status", "--user", "alice", "--data", dir)
	if res.code != 0 || !strings.Contains(res.stdout, "reason: testing offline") {
		t.Fatalf("recovery status offline:\n%s", res)
	}
	rs = startServer(t, dir)
	if log := rs.stderr.String(); strings.Contains(log, "holds less than it acknowledged") {
		t.Fatalf("a clean restart failed the high-water check:\n%s", log)
	}
	resp, _ = davDo(t, rs, "alice", pw, "GET", "/dav/addressbooks/alice/contacts/one.vcf", nil, "")
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("RECOVERING did not survive a restart: %d", resp.StatusCode)
	}
	rs.stop(t)
	expectVerifyOK(t, dir)
}

// TestRecoveryCommandErrors: bad invocations fail clearly and change nothing.
func TestRecoveryCommandErrors(t *testing.T) {
	dir := t.TempDir()
	writeStore(t, dir, storage.Options{}, 3)
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"recovery"}, 2, "usage"},
		{[]string{"recovery", "reopen", "--user", "alice"}, 2, "unknown action"},
		{[]string{"recovery", "open", "--data", dir}, 2, "usage"},
		{[]string{"recovery", "open", "--user", "nobody", "--data", dir}, 1, "not found"},
		{[]string{"recovery", "status", "--user", "../x", "--data", dir}, 1, "invalid name"},
		{[]string{"recovery", "status", "--user", "alice", "--data", filepath.Join(dir, "missing")}, 1, "no pimvault store"},
		{[]string{"serve", "--recovery-device-days", "0", "--data", dir}, 2, "from 1 to 36500"},
	} {
		res := pimvault(t, tc.args...)
		if res.code != tc.code || !strings.Contains(res.stdout+res.stderr, tc.want) {
			t.Errorf("pimvault %s: want exit %d with %q, got\n%s", strings.Join(tc.args, " "), tc.code, tc.want, res)
		}
	}
	res := pimvault(t, "recovery", "status", "--user", "alice", "--data", dir)
	if res.code != 0 || !strings.Contains(res.stdout, "state: normal") {
		t.Fatalf("status after the failed commands:\n%s", res)
	}
}
