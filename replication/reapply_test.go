package replication

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pimvault/pimvault/replication/natstest"
	"github.com/pimvault/pimvault/storage"
)

func edited(i int, who string) storage.Change {
	c := contact(i)
	c.Body = []byte(fmt.Sprintf("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:u%d\r\nFN:P %d edited by %s\r\nEND:VCARD\r\n", i, i, who))
	return c
}

// TestReapplyDivergedTail: an async primary accepts writes it never
// replicates (two new contacts, an edit, a deletion, and an edit of a
// contact the new primary edits too), then is lost. The standby is
// promoted and writes; the former primary rejoins, which sets its
// directory aside. A dry run lists the tail and changes nothing; the
// re-apply writes the tail as new changes, skips and reports the contact
// changed on the new primary, and a second run finds nothing left to do.
// The rejoined standby follows the re-applied changes.
func TestReapplyDivergedTail(t *testing.T) {
	c := natstest.Start(t, 1)
	cfg := testConfig(t, c, Async)
	cfg.AllowSingleReplica = true
	adir := filepath.Join(t.TempDir(), "a")
	a, err := storage.Open(adir, storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	pub, err := StartPublisher(context.Background(), a, cfg)
	if err != nil {
		t.Fatal(err)
	}
	seed(t, a)
	if _, errs := writers(a, 2, 10, 0); len(errs) > 0 {
		t.Fatal(errs)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for pub.published.Load() < a.Head() {
		if ctx.Err() != nil {
			t.Fatal("the async primary never caught up")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Cut off: what follows reaches only the primary's own journal.
	pub.lease.release()
	close(pub.stop)
	<-pub.done
	pub.c.close()
	a.SetReplicator(nil)
	del := contact(6)
	del.Op, del.Body, del.Meta = storage.OpDelete, nil, storage.ObjectMeta{}
	for _, ch := range []storage.Change{contact(100), contact(101), edited(5, "a"), del, edited(7, "a")} {
		if _, err := a.Commit(context.Background(), ch); err != nil {
			t.Fatal(err)
		}
	}
	a.Close()

	id := readStoreID(t, adir)
	b, fb, err := OpenStandby(context.Background(), filepath.Join(t.TempDir(), "b"), id, storage.Options{}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	defer fb.Close()
	if _, err := fb.Promote(ctx, false); err != nil {
		t.Fatal(err)
	}
	for _, ch := range []storage.Change{edited(7, "b"), contact(200)} {
		if _, err := b.Commit(context.Background(), ch); err != nil {
			t.Fatal(err)
		}
	}
	a2, f2, err := OpenStandby(context.Background(), adir, id, storage.Options{}, cfg)
	if err != nil {
		t.Fatalf("former primary as standby: %v", err)
	}
	defer a2.Close()
	defer f2.Close()
	aside := storage.DivergedDirs(adir)
	if len(aside) != 1 || aside[0] != f2.aside {
		t.Fatalf("directories kept aside beside %s: %v (rejoin says %q)", adir, aside, f2.aside)
	}

	head := b.Head()
	dry, err := b.Reapply(context.Background(), aside[0], true)
	if err != nil {
		t.Fatal(err)
	}
	if b.Head() != head {
		t.Fatalf("a dry run wrote records: head %d → %d", head, b.Head())
	}
	want := "put alice/contacts/u100.vcf,put alice/contacts/u101.vcf,put alice/contacts/u5.vcf,delete alice/contacts/u6.vcf"
	if got := itemList(dry.Applied); got != want {
		t.Fatalf("dry run would apply %s, want %s\n%s", got, want, dry)
	}
	if got := itemList(dry.Skipped); got != "put alice/contacts/u7.vcf" || !strings.Contains(dry.String(), "changed on this store since the split") {
		t.Fatalf("dry run skips %s, want u7 (changed on the new primary):\n%s", got, dry)
	}
	if dry.TailHead-dry.Common != 5 {
		t.Fatalf("the tail is records %d..%d, want the 5 unreplicated ones", dry.Common+1, dry.TailHead)
	}
	t.Logf("dry run:\n%s", dry)

	rep, err := b.Reapply(context.Background(), aside[0], false)
	if err != nil {
		t.Fatal(err)
	}
	if itemList(rep.Applied) != want || b.Head() != head+4 {
		t.Fatalf("re-apply: %s, head %d → %d\n%s", itemList(rep.Applied), head, b.Head(), rep)
	}
	for _, ch := range []storage.Change{contact(100), contact(101), edited(5, "a"), edited(7, "b"), contact(200)} {
		o, err := b.Get("alice", "contacts", ch.Name)
		if err != nil || string(o.Body) != string(ch.Body) {
			t.Fatalf("%s after the re-apply: %v %q", ch.Name, err, o.Body)
		}
	}
	if _, err := b.Get("alice", "contacts", "u6.vcf"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("u6 after the re-apply: %v", err)
	}
	again, err := b.Reapply(context.Background(), aside[0], false)
	if err != nil || len(again.Applied) != 0 || b.Head() != head+4 {
		t.Fatalf("second re-apply: %v\n%s", err, again)
	}
	if err := f2.WaitFor(ctx, b.Head()); err != nil {
		t.Fatal(err)
	}
	h1, q1 := stateHash(t, b)
	h2, q2 := stateHash(t, a2)
	if h1 != h2 || q1 != q2 {
		t.Fatalf("rejoined standby %s at %d, primary %s at %d", h2, q2, h1, q1)
	}
	verifyOK(t, b)
	// Another store's directory is refused.
	other, err := storage.Open(filepath.Join(t.TempDir(), "other"), storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	other.Close()
	if _, err := b.Reapply(context.Background(), filepath.Join(filepath.Dir(other.Dir()), "other"), true); err == nil {
		t.Fatal("a directory of another store was accepted")
	}
}

func itemList(items []storage.ReapplyItem) string {
	var out []string
	for _, it := range items {
		out = append(out, it.Action+" "+it.Principal+"/"+it.Collection+"/"+it.Name)
	}
	return strings.Join(out, ",")
}
