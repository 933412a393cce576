package storage

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// seedContacts puts n contacts into p's collection c.
func seedContacts(t *testing.T, s *Store, p, c string, n int) {
	t.Helper()
	seedCollection(t, s, p, c)
	for i := 0; i < n; i++ {
		mustCommit(t, s, putChange(p, c, fmt.Sprintf("c%d.vcf", i), fmt.Sprintf("%s-u%d", c, i), vcard(fmt.Sprintf("%s-u%d", c, i), i)))
	}
}

// TestUndoTimeOutOfRangeChangesNothing: a target time the journal's Unix
// nanoseconds cannot hold (after 2262, before 1677: UnixNano overflowed and
// the plan went back to sequence 0, removing every collection) or outside
// 1970..now+1 day is refused with the accepted range, even confirmed, and
// changes nothing.
func TestUndoTimeOutOfRangeChangesNothing(t *testing.T) {
	s, _ := openTestStore(t, Options{})
	seedContacts(t, s, "alice", "contacts", 20)
	seedContacts(t, s, "alice", "work", 5)
	head := s.Head()
	for _, when := range []string{"2300-01-01T00:00:00Z", "2262-04-12T00:00:00Z", "9999-12-31T23:59:59Z", "1600-01-01T00:00:00Z", "1677-09-21T00:00:00Z", "1969-12-31T23:59:59Z", time.Now().Add(48 * time.Hour).UTC().Format(time.RFC3339)} {
		tt, err := time.Parse(time.RFC3339, when)
		if err != nil {
			t.Fatal(err)
		}
		for _, col := range []string{"", "contacts"} {
			rep, err := s.Undo(context.Background(), UndoRequest{Principal: "alice", Collection: col, ToTime: tt, Confirm: true})
			if !errors.Is(err, ErrTimeRange) || !errors.Is(err, ErrInvalidChange) {
				t.Fatalf("undo to %s (collection %q): want ErrTimeRange, got %v, report %v", when, col, err, rep)
			}
			if !strings.Contains(err.Error(), "1970-01-01T00:00:00Z") || !strings.Contains(err.Error(), "RFC 3339") {
				t.Fatalf("message does not name the range and format: %v", err)
			}
		}
		out := filepath.Join(t.TempDir(), "r")
		if _, err := Restore(context.Background(), RestoreOptions{DataDir: s.dir, Out: out, ToTime: tt}); !errors.Is(err, ErrTimeRange) {
			t.Fatalf("restore to %s: want ErrTimeRange, got %v", when, err)
		}
		if ents, _ := os.ReadDir(out); len(ents) != 0 {
			t.Fatalf("refused restore left %d files in its output", len(ents))
		}
	}
	if s.Head() != head {
		t.Fatalf("refused undos wrote records: head %d, was %d", s.Head(), head)
	}
	if n := len(objectsOf(t, s, "alice", "contacts")); n != 20 {
		t.Fatalf("contacts: %d objects left, want 20", n)
	}
	// The edges of the range are accepted.
	if _, err := s.Undo(context.Background(), UndoRequest{Principal: "alice", ToTime: time.Now().Add(time.Hour), DryRun: true}); err != nil {
		t.Fatalf("undo to a time just after now: %v", err)
	}
	if _, err := ParseTimeArg("to_time", "1970-01-01T00:00:00Z", time.Now()); err != nil {
		t.Fatalf("1970-01-01: %v", err)
	}
	if _, err := ParseTimeArg("to_time", "yesterday", time.Now()); !errors.Is(err, ErrTimeRange) || !strings.Contains(err.Error(), "to_time") {
		t.Fatalf("malformed time: %v", err)
	}
}

