package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pimvault/pimvault/storage"
)

// TestUndoAndRestoreTimeGuards: --to-time outside 1970..now+1 day is
// refused before anything runs (after 2262 or before 1677 it overflowed and
// undid everything); a dry run back to before the collection existed counts
// the 36 contacts that go with it (it said "removed: 0"); applying that undo
// needs --yes, without which it is refused with the counts and changes
// nothing.
func TestUndoAndRestoreTimeGuards(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	head := writeStore(t, dir, storage.Options{}, 40)
	for _, when := range []string{"2300-01-01T00:00:00Z", "2262-04-12T00:00:00Z", "1600-01-01T00:00:00Z", "1969-12-31T00:00:00Z", "soon"} {
		res := pimvault(t, "undo", "--data", dir, "--user", "alice", "--to-time", when)
		if res.code != 2 || !strings.Contains(res.stderr, "--to-time") || !strings.Contains(res.stderr, "1970-01-01T00:00:00Z") {
			t.Fatalf("undo --to-time %s: %s", when, res)
		}
		res = pimvault(t, "restore", "--data", dir, "--to-time", when, "--out", filepath.Join(t.TempDir(), "r"))
		if res.code != 2 || !strings.Contains(res.stderr, "1970-01-01T00:00:00Z") {
			t.Fatalf("restore --to-time %s: %s", when, res)
		}
	}
	const early = "1971-01-01T00:00:00Z"
	res := pimvault(t, "undo", "--data", dir, "--user", "alice", "--to-time", early, "--dry-run")
	if res.code != 0 || !strings.Contains(res.stdout, "collection contacts: added 0, removed 36, changed 0 (remove-collection)") ||
		!strings.Contains(res.stdout, "removed: 36,") || !strings.Contains(res.stdout, "needs confirmation") {
		t.Fatalf("undo --dry-run to 1971: %s", res)
	}
	res = pimvault(t, "undo", "--data", dir, "--user", "alice", "--to-time", early)
	if res.code != 1 || !strings.Contains(res.stdout, "1 collections and 36 objects") || !strings.Contains(res.stdout, "--yes") {
		t.Fatalf("undo removing a collection without --yes: %s", res)
	}
	if _, h := status(t, dir); h != itoa(head) {
		t.Fatalf("a refused undo moved the head from %d to %s", head, h)
	}
	res = pimvault(t, "undo", "--data", dir, "--user", "alice", "--to-time", early, "--yes")
	if res.code != 0 || !strings.Contains(res.stdout, "removed: 36, collections: 1, failed: 0") {
		t.Fatalf("undo --yes: %s", res)
	}
	expectVerifyOK(t, dir)
}

// TestVerifyTmp: verify and the drill build their copy under --tmp and
// leave nothing there; a --tmp (or serve --drill-tmp) that is not a
// directory is refused.
func TestVerifyTmp(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeStore(t, dir, storage.Options{}, 20)
	scratch := t.TempDir()
	for _, args := range [][]string{{"verify", "--data", dir, "--tmp", scratch}, {"verify", "--data", dir, "--drill", "--tmp", scratch}} {
		res := pimvault(t, args...)
		if res.code != 0 || !strings.Contains(res.stdout, "OK") {
			t.Fatalf("%v: %s", args, res)
		}
		if ents, _ := os.ReadDir(scratch); len(ents) != 0 {
			t.Fatalf("%v left %d entries in --tmp", args, len(ents))
		}
	}
	if res := pimvault(t, "verify", "--data", dir, "--tmp", filepath.Join(scratch, "missing")); res.code != 2 || !strings.Contains(res.stderr, "not a directory") {
		t.Fatalf("verify --tmp missing: %s", res)
	}
	if res := pimvault(t, "serve", "--data", dir, "--drill-tmp", filepath.Join(scratch, "missing")); res.code != 2 || !strings.Contains(res.stderr, "not a directory") {
		t.Fatalf("serve --drill-tmp missing: %s", res)
	}
}

// TestDayCountsRangeChecked: a day count that overflows time.Duration (it
// became a negative window, so a recovery closed at once) is refused.
func TestDayCountsRangeChecked(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeStore(t, dir, storage.Options{}, 1)
	if res := pimvault(t, "serve", "--data", dir, "--recovery-device-days", "200000"); res.code != 2 || !strings.Contains(res.stderr, "36500") {
		t.Fatalf("serve --recovery-device-days 200000: %s", res)
	}
	if res := pimvault(t, "recovery", "status", "--data", dir, "--user", "alice", "--window-days", "200000"); res.code == 0 || !strings.Contains(res.stderr, "36500") {
		t.Fatalf("recovery status --window-days 200000: %s", res)
	}
}
