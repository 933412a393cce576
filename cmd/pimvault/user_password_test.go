package main

import (
	"strings"
	"testing"

	"github.com/pimvault/pimvault/storage"
)

// A password over bcrypt's 72 bytes is refused by user add and user passwd
// with a message that says why, and nothing is created or changed.
func TestUserPasswordOver72BytesRefused(t *testing.T) {
	dir := t.TempDir()
	writeStore(t, dir, storage.Options{}, 0)
	long := strings.Repeat("p", 80)
	res := pimvaultStdin(t, long+"\n", "user", "add", "ann", "--password-stdin", "--data", dir)
	if res.code == 0 || !strings.Contains(res.stderr+res.stdout, "72") {
		t.Fatalf("user add with an 80-byte password:\n%s", res)
	}
	if res := pimvault(t, "user", "list", "--data", dir); strings.Contains(res.stdout, "ann") {
		t.Fatalf("the refused account exists:\n%s", res)
	}
	if res := pimvaultStdin(t, "good password 1\n", "user", "add", "ann", "--password-stdin", "--data", dir); res.code != 0 {
		t.Fatalf("user add: %s", res)
	}
	res = pimvaultStdin(t, long+"\n", "user", "passwd", "ann", "--password-stdin", "--data", dir)
	if res.code == 0 || !strings.Contains(res.stderr+res.stdout, "72") {
		t.Fatalf("user passwd with an 80-byte password:\n%s", res)
	}
}