// TestUndoDryRunCountsEveryRemovedObject: a dry run back to before a
// collection existed counts the objects that go with it (it used to say
// "removed: 0"), per collection and in all, and says it needs confirmation.
func TestUndoDryRunCountsEveryRemovedObject(t *testing.T) {
	s, _ := openTestStore(t, Options{})
	seedContacts(t, s, "alice", "old", 3)
	mid := s.Head()
	time.Sleep(2 * time.Millisecond)
	seedContacts(t, s, "alice", "contacts", 150)
	mustCommit(t, s, putChange("alice", "old", "c0.vcf", "old-u0", vcard("old-u0", 99)))
	mustCommit(t, s, Change{Op: OpDelete, Principal: "alice", Collection: "old", Name: "c1.vcf"})
	mustCommit(t, s, putChange("alice", "old", "n.vcf", "old-n", vcard("old-n", 1)))
	head := s.Head()

	early := time.Date(1971, 1, 1, 0, 0, 0, 0, time.UTC)
	rep, err := s.Undo(context.Background(), UndoRequest{Principal: "alice", ToTime: early, DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	if rep.ObjectsRemoved != 153 || rep.CollectionsRemoved != 2 || !rep.NeedsConfirmation {
		t.Fatalf("dry run to 1971: removed %d objects in %d collections, confirmation %v; want 153 in 2, true\n%s", rep.ObjectsRemoved, rep.CollectionsRemoved, rep.NeedsConfirmation, rep)
	}
	if !strings.Contains(rep.String(), "removed: 153") || !strings.Contains(rep.String(), "collection contacts: added 0, removed 150, changed 0 (remove-collection)") {
		t.Fatalf("report text:\n%s", rep)
	}

	rep, err = s.Undo(context.Background(), UndoRequest{Principal: "alice", ToSeq: mid, DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	want := []UndoCounts{{Collection: "contacts", Action: UndoRemoveCol, Removed: 150}, {Collection: "old", Added: 1, Removed: 1, Changed: 1}}
	if fmt.Sprint(rep.PerCollection) != fmt.Sprint(want) || rep.ObjectsRemoved != 151 {
		t.Fatalf("per collection %+v (removed %d), want %+v (151)", rep.PerCollection, rep.ObjectsRemoved, want)
	}
	if s.Head() != head {
		t.Fatal("dry runs wrote records")
	}
}

// TestUndoNeedsConfirmation: an undo that removes a collection, or more
// objects than the limit, is refused with the counts and changes nothing
// unless confirmed; within the limit it needs none.
func TestUndoNeedsConfirmation(t *testing.T) {
	s, _ := openTestStore(t, Options{UndoConfirmOver: 10})
	seedContacts(t, s, "alice", "contacts", 5)
	target := s.Head()
	for i := 100; i < 111; i++ {
		mustCommit(t, s, putChange("alice", "contacts", fmt.Sprintf("c%d.vcf", i), fmt.Sprintf("u%d", i), vcard(fmt.Sprintf("u%d", i), i)))
	}
	seedContacts(t, s, "alice", "later", 2)
	head := s.Head()
	ctx := context.Background()

	// Only the collection: 11 objects, over the limit of 10.
	rep, err := s.Undo(ctx, UndoRequest{Principal: "alice", Collection: "contacts", ToSeq: target})
	var ce *ConfirmationError
	if !errors.As(err, &ce) || !errors.Is(err, ErrNeedsConfirmation) || ce.Objects != 11 || ce.Collections != 0 {
		t.Fatalf("undo of 11 objects without confirmation: %v", err)
	}
	if rep == nil || !rep.DryRun || rep.ObjectsRemoved != 11 || !strings.Contains(err.Error(), "11 objects") {
		t.Fatalf("refusal report: %v / %v", rep, err)
	}
	// The whole account: removes the collection "later".
	if _, err := s.Undo(ctx, UndoRequest{Principal: "alice", ToSeq: target}); !errors.As(err, &ce) || ce.Collections != 1 || ce.Objects != 13 {
		t.Fatalf("undo removing a collection without confirmation: %v", err)
	}
	if s.Head() != head || len(objectsOf(t, s, "alice", "contacts")) != 16 {
		t.Fatal("a refused undo changed data")
	}
	// One object: within the limit, no confirmation.
	if rep, err := s.Undo(ctx, UndoRequest{Principal: "alice", Collection: "contacts", Object: "c100.vcf", ToSeq: target}); err != nil || rep.Removed != 1 {
		t.Fatalf("undo of one object: %v %v", rep, err)
	}
	rep, err = s.Undo(ctx, UndoRequest{Principal: "alice", ToSeq: target, Confirm: true})
	if err != nil || rep.DryRun || rep.Failed != 0 || rep.ObjectsRemoved != 12 || rep.CollectionsRemoved != 1 {
		t.Fatalf("confirmed undo: %v\n%v", err, rep)
	}
	if n := len(objectsOf(t, s, "alice", "contacts")); n != 5 {
		t.Fatalf("after the confirmed undo contacts holds %d objects, want 5", n)
	}
	if _, err := s.Collection("alice", "later"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("collection later: %v, want it removed", err)
	}
}

// TestDaysArg: a day count converts without overflow or is refused (100,000
// days overflowed time.Duration into a negative window).
func TestDaysArg(t *testing.T) {
	for _, n := range []int{0, -1, MaxDaysArg + 1, 200000, 1 << 40} {
		if d, err := DaysArg("window-days", n); !errors.Is(err, ErrTimeRange) || d != 0 {
			t.Fatalf("DaysArg(%d) = %v, %v; want ErrTimeRange", n, d, err)
		}
	}
	for _, n := range []int{1, 30, MaxDaysArg} {
		if d, err := DaysArg("window-days", n); err != nil || d != time.Duration(n)*24*time.Hour || d <= 0 {
			t.Fatalf("DaysArg(%d) = %v, %v", n, d, err)
		}
	}
}
