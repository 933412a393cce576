package storage

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"
)

func objectsOf(t *testing.T, s *Store, p, c string) map[string]string {
	t.Helper()
	out := map[string]string{}
	if err := s.Objects(p, c, true, func(o Object) error { out[o.Name] = string(o.Body); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestUndoBringsBackDeletedEditedAndCollections: deletes, edits, additions
// and a deleted collection after the target are undone with new records;
// tokens (the change index) keep working and the undo is itself undoable.
func TestUndoBringsBackDeletedEditedAndCollections(t *testing.T) {
	for _, snaps := range []bool{false, true} {
		t.Run(fmt.Sprintf("snapshots=%v", snaps), func(t *testing.T) { testUndoBringsBack(t, snaps) })
	}
}

// testUndoBringsBack runs the scenario from the journal alone, or (snaps)
// with a snapshot in the middle of the history before the target, whose
// objects' bodies the undo then reads, and one after the target, which it
// must not use.
func testUndoBringsBack(t *testing.T, snaps bool) {
	s, _ := openTestStore(t, Options{})
	snapshot := func() {
		if snaps {
			if _, _, err := s.SnapshotScheduled(context.Background(), 0); err != nil {
				t.Fatal(err)
			}
		}
	}
	ctx := context.Background()
	seedCollection(t, s, "alice", "contacts")
	seedCollection(t, s, "bob", "contacts")
	mustCommit(t, s, Change{Op: OpCreateCollection, Principal: "alice", Collection: "work", Kind: "addressbook", Props: map[string][]byte{"{DAV:}displayname": []byte("Work")}})
	for i := 0; i < 20; i++ {
		if i == 12 {
			snapshot()
		}
		mustCommit(t, s, putChange("alice", "contacts", fmt.Sprintf("c%d.vcf", i), fmt.Sprintf("u%d", i), vcard(fmt.Sprintf("u%d", i), i)))
		mustCommit(t, s, putChange("alice", "work", fmt.Sprintf("w%d.vcf", i), fmt.Sprintf("w%d", i), vcard(fmt.Sprintf("w%d", i), i)))
	}
	mustCommit(t, s, putChange("bob", "contacts", "b.vcf", "b", vcard("b", 1)))
	target := s.Head()
	beforeContacts, beforeWork := objectsOf(t, s, "alice", "contacts"), objectsOf(t, s, "alice", "work")
	for i := 0; i < 10; i++ {
		mustCommit(t, s, Change{Op: OpDelete, Principal: "alice", Collection: "contacts", Name: fmt.Sprintf("c%d.vcf", i)})
	}
	for i := 10; i < 15; i++ {
		mustCommit(t, s, putChange("alice", "contacts", fmt.Sprintf("c%d.vcf", i), fmt.Sprintf("u%d", i), vcard(fmt.Sprintf("u%d", i), 1000+i)))
	}
	mustCommit(t, s, putChange("alice", "contacts", "new.vcf", "new", vcard("new", 1)))
	mustCommit(t, s, Change{Op: OpDeleteCollection, Principal: "alice", Collection: "work"})
	mustCommit(t, s, Change{Op: OpDelete, Principal: "bob", Collection: "contacts", Name: "b.vcf"})
	_, tokenPos, _ := s.Changes("alice", "contacts", 0)
	snapshot()

	headBefore := s.Head()
	dry, err := s.Undo(ctx, UndoRequest{Principal: "alice", ToSeq: target, DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if dry.ReAdded != 30 || dry.ChangedBack != 5 || dry.Removed != 1 || dry.Collections != 1 || dry.Failed != 0 {
		t.Fatalf("dry run: %s", dry)
	}
	if s.Head() != headBefore {
		t.Fatalf("dry run wrote records")
	}
	rep, err := s.Undo(ctx, UndoRequest{Principal: "alice", ToSeq: target})
	if err != nil {
		t.Fatal(err)
	}
	if rep.ReAdded != 30 || rep.ChangedBack != 5 || rep.Removed != 1 || rep.Failed != 0 {
		t.Fatalf("undo: %s", rep)
	}
	if snaps != (rep.Snapshot != "") {
		t.Fatalf("undo started from snapshot %q (snapshots: %v)", rep.Snapshot, snaps)
	}
	if snaps {
		info, err := ReadSnapshotInfo(rep.Snapshot)
		if err != nil || info.Seq >= target || info.Seq+10 > target {
			t.Fatalf("undo used snapshot at %d (%v), want the one before the target %d", info.Seq, err, target)
		}
	}
	if got := objectsOf(t, s, "alice", "contacts"); fmt.Sprint(got) != fmt.Sprint(beforeContacts) {
		t.Fatalf("contacts after undo differ from before")
	}
	if got := objectsOf(t, s, "alice", "work"); fmt.Sprint(got) != fmt.Sprint(beforeWork) {
		t.Fatalf("work after undo differs from before")
	}
	if c, err := s.Collection("alice", "work"); err != nil || string(c.Props["{DAV:}displayname"]) != "Work" {
		t.Fatalf("work collection props: %+v %v", c, err)
	}
	if _, err := s.Get("bob", "contacts", "b.vcf"); err == nil {
		t.Fatalf("bob's data was touched by alice's undo")
	}
	// A client holding the old position sees ordinary changes.
	ch, _, err := s.Changes("alice", "contacts", tokenPos)
	if err != nil || len(ch) != 16 {
		t.Fatalf("changes since the old token: %d %v", len(ch), err)
	}
	// Undo again to the same point: nothing to do.
	again, err := s.Undo(ctx, UndoRequest{Principal: "alice", ToSeq: target, DryRun: true})
	if err != nil || len(again.Items) != 0 {
		t.Fatalf("second undo: %v %s", err, again)
	}
	hist, err := s.History("alice", "contacts", 5)
	if err != nil || len(hist) != 5 || hist[0].Seq < hist[4].Seq {
		t.Fatalf("history: %+v %v", hist, err)
	}
}

func TestUndoOneObjectByTimeAndConflicts(t *testing.T) {
	s, _ := openTestStore(t, Options{})
	ctx := context.Background()
	seedCollection(t, s, "alice", "contacts")
	mustCommit(t, s, putChange("alice", "contacts", "a.vcf", "a", vcard("a", 1)))
	mustCommit(t, s, putChange("alice", "contacts", "b.vcf", "b", vcard("b", 1)))
	time.Sleep(2 * time.Millisecond) // the target time lies between two group commits
	at := time.Now()
	time.Sleep(2 * time.Millisecond)
	mustCommit(t, s, Change{Op: OpDelete, Principal: "alice", Collection: "contacts", Name: "a.vcf"})
	mustCommit(t, s, Change{Op: OpDelete, Principal: "alice", Collection: "contacts", Name: "b.vcf"})
	rep, err := s.Undo(ctx, UndoRequest{Principal: "alice", Collection: "contacts", Object: "a.vcf", ToTime: at})
	if err != nil || rep.ReAdded != 1 || len(rep.Items) != 1 {
		t.Fatalf("undo one object: %v %s", err, rep)
	}
	if _, err := s.Get("alice", "contacts", "b.vcf"); err == nil {
		t.Fatalf("b came back, only a was asked for")
	}
	// Another name now holds b's UID: re-adding b conflicts and is reported.
	mustCommit(t, s, putChange("alice", "contacts", "b2.vcf", "b", vcard("b", 2)))
	rep, err = s.Undo(ctx, UndoRequest{Principal: "alice", Collection: "contacts", Object: "b.vcf", ToTime: at})
	if err != nil || rep.Failed != 1 || rep.Items[0].Error == "" {
		t.Fatalf("conflicting undo: %v %s", err, rep)
	}
	for _, bad := range []UndoRequest{{Principal: "alice"}, {Principal: "alice", Object: "x", ToSeq: 1}, {Principal: "../x", ToSeq: 1}, {Principal: "nobody", ToSeq: 1}} {
		if _, err := s.Undo(ctx, bad); err == nil {
			t.Fatalf("undo %+v: no error", bad)
		}
	}
}

// TestHistoryAcrossSegments: newest first, limited, only the principal's
// (and the collection's) changes, the same whether it spans one or many
// segments.
func TestHistoryAcrossSegments(t *testing.T) {
	s, _ := openTestStore(t, Options{SegmentSize: 4096})
	seedCollection(t, s, "alice", "contacts")
	seedCollection(t, s, "bob", "contacts")
	mustCommit(t, s, Change{Op: OpCreateCollection, Principal: "alice", Collection: "other", Kind: "addressbook"})
	var want []uint64
	for i := 0; i < 60; i++ {
		res := mustCommit(t, s, putChange("alice", "contacts", fmt.Sprintf("c%d.vcf", i), fmt.Sprintf("u%d", i), vcard("u", i)))
		want = append(want, res.Seq)
		mustCommit(t, s, putChange("bob", "contacts", fmt.Sprintf("c%d.vcf", i), fmt.Sprintf("u%d", i), vcard("u", i)))
		mustCommit(t, s, putChange("alice", "other", fmt.Sprintf("c%d.vcf", i), fmt.Sprintf("u%d", i), vcard("u", i)))
	}
	if segs, _ := listSegments(s.opts.JournalDir); len(segs) < 5 {
		t.Fatalf("want many segments, got %d", len(segs))
	}
	for _, limit := range []int{1, 7, 60, 1000} {
		h, err := s.History("alice", "contacts", limit)
		if err != nil {
			t.Fatal(err)
		}
		n := min(limit, 61) // 60 puts and the collection's creation
		if len(h) != n {
			t.Fatalf("limit %d: %d entries, want %d", limit, len(h), n)
		}
		for i, e := range h {
			if e.Collection != "contacts" || (i < 60 && e.Seq != want[59-i]) {
				t.Fatalf("limit %d: entry %d is %+v, want seq %d", limit, i, e, want[59-i])
			}
		}
	}
	if h, _ := s.History("alice", "", 0); len(h) != 122 {
		t.Fatalf("all of alice's history: %d entries, want 122 (2 collections, 120 puts)", len(h))
	}
}

// collectionsOf returns a principal's collections as comparable text: kind,
// properties and every object's name, metadata and body.
func collectionsOf(t *testing.T, s *Store, p string) map[string]string {
	t.Helper()
	out := map[string]string{}
	cols, err := s.Collections(p)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cols {
		text := fmt.Sprintf("kind=%s props=%q\n", c.Kind, c.Props)
		s.Objects(p, c.Name, true, func(o Object) error {
			text += fmt.Sprintf("%s %s %+v %q\n", o.Name, o.ETag, o.Meta.UID, o.Body)
			return nil
		})
		out[c.Name] = text
	}
	return out
}

// TestUndoMatchesRestoreAtRandomPoints: after an undo of alice's data to a
// random point of a long scripted history (puts, deletes, moves, collection
// changes, with snapshots on the way), alice's collections equal those of a
// point-in-time restore to that point; bob's data is untouched.
func TestUndoMatchesRestoreAtRandomPoints(t *testing.T) {
	s, dir := openTestStore(t, Options{SegmentSize: 64 << 10})
	rng := rand.New(rand.NewPCG(7, 2))
	scriptedHistory(t, s, rng, 1500, 400)
	for i := 0; i < 6; i++ {
		head := s.Head()
		target := head/2 + rng.Uint64N(head/2)
		rep, err := Restore(context.Background(), RestoreOptions{DataDir: dir, ToSeq: target, Out: filepath.Join(t.TempDir(), "r"), KeepEpoch: true})
		if err != nil {
			t.Fatal(err)
		}
		r, err := OpenExisting(rep.Out, Options{})
		if err != nil {
			t.Fatal(err)
		}
		want := collectionsOf(t, r, "alice")
		r.Close()
		bob := collectionsOf(t, s, "bob")
		u, err := s.Undo(context.Background(), UndoRequest{Principal: "alice", ToSeq: target, Confirm: true})
		if err != nil || u.Failed > 0 {
			t.Fatalf("undo to %d: %v\n%s", target, err, u)
		}
		got := collectionsOf(t, s, "alice")
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("undo to %d (snapshot %q): alice's data differs from a restore to that point:\ngot  %v\nwant %v", target, u.Snapshot, got, want)
		}
		if fmt.Sprint(collectionsOf(t, s, "bob")) != fmt.Sprint(bob) {
			t.Fatalf("undo of alice changed bob's data")
		}
		// More history after the undo, so the next undo crosses this one.
		scriptedHistory(t, s, rng, 200, 0)
	}
}

// TestUndoDeletedAccount: deleting an account is one journalled tombstone,
// and an undo to before it brings back the account data, its collections
// and their objects, from the journal alone or from a snapshot.
func TestUndoDeletedAccount(t *testing.T) {
	for _, snaps := range []bool{false, true} {
		t.Run(fmt.Sprintf("snapshots=%v", snaps), func(t *testing.T) {
			s, _ := openTestStore(t, Options{})
			seedCollection(t, s, "alice", "contacts")
			seedCollection(t, s, "bob", "contacts")
			for i := 0; i < 5; i++ {
				mustCommit(t, s, putChange("alice", "contacts", fmt.Sprintf("c%d.vcf", i), fmt.Sprintf("u%d", i), vcard(fmt.Sprintf("u%d", i), i)))
			}
			if snaps {
				if _, _, err := s.SnapshotScheduled(context.Background(), 0); err != nil {
					t.Fatal(err)
				}
			}
			mustCommit(t, s, putChange("alice", "contacts", "late.vcf", "late", vcard("late", 9)))
			want := objectsOf(t, s, "alice", "contacts")
			acct, err := s.Principal("alice")
			if err != nil {
				t.Fatal(err)
			}
			target := s.Head()
			del := mustCommit(t, s, Change{Op: OpDeletePrincipal, Principal: "alice"})
			if _, err := s.Principal("alice"); err == nil {
				t.Fatal("alice still there after the tombstone")
			}
			if _, err := s.Undo(context.Background(), UndoRequest{Principal: "alice", Collection: "contacts", ToSeq: target}); err == nil {
				t.Error("an undo of one collection of a deleted account was accepted")
			}
			rep, err := s.Undo(context.Background(), UndoRequest{Principal: "alice", ToSeq: target})
			if err != nil {
				t.Fatal(err)
			}
			if rep.Failed != 0 || rep.ReAdded != len(want) {
				t.Fatalf("undo report: %s", rep)
			}
			got, err := s.Principal("alice")
			if err != nil || string(got.Data) != string(acct.Data) {
				t.Fatalf("account after undo: %+v %v, want data %q", got, err, acct.Data)
			}
			if objs := objectsOf(t, s, "alice", "contacts"); fmt.Sprint(objs) != fmt.Sprint(want) {
				t.Errorf("objects after undo: %d, want %d", len(objs), len(want))
			}
			if s.Head() <= del.Seq {
				t.Errorf("undo wrote nothing after the tombstone at %d", del.Seq)
			}
			checkIntegrity(t, s)
		})
	}
}
