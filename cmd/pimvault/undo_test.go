package main

import (
	"strings"
	"testing"

	"github.com/pimvault/pimvault/storage"
)

// TestUndoCommand: --dry-run changes nothing; the real run writes new
// records and a second dry run has nothing left to do.
func TestUndoCommand(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	head := writeStore(t, dir, storage.Options{}, 40)
	res := pimvault(t, "undo", "--data", dir, "--user", "alice", "--collection", "contacts", "--to-seq", "12", "--dry-run")
	// At 12 (1 epoch, 2 principal, 3 collection): contacts 0..8; later 31 more are added, 4 deleted (contact 4 of those at 12).
	if res.code != 0 || !strings.Contains(res.stdout, "would undo") || !strings.Contains(res.stdout, "re-added: 1, changed back: 0, removed: 28,") {
		t.Fatalf("undo --dry-run: %s", res)
	}
	if _, h := status(t, dir); h != itoa(head) {
		t.Fatalf("dry run moved the head to %s", h)
	}
	res = pimvault(t, "undo", "--data", dir, "--user", "alice", "--collection", "contacts", "--to-seq", "12")
	if res.code != 0 || !strings.Contains(res.stdout, "re-added: 1, changed back: 0, removed: 28, collections: 0, failed: 0") {
		t.Fatalf("undo: %s", res)
	}
	expectVerifyOK(t, dir)
	res = pimvault(t, "undo", "--data", dir, "--user", "alice", "--to-seq", "12", "--dry-run")
	if res.code != 0 || !strings.Contains(res.stdout, "re-added: 0, changed back: 0, removed: 0,") {
		t.Fatalf("second undo --dry-run: %s", res)
	}
	if res := pimvault(t, "undo", "--data", dir, "--user", "alice"); res.code != 2 {
		t.Fatalf("undo without target: %s", res)
	}
}
