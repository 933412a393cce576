package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDeviceCommands drives 'pimvault device' end to end against the real
// server: init, sync, add, edit, delete, status, export, and bad input.
func TestDeviceCommands(t *testing.T) {
	rs := startServer(t, t.TempDir(), "--user", "dan")
	dir := filepath.Join(t.TempDir(), "replica")
	run := func(args ...string) cliResult {
		t.Helper()
		return pimvaultStdin(t, "", append([]string{"device"}, args...)...)
	}
	must := func(res cliResult, want string) {
		t.Helper()
		if res.code != 0 || !strings.Contains(res.stdout, want) {
			t.Fatalf("want exit 0 and %q, got\n%s", want, res)
		}
	}
	if res := run("init", "--server", rs.url, "--user", "dan", "--dir", dir); res.code == 0 {
		t.Fatalf("init without --password-stdin succeeded:\n%s", res)
	}
	res := pimvaultStdin(t, rs.password+"\n", "device", "init", "--server", rs.url, "--user", "dan", "--password-stdin", "--dir", dir)
	must(res, "initialised")
	if fi, err := os.Stat(filepath.Join(dir, "password")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("password file: %v %v, want mode 0600", fi, err)
	}
	if res := pimvaultStdin(t, "x\n", "device", "init", "--server", rs.url, "--user", "dan", "--password-stdin", "--dir", dir); res.code == 0 {
		t.Fatalf("a second init over the replica succeeded:\n%s", res)
	}
	card1 := filepath.Join(t.TempDir(), "emil.vcf")
	os.WriteFile(card1, []byte(vcardBody("emil", "Emil", "first")), 0o600)
	if res := run("add", "--dir", dir, "--collection", "contacts", "--file", card1); res.code == 0 || !strings.Contains(res.stderr, "sync") {
		t.Fatalf("add before the first sync: want an error that says to sync, got\n%s", res)
	}
	must(run("sync", "--dir", dir), "uploaded 0")
	must(run("add", "--dir", dir, "--collection", "contacts", "--file", card1), "emil.vcf")
	bad := filepath.Join(t.TempDir(), "bad.vcf")
	os.WriteFile(bad, []byte("BEGIN:VCARD\r\nFN:no uid\r\nEND:VCARD\r\n"), 0o600)
	if res := run("add", "--dir", dir, "--collection", "contacts", "--file", bad); res.code == 0 || !strings.Contains(res.stderr, "no UID") {
		t.Fatalf("add of a card without UID: want a clear error, got\n%s", res)
	}
	must(run("sync", "--dir", dir), "uploaded 1")
	os.WriteFile(card1, []byte(vcardBody("emil", "Emil", "second")), 0o600)
	must(run("edit", "--dir", dir, "--collection", "contacts", "--item", "emil", "--file", card1), "edit")
	must(run("status", "--dir", dir, "--items"), "1 items, 1 dirty")
	must(run("sync", "--dir", dir), "uploaded 1")

	// A second device sees the edit; export writes it byte for byte.
	dir2 := filepath.Join(t.TempDir(), "replica2")
	must(pimvaultStdin(t, rs.password+"\n", "device", "init", "--server", rs.url, "--user", "dan", "--password-stdin", "--dir", dir2), "initialised")
	must(run("sync", "--dir", dir2), "downloaded 1")
	out := filepath.Join(t.TempDir(), "vdir")
	must(run("export", "--dir", dir2, "--out", out), "exported 1 items")
	got, err := os.ReadFile(filepath.Join(out, "addressbook-contacts", "emil.vcf"))
	if err != nil || string(got) != vcardBody("emil", "Emil", "second") {
		t.Fatalf("exported card: %q %v", got, err)
	}
	must(run("delete", "--dir", dir2, "--collection", "contacts", "--item", "emil.vcf"), "delete")
	must(run("sync", "--dir", dir2), "deleted on server 1")
	must(run("sync", "--dir", dir), "deleted here 1")
	must(run("status", "--dir", dir), "0 items")
	if res := run("sync", "--dir", filepath.Join(t.TempDir(), "none")); res.code != 1 || !strings.Contains(res.stderr, "device init") {
		t.Fatalf("sync without a replica: want exit 1 naming device init, got\n%s", res)
	}
	if res := run("frobnicate", "--dir", dir); res.code != 2 {
		t.Fatalf("unknown action: want exit 2, got\n%s", res)
	}
}
