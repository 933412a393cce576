package storage

import (
	"context"
	"errors"
	"slices"
	"testing"
)

// TestConds: conditions on other resources hold or the change is refused
// with a *ConditionError and nothing is written.
func TestConds(t *testing.T) {
	s, _ := openTestStore(t, Options{})
	seedCollection(t, s, "alice", "files:")
	mustCommit(t, s, Change{Op: OpCreateCollection, Principal: "alice", Collection: "files:a", Kind: "files"})
	mustCommit(t, s, Change{Op: OpCreateCollection, Principal: "alice", Collection: "files:a%2Fb", Kind: "files"})
	mustCommit(t, s, Change{Op: OpPut, Principal: "alice", Collection: "files:", Name: "f", Body: []byte("x")})
	tests := []struct {
		name  string
		conds []Cond
		ok    bool
	}{
		{"parent exists", []Cond{{Collection: "files:a", Exists: true}}, true},
		{"parent missing", []Cond{{Collection: "files:nope", Exists: true}}, false},
		{"collection must not exist", []Cond{{Collection: "files:a"}}, false},
		{"object exists", []Cond{{Collection: "files:", Name: "f", Exists: true}}, true},
		{"object must not exist", []Cond{{Collection: "files:", Name: "f"}}, false},
		{"object in a missing collection", []Cond{{Collection: "files:zz", Name: "f"}}, true},
		{"no sub-collections, has one", []Cond{{Collection: "files:a%2F", Prefix: true}}, false},
		{"no sub-collections, has none", []Cond{{Collection: "files:a%2Fb%2F", Prefix: true}}, true},
		{"second condition fails", []Cond{{Collection: "files:a", Exists: true}, {Collection: "files:a"}}, false},
	}
	for _, tc := range tests {
		head := s.Head()
		_, err := s.Commit(context.Background(), Change{Op: OpPut, Principal: "alice", Collection: "files:", Name: "g", Body: []byte(tc.name), Require: tc.conds})
		var ce *ConditionError
		switch {
		case tc.ok && err != nil:
			t.Errorf("%s: %v, want accepted", tc.name, err)
		case !tc.ok && (!errors.As(err, &ce) || !errors.Is(err, ErrConflict)):
			t.Errorf("%s: %v, want a *ConditionError", tc.name, err)
		case !tc.ok && s.Head() != head:
			t.Errorf("%s: refused change moved the head %d→%d", tc.name, head, s.Head())
		}
	}
	for _, bad := range []Cond{{Collection: "", Prefix: true}, {Collection: "x", Prefix: true, Exists: true}, {Collection: "a/b"}, {Collection: "a", Name: ".."}} {
		_, err := s.Commit(context.Background(), Change{Op: OpPut, Principal: "alice", Collection: "files:", Name: "g", Body: []byte("x"), Require: []Cond{bad}})
		if !errors.Is(err, ErrInvalidChange) && !errors.Is(err, ErrInvalidName) {
			t.Errorf("condition %+v: %v, want ErrInvalidChange or ErrInvalidName", bad, err)
		}
	}
}

// TestDeleteSubtree: a delete-collection with a subtree prefix tombstones
// the collection and every collection under the prefix in one record, and
// nothing else.
func TestDeleteSubtree(t *testing.T) {
	s, _ := openTestStore(t, Options{})
	seedCollection(t, s, "alice", "files:")
	for _, c := range []string{"files:a", "files:a%2Fb", "files:a%2Fb%2Fc", "files:ab"} {
		mustCommit(t, s, Change{Op: OpCreateCollection, Principal: "alice", Collection: c, Kind: "files"})
	}
	mustCommit(t, s, Change{Op: OpPut, Principal: "alice", Collection: "files:a%2Fb%2Fc", Name: "f", Body: []byte("x")})
	head := s.Head()
	res := mustCommit(t, s, Change{Op: OpDeleteCollection, Principal: "alice", Collection: "files:a", Name: "files:a%2F"})
	if res.Seq != head+1 {
		t.Fatalf("subtree delete wrote up to %d, want one record (%d)", res.Seq, head+1)
	}
	cols, err := s.Collections("alice")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range cols {
		names = append(names, c.Name)
	}
	if want := []string{"files:", "files:ab"}; !slices.Equal(names, want) {
		t.Fatalf("collections after subtree delete %v, want %v", names, want)
	}
	for _, bad := range []string{"files:b%2F", "files:a", "x"} {
		_, err := s.Commit(context.Background(), Change{Op: OpDeleteCollection, Principal: "alice", Collection: "files:ab", Name: bad})
		if !errors.Is(err, ErrInvalidChange) {
			t.Errorf("subtree prefix %q for files:ab: %v, want ErrInvalidChange", bad, err)
		}
	}
}
