package storage

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// TestActor: a change made by another account (a sharee) names it in the
// journal; History reports it; the projection never holds the annotation,
// so verify (store.db equals a replay) holds and a sharee's identical
// re-put is still a no-op.
func TestActor(t *testing.T) {
	s, _ := openTestStore(t, Options{})
	seedCollection(t, s, "alice", "book")
	body := []byte("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:u1\r\nFN:x\r\nEND:VCARD\r\n")
	mustCommit(t, s, Change{Op: OpPut, Principal: "alice", Collection: "book", Name: "a.vcf", Body: body, Meta: ObjectMeta{UID: "u1"}, Actor: "bob"})
	if res := mustCommit(t, s, Change{Op: OpPut, Principal: "alice", Collection: "book", Name: "a.vcf", Body: body, Meta: ObjectMeta{UID: "u1"}, Actor: "bob"}); !res.NoOp {
		t.Error("an identical re-put by a sharee wrote a record")
	}
	props, err := s.ObjectProps("alice", "book", "a.vcf")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := props[ActorKey]; ok || len(props) != 0 {
		t.Errorf("the annotation reached the object's properties: %v", props)
	}
	mustCommit(t, s, Change{Op: OpPut, Principal: "alice", Collection: "book", Name: "b.vcf", Body: []byte("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:u2\r\nFN:y\r\nEND:VCARD\r\n"), Meta: ObjectMeta{UID: "u2"}})
	mustCommit(t, s, Change{Op: OpDelete, Principal: "alice", Collection: "book", Name: "a.vcf", Actor: "carol"})
	h, err := s.History("alice", "book", 10)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range h {
		got = append(got, e.Op+" "+e.Name+" by "+e.By)
	}
	want := []string{"delete a.vcf by carol", "put b.vcf by ", "put a.vcf by bob"}
	if len(got) < 3 || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Errorf("history: %q, want to start %q", got, want)
	}
	for _, c := range []Change{
		{Op: OpSetProps, Principal: "alice", Collection: "book", Actor: "bob"},
		{Op: OpPut, Principal: "alice", Collection: "book", Name: "c.vcf", Body: body, Actor: "../x"},
	} {
		if _, err := s.Commit(context.Background(), c); !errors.Is(err, ErrInvalidChange) && !errors.Is(err, ErrInvalidName) {
			t.Errorf("%v with actor %q: %v", c.Op, c.Actor, err)
		}
	}
}

// TestUndoNamesActors: an undo's items name the other accounts whose
// changes they take back (in the order they made them), not the owner.
func TestUndoNamesActors(t *testing.T) {
	s, _ := openTestStore(t, Options{})
	seedCollection(t, s, "alice", "book")
	card := func(uid, fn string) []byte {
		return []byte("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:" + uid + "\r\nFN:" + fn + "\r\nEND:VCARD\r\n")
	}
	mustCommit(t, s, Change{Op: OpPut, Principal: "alice", Collection: "book", Name: "a.vcf", Body: card("u1", "a"), Meta: ObjectMeta{UID: "u1"}})
	target := s.Head()
	mustCommit(t, s, Change{Op: OpPut, Principal: "alice", Collection: "book", Name: "a.vcf", Body: card("u1", "b"), Meta: ObjectMeta{UID: "u1"}, Actor: "carol"})
	mustCommit(t, s, Change{Op: OpPut, Principal: "alice", Collection: "book", Name: "a.vcf", Body: card("u1", "c"), Meta: ObjectMeta{UID: "u1"}, Actor: "bob"})
	mustCommit(t, s, Change{Op: OpPut, Principal: "alice", Collection: "book", Name: "a.vcf", Body: card("u1", "d"), Meta: ObjectMeta{UID: "u1"}, Actor: "carol"})
	mustCommit(t, s, Change{Op: OpPut, Principal: "alice", Collection: "book", Name: "own.vcf", Body: card("u2", "e"), Meta: ObjectMeta{UID: "u2"}})
	rep, err := s.Undo(context.Background(), UndoRequest{Principal: "alice", ToSeq: target, DryRun: true})
	if err != nil {
		t.Fatal(err)
	}
	by := map[string]string{}
	for _, it := range rep.Items {
		by[it.Name] = strings.Join(it.By, ",")
	}
	if len(rep.Items) != 2 || by["a.vcf"] != "carol,bob" || by["own.vcf"] != "" {
		t.Errorf("undo items: %+v", rep.Items)
	}
	if out := rep.String(); !strings.Contains(out, "book/a.vcf  (changed by carol, bob)") || strings.Contains(out, "own.vcf  (") {
		t.Errorf("undo listing:\n%s", out)
	}
}
