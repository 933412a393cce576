package storage

import (
	"errors"
	"fmt"
	"math"
	"testing"
)

func TestOverlappingObjects(t *testing.T) {
	s, _ := openTestStore(t, Options{})
	seedCollection(t, s, "alice", "cal")
	etags := map[string]string{}
	put := func(name string, sp *Span) {
		res := mustCommit(t, s, Change{Op: OpPut, Principal: "alice", Collection: "cal", Name: name, Body: []byte("body of " + name), Meta: ObjectMeta{UID: name, Component: "VEVENT", Span: sp}})
		etags[name] = res.ETag
	}
	put("jan", &Span{Start: 100, End: 200})
	put("feb", &Span{Start: 300, End: 400})
	put("forever", &Span{Start: 50, End: math.MaxInt64})
	put("instant", &Span{Start: 250, End: 250})
	put("nospan", nil)
	put("empty", &Span{Start: 500, End: 600})
	mustCommit(t, s, Change{Op: OpDelete, Principal: "alice", Collection: "cal", Name: "empty"})
	cases := []struct {
		start, end int64
		want       string
	}{
		{0, 100, "[forever]"},
		{0, 101, "[forever jan]"},
		{200, 300, "[forever instant]"},
		{199, 301, "[feb forever instant jan]"},
		{450, 700, "[forever]"}, // "empty" is deleted: its span went with it
		{1 << 40, 1<<40 + 1, "[forever]"},
	}
	for _, tc := range cases {
		names, err := s.Overlapping("alice", "cal", tc.start, tc.end)
		if err != nil {
			t.Fatal(err)
		}
		for _, withBodies := range []bool{false, true} {
			got, err := s.OverlappingObjects("alice", "cal", tc.start, tc.end, withBodies)
			if err != nil {
				t.Fatalf("overlapping objects [%d,%d): %v", tc.start, tc.end, err)
			}
			var gotNames []string
			for _, o := range got {
				gotNames = append(gotNames, o.Name)
				if o.ETag != etags[o.Name] || o.Meta.UID != o.Name || o.Meta.Span == nil || o.Seq == 0 {
					t.Errorf("%s: got etag %q uid %q span %v seq %d, want etag %q", o.Name, o.ETag, o.Meta.UID, o.Meta.Span, o.Seq, etags[o.Name])
				}
				switch want := "body of " + o.Name; {
				case withBodies && string(o.Body) != want:
					t.Errorf("%s: body %q, want %q", o.Name, o.Body, want)
				case !withBodies && o.Body != nil:
					t.Errorf("%s: body %q without bodies", o.Name, o.Body)
				}
			}
			if fmt.Sprint(gotNames) != tc.want || fmt.Sprint(names) != tc.want {
				t.Errorf("[%d,%d) bodies %v: got %v (Overlapping %v), want %s", tc.start, tc.end, withBodies, gotNames, names, tc.want)
			}
		}
	}
	// The bodies are copies: writing one changes neither the others nor the store.
	got, _ := s.OverlappingObjects("alice", "cal", 0, math.MaxInt64, true)
	if len(got) != 4 {
		t.Fatalf("all spans: got %d objects, want 4", len(got))
	}
	got[0].Body = append(got[0].Body, "!!"...)
	if string(got[1].Body) != "body of "+got[1].Name {
		t.Errorf("appending to one body changed the next: %q", got[1].Body)
	}
	if o, _ := s.Get("alice", "cal", got[0].Name); string(o.Body) != "body of "+got[0].Name {
		t.Errorf("store body changed: %q", o.Body)
	}

	if _, err := s.OverlappingObjects("alice", "nope", 0, 1, false); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing collection: got %v, want ErrNotFound", err)
	}
	checkIntegrity(t, s) // reads changed nothing
}

func TestGetObjects(t *testing.T) {
	s, _ := openTestStore(t, Options{})
	seedCollection(t, s, "alice", "cal")
	for _, n := range []string{"a", "b", "c"} {
		mustCommit(t, s, Change{Op: OpPut, Principal: "alice", Collection: "cal", Name: n, Body: []byte("body " + n), Meta: ObjectMeta{UID: n, Component: "VEVENT"}})
	}
	got, err := s.GetObjects("alice", "cal", []string{"c", "gone", "a"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Name != "c" || string(got[0].Body) != "body c" || got[1].Name != "a" || string(got[1].Body) != "body a" || got[0].ETag == "" {
		t.Errorf("got %+v, want c and a with their bodies", got)
	}
	if _, err := s.GetObjects("bob", "cal", []string{"a"}); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing principal: got %v, want ErrNotFound", err)
	}
	checkIntegrity(t, s)
}
