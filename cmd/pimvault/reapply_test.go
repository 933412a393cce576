package main

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/pimvault/pimvault/storage"
)

// TestRecoveryReapplyCommand: a directory set aside beside the data
// directory (as a rejoin leaves it) is listed by 'pimvault status';
// 'pimvault recovery reapply --dry-run' lists its unshared records and
// changes nothing; without --dry-run they are written as new changes,
// except the contact this store changed since, which is reported.
func TestRecoveryReapplyCommand(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir() + "/data"
	card := func(i int, note string) storage.Change {
		uid := fmt.Sprintf("c%d", i)
		return storage.Change{Op: storage.OpPut, Principal: "kim", Collection: "contacts", Name: uid + ".vcf",
			Body: []byte("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:" + uid + "\r\nFN:" + note + "\r\nEND:VCARD\r\n"), Meta: storage.ObjectMeta{UID: uid, Component: "VCARD"}}
	}
	commit := func(d string, cs ...storage.Change) {
		t.Helper()
		s, err := storage.Open(d, storage.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		for _, c := range cs {
			if _, err := s.Commit(ctx, c); err != nil {
				t.Fatal(err)
			}
		}
	}
	commit(dir, storage.Change{Op: storage.OpPutPrincipal, Principal: "kim", Body: []byte(`{}`)},
		storage.Change{Op: storage.OpCreateCollection, Principal: "kim", Collection: "contacts", Kind: "addressbook"},
		card(1, "One"), card(2, "Two"))
	aside := dir + storage.DivergedSuffix + "20261203T120000Z"
	copyTree(t, dir, aside)
	commit(aside, card(3, "Three, never replicated"), card(2, "Two, edited on the old primary"))
	commit(dir, card(2, "Two, edited on the new primary"))

	st := pimvault(t, "status", "--data", dir)
	if st.code != 0 || !strings.Contains(st.stdout, "kept aside") || !strings.Contains(st.stdout, aside) {
		t.Fatalf("status does not list the directory kept aside:\n%s", st)
	}
	_, head := status(t, dir)
	dry := pimvault(t, "recovery", "reapply", "--from", aside, "--dry-run", "--data", dir)
	if dry.code != 0 || !strings.Contains(dry.stdout, "would put") || !strings.Contains(dry.stdout, "kim/contacts/c3.vcf") ||
		!strings.Contains(dry.stdout, "skip") || !strings.Contains(dry.stdout, "changed on this store since the split") {
		t.Fatalf("reapply --dry-run:\n%s", dry)
	}
	if _, h := status(t, dir); h != head {
		t.Fatalf("a dry run moved the head from %s to %s", head, h)
	}
	res := pimvault(t, "recovery", "reapply", "--from", aside, "--data", dir)
	if res.code != 0 || !strings.Contains(res.stdout, "re-applied: 1") {
		t.Fatalf("reapply:\n%s", res)
	}
	s, err := storage.Open(dir, storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for name, want := range map[string]string{"c3.vcf": "Three, never replicated", "c2.vcf": "Two, edited on the new primary"} {
		o, err := s.Get("kim", "contacts", name)
		if err != nil || !strings.Contains(string(o.Body), want) {
			t.Fatalf("%s after the re-apply: %v %q", name, err, o.Body)
		}
	}
	if res := pimvault(t, "recovery", "reapply", "--dry-run", "--data", dir); res.code != 2 {
		t.Fatalf("reapply without --from: want usage (2):\n%s", res)
	}
}
