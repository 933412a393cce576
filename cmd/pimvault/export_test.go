package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pimvault/pimvault/storage"
)

// TestExportImportCommands: export a user, import the export back (merge:
// nothing changes), import a .vcf with a bad card (nothing imported, the
// error names file and line).
func TestExportImportCommands(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeStore(t, dir, storage.Options{}, 20)
	out := filepath.Join(t.TempDir(), "alice.zip")
	res := pimvault(t, "export", "--data", dir, "--user", "alice", "--out", out)
	if res.code != 0 || !strings.Contains(res.stdout, "exported 1 collections, 18 objects") {
		t.Fatalf("export: %s", res)
	}
	if res := pimvault(t, "export", "--data", dir, "--user", "alice", "--out", out); res.code != 1 || !strings.Contains(res.stderr, "exists") {
		t.Fatalf("export over an existing file: %s", res)
	}
	res = pimvault(t, "import", "--data", dir, "--user", "alice", out)
	if res.code != 0 || !strings.Contains(res.stdout, "added: 0, updated: 0, unchanged: 18, failed: 0") {
		t.Fatalf("import of the export: %s", res)
	}
	_, head := status(t, dir)
	bad := filepath.Join(t.TempDir(), "new.vcf")
	os.WriteFile(bad, []byte("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:n1\r\nFN:New\r\nEND:VCARD\r\nBEGIN:VCARD\r\nVERSION:3.0\r\nFN:No UID\r\nEND:VCARD\r\n"), 0o600)
	res = pimvault(t, "import", "--data", dir, "--user", "alice", bad)
	if res.code != 1 || !strings.Contains(res.stdout, "new.vcf:6: vCard has no UID") || !strings.Contains(res.stdout, "nothing imported") {
		t.Fatalf("import of a bad file: %s", res)
	}
	if _, h := status(t, dir); h != head {
		t.Fatalf("a refused import wrote records: head %s, was %s", h, head)
	}
}
