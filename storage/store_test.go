package storage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

func TestPutGetDeleteLifecycle(t *testing.T) {
	s, _ := openTestStore(t, Options{})
	seedCollection(t, s, "alice", "contacts")
	body := vcard("u1", 1)
	res := mustCommit(t, s, putChange("alice", "contacts", "u1.vcf", "u1", body))
	if !res.Created || res.ETag != ETagOf(body) {
		t.Fatalf("put: got %+v, want created with etag %s", res, ETagOf(body))
	}
	o, err := s.Get("alice", "contacts", "u1.vcf")
	if err != nil || !bytes.Equal(o.Body, body) || o.ETag != res.ETag || o.Meta.UID != "u1" {
		t.Fatalf("get: got %+v, %v", o, err)
	}
	again := mustCommit(t, s, putChange("alice", "contacts", "u1.vcf", "u1", body))
	if !again.NoOp || again.Seq != res.Seq {
		t.Fatalf("identical re-put: got %+v, want a no-op at seq %d", again, res.Seq)
	}
	del := mustCommit(t, s, Change{Op: OpDelete, Principal: "alice", Collection: "contacts", Name: "u1.vcf", IfMatch: res.ETag})
	if _, err := s.Get("alice", "contacts", "u1.vcf"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("get after delete: got %v, want ErrNotFound", err)
	}
	ch, last, err := s.Changes("alice", "contacts", res.Seq-1)
	if err != nil || last != del.Seq || len(ch) != 1 || !ch[0].Deleted || ch[0].Name != "u1.vcf" {
		t.Fatalf("changes: got %+v last %d err %v, want one deletion at %d", ch, last, err, del.Seq)
	}
}

func TestPreconditions(t *testing.T) {
	s, _ := openTestStore(t, Options{})
	seedCollection(t, s, "alice", "contacts")
	first := mustCommit(t, s, putChange("alice", "contacts", "a.vcf", "A", vcard("A", 1)))
	headBefore := s.Head()
	cases := []struct {
		name string
		c    Change
		want error
	}{
		{"if-none-match on existing", func() Change {
			c := putChange("alice", "contacts", "a.vcf", "A", vcard("A", 2))
			c.IfNoneMatch = true
			return c
		}(), ErrPreconditionFailed},
		{"if-match wrong etag", func() Change {
			c := putChange("alice", "contacts", "a.vcf", "A", vcard("A", 2))
			c.IfMatch = "nope"
			return c
		}(), ErrPreconditionFailed},
		{"if-match star on missing", func() Change {
			c := putChange("alice", "contacts", "missing.vcf", "M", vcard("M", 2))
			c.IfMatch = "*"
			return c
		}(), ErrPreconditionFailed},
		{"uid conflict", putChange("alice", "contacts", "b.vcf", "A", vcard("A", 3)), ErrUIDConflict},
		{"overwrite with another uid (KeepUID)", func() Change {
			c := putChange("alice", "contacts", "a.vcf", "Z", vcard("Z", 1))
			c.KeepUID = true
			return c
		}(), ErrUIDConflict},
		{"missing collection", putChange("alice", "nope", "b.vcf", "B", vcard("B", 3)), ErrNotFound},
		{"missing principal", putChange("bob", "contacts", "b.vcf", "B", vcard("B", 3)), ErrNotFound},
		{"delete missing", Change{Op: OpDelete, Principal: "alice", Collection: "contacts", Name: "zz.vcf"}, ErrNotFound},
		{"delete wrong etag", Change{Op: OpDelete, Principal: "alice", Collection: "contacts", Name: "a.vcf", IfMatch: "x"}, ErrPreconditionFailed},
		{"collection exists", Change{Op: OpCreateCollection, Principal: "alice", Collection: "contacts"}, ErrExists},
		{"principal exists", Change{Op: OpPutPrincipal, Principal: "alice", IfNoneMatch: true}, ErrExists},
		{"slash in name", putChange("alice", "contacts", "a/b.vcf", "C", vcard("C", 1)), ErrInvalidName},
		{"dotdot name", putChange("alice", "contacts", "..", "C", vcard("C", 1)), ErrInvalidName},
		{"empty name", putChange("alice", "contacts", "", "C", vcard("C", 1)), ErrInvalidName},
		{"control char", putChange("alice", "contacts", "a\x00.vcf", "C", vcard("C", 1)), ErrInvalidName},
		{"long name", putChange("alice", "contacts", string(bytes.Repeat([]byte("x"), 256)), "C", vcard("C", 1)), ErrInvalidName},
		{"bad utf8", putChange("alice", "contacts", "\xff.vcf", "C", vcard("C", 1)), ErrInvalidName},
		{"too large", putChange("alice", "contacts", "big.vcf", "C", make([]byte, DefaultMaxBodySize+1)), ErrTooLarge},
		{"epoch from outside", Change{Op: OpEpoch, Name: "x"}, ErrInvalidChange},
		{"unknown op", Change{Op: 99}, ErrInvalidChange},
		{"move onto itself", Change{Op: OpMove, Principal: "alice", Collection: "contacts", Name: "a.vcf", ToCollection: "contacts", ToName: "a.vcf"}, ErrInvalidChange},
		{"inverted span", Change{Op: OpPut, Principal: "alice", Collection: "contacts", Name: "s.ics", Meta: ObjectMeta{Span: &Span{Start: 10, End: 5}}}, ErrInvalidChange},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.Commit(context.Background(), tc.c)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			if s.Head() != headBefore {
				t.Fatalf("rejected change moved head from %d to %d", headBefore, s.Head())
			}
		})
	}
	o, err := s.Get("alice", "contacts", "a.vcf")
	if err != nil || o.ETag != first.ETag {
		t.Fatalf("a.vcf changed by rejected writes: %+v %v", o, err)
	}
}

// An identical re-put writes nothing, unless the change asks to be recorded
// (Touch): then it is a record like any other, and the collection moves.
func TestIdenticalPutTouch(t *testing.T) {
	s, _ := openTestStore(t, Options{})
	seedCollection(t, s, "alice", "contacts")
	first := mustCommit(t, s, putChange("alice", "contacts", "a.vcf", "A", vcard("A", 1)))
	if res := mustCommit(t, s, putChange("alice", "contacts", "a.vcf", "A", vcard("A", 1))); !res.NoOp || res.Seq != first.Seq || s.Head() != first.Seq {
		t.Fatalf("identical re-put: %+v, head %d", res, s.Head())
	}
	c := putChange("alice", "contacts", "a.vcf", "A", vcard("A", 1))
	c.Touch = true
	res := mustCommit(t, s, c)
	if res.NoOp || res.Seq <= first.Seq || res.ETag != first.ETag || res.Created || s.Head() != res.Seq {
		t.Fatalf("touched re-put: %+v after %+v, head %d", res, first, s.Head())
	}
	col, err := s.Collection("alice", "contacts")
	if err != nil || col.LastSeq != res.Seq || col.Count != 1 {
		t.Fatalf("collection after a touched re-put: %+v %v, want seq %d", col, err, res.Seq)
	}
}

func TestConcurrentIfNoneMatchOnlyOneWins(t *testing.T) {
	s, _ := openTestStore(t, Options{})
	seedCollection(t, s, "alice", "contacts")
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins, fails := 0, 0
	for i := 0; i < 32; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			c := putChange("alice", "contacts", "same.vcf", "S", vcard("S", i))
			c.IfNoneMatch = true
			_, err := s.Commit(context.Background(), c)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				wins++
			case errors.Is(err, ErrPreconditionFailed):
				fails++
			default:
				t.Errorf("unexpected error: %v", err)
			}
		}(i)
	}
	wg.Wait()
	if wins != 1 || fails != 31 {
		t.Fatalf("got %d wins and %d precondition failures, want 1 and 31", wins, fails)
	}
}

func TestMoveIsOneRecord(t *testing.T) {
	s, _ := openTestStore(t, Options{})
	seedCollection(t, s, "alice", "a")
	seedCollection(t, s, "alice", "b")
	put := mustCommit(t, s, putChange("alice", "a", "x.vcf", "X", vcard("X", 1)))
	mv := mustCommit(t, s, Change{Op: OpMove, Principal: "alice", Collection: "a", Name: "x.vcf", ToCollection: "b", ToName: "y.vcf"})
	if mv.Seq != put.Seq+1 || mv.ETag != put.ETag {
		t.Fatalf("move: got %+v, want seq %d etag %s", mv, put.Seq+1, put.ETag)
	}
	if _, err := s.Get("alice", "a", "x.vcf"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("source after move: %v", err)
	}
	o, err := s.Get("alice", "b", "y.vcf")
	if err != nil || o.Meta.UID != "X" || !bytes.Equal(o.Body, vcard("X", 1)) {
		t.Fatalf("destination after move: %+v %v", o, err)
	}
	// The UID is now held in b, so a new X in a is allowed, a second in b is not.
	mustCommit(t, s, putChange("alice", "a", "x2.vcf", "X", vcard("X", 2)))
	if _, err := s.Commit(context.Background(), putChange("alice", "b", "z.vcf", "X", vcard("X", 3))); !errors.Is(err, ErrUIDConflict) {
		t.Fatalf("uid in destination: got %v, want ErrUIDConflict", err)
	}
	if _, err := s.Commit(context.Background(), Change{Op: OpMove, Principal: "alice", Collection: "a", Name: "x2.vcf", ToCollection: "b", ToName: "y.vcf"}); !errors.Is(err, ErrPreconditionFailed) {
		t.Fatalf("move onto existing without overwrite: got %v", err)
	}
}

func TestCollectionsPropsAndTombstones(t *testing.T) {
	s, _ := openTestStore(t, Options{})
	seedCollection(t, s, "alice", "contacts")
	mustCommit(t, s, Change{Op: OpSetProps, Principal: "alice", Collection: "contacts",
		Props: map[string][]byte{"{DAV:}displayname": []byte("Friends"), "{x}dead": []byte("<x:dead xmlns:x=\"x\">1</x:dead>")}})
	mustCommit(t, s, Change{Op: OpSetProps, Principal: "alice", Collection: "contacts", Remove: []string{"{x}dead"}})
	c, err := s.Collection("alice", "contacts")
	if err != nil || string(c.Props["{DAV:}displayname"]) != "Friends" || c.Props["{x}dead"] != nil {
		t.Fatalf("props: %+v %v", c.Props, err)
	}
	mustCommit(t, s, putChange("alice", "contacts", "a.vcf", "A", vcard("A", 1)))
	mustCommit(t, s, Change{Op: OpDeleteCollection, Principal: "alice", Collection: "contacts"})
	if _, err := s.Collection("alice", "contacts"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("deleted collection: %v", err)
	}
	re := mustCommit(t, s, Change{Op: OpCreateCollection, Principal: "alice", Collection: "contacts", Kind: "addressbook"})
	if _, _, err := s.Changes("alice", "contacts", re.Seq-1); !errors.Is(err, ErrHistoryGone) {
		t.Fatalf("token from the earlier collection: got %v, want ErrHistoryGone", err)
	}
	cols, err := s.Collections("alice")
	if err != nil || len(cols) != 1 || cols[0].Count != 0 {
		t.Fatalf("collections: %+v %v", cols, err)
	}
}

func TestChangesSinceIsPerNameAndOrdered(t *testing.T) {
	s, _ := openTestStore(t, Options{})
	seedCollection(t, s, "alice", "contacts")
	base := s.Head()
	for i := 0; i < 5; i++ {
		mustCommit(t, s, putChange("alice", "contacts", fmt.Sprintf("%d.vcf", i), fmt.Sprint(i), vcard(fmt.Sprint(i), i)))
	}
	mid := s.Head()
	mustCommit(t, s, putChange("alice", "contacts", "1.vcf", "1", vcard("1", 100)))
	mustCommit(t, s, Change{Op: OpDelete, Principal: "alice", Collection: "contacts", Name: "3.vcf"})
	all, _, _ := s.Changes("alice", "contacts", base)
	if len(all) != 5 {
		t.Fatalf("changes since base: got %d entries %+v, want 5 (one per name)", len(all), all)
	}
	recent, last, _ := s.Changes("alice", "contacts", mid)
	if len(recent) != 2 || recent[0].Name != "1.vcf" || recent[1].Name != "3.vcf" || !recent[1].Deleted || last != s.Head() {
		t.Fatalf("changes since mid: got %+v last %d", recent, last)
	}
	none, _, _ := s.Changes("alice", "contacts", s.Head())
	if len(none) != 0 {
		t.Fatalf("changes since head: got %+v, want none", none)
	}
}

func TestOverlapping(t *testing.T) {
	s, _ := openTestStore(t, Options{})
	seedCollection(t, s, "alice", "cal")
	put := func(name string, sp *Span) {
		mustCommit(t, s, Change{Op: OpPut, Principal: "alice", Collection: "cal", Name: name, Body: []byte(name), Meta: ObjectMeta{UID: name, Component: "VEVENT", Span: sp}})
	}
	put("jan", &Span{Start: 100, End: 200})
	put("feb", &Span{Start: 300, End: 400})
	put("forever", &Span{Start: 50, End: math.MaxInt64})
	put("instant", &Span{Start: 250, End: 250})
	put("nospan", nil)
	cases := []struct {
		start, end int64
		want       string
	}{
		{0, 100, "[forever]"},
		{0, 101, "[forever jan]"},
		{200, 300, "[forever instant]"},
		{199, 301, "[feb forever instant jan]"},
		{1 << 40, 1<<40 + 1, "[forever]"},
	}
	for _, tc := range cases {
		got, err := s.Overlapping("alice", "cal", tc.start, tc.end)
		if err != nil || fmt.Sprint(got) != tc.want {
			t.Errorf("overlapping [%d,%d): got %v %v, want %s", tc.start, tc.end, got, err, tc.want)
		}
	}
}

func TestReopenReplaysAndKeepsState(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{SegmentSize: 4096})
	if err != nil {
		t.Fatal(err)
	}
	seedCollection(t, s, "alice", "contacts")
	for i := 0; i < 200; i++ {
		mustCommit(t, s, putChange("alice", "contacts", fmt.Sprintf("%d.vcf", i), fmt.Sprint(i), vcard(fmt.Sprint(i), i)))
	}
	h1, seq1, _ := s.StateHash()
	epoch1, _, _ := s.Epoch()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2, err := Open(dir, Options{SegmentSize: 4096})
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer s2.Close()
	h2, seq2, _ := s2.StateHash()
	epoch2, _, _ := s2.Epoch()
	if h1 != h2 || seq1 != seq2 || epoch1 != epoch2 {
		t.Fatalf("after reopen: hash %s seq %d epoch %s, want %s %d %s", h2, seq2, epoch2, h1, seq1, epoch1)
	}
	segs, _ := listSegments(dir + "/journal")
	if len(segs) < 10 {
		t.Fatalf("want many sealed segments with a 4 KiB segment size, got %d", len(segs))
	}
	checkIntegrity(t, s2)
}

func TestSecondOpenIsLocked(t *testing.T) {
	s, dir := openTestStore(t, Options{})
	_ = s
	_, err := Open(dir, Options{})
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("second open: got %v, want ErrLocked", err)
	}
}

// TestProjectionRebuiltAfterSystemCrash: a DIRTY marker from an earlier boot
// of a store that does not fsync store.db means store.db may be torn, so it
// is moved to quarantine/ and rebuilt from the journal; one from this boot
// (a process crash) only replays the tail.
func TestProjectionRebuiltAfterSystemCrash(t *testing.T) {
	for _, tc := range []struct {
		name, marker string
		rebuilt      bool
	}{
		{"earlier boot, nosync", "00000000-dead-beef-0000-000000000000 nosync\n", true},
		{"garbled marker", "???\n", true},
		{"earlier boot, sync", "00000000-dead-beef-0000-000000000000 sync\n", false},
		{"this boot", bootID() + " nosync\n", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			s, err := Open(dir, Options{})
			if err != nil {
				t.Fatal(err)
			}
			seedCollection(t, s, "alice", "contacts")
			for i := 0; i < 20; i++ {
				mustCommit(t, s, putChange("alice", "contacts", fmt.Sprintf("%d.vcf", i), fmt.Sprint(i), vcard(fmt.Sprint(i), i)))
			}
			want, _, _ := s.StateHash()
			s.Close()
			if err := os.WriteFile(filepath.Join(dir, dirtyFile), []byte(tc.marker), 0o600); err != nil {
				t.Fatal(err)
			}
			s, err = Open(dir, Options{})
			if err != nil {
				t.Fatalf("reopen: %v", err)
			}
			defer s.Close()
			got, _, _ := s.StateHash()
			if got != want {
				t.Fatalf("state hash after reopen: got %s, want %s", got, want)
			}
			q, _ := os.ReadDir(filepath.Join(dir, quarantineDir))
			if (len(q) == 1) != tc.rebuilt {
				t.Fatalf("quarantined files: %d, want rebuilt=%v", len(q), tc.rebuilt)
			}
			checkIntegrity(t, s)
		})
	}
}

// TestEmptyStoreDBIsRebuilt: a store.db that bbolt created but that was never
// initialised (a crash right after its creation) is filled from the journal.
func TestEmptyStoreDBIsRebuilt(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	seedCollection(t, s, "alice", "contacts")
	mustCommit(t, s, putChange("alice", "contacts", "a.vcf", "a", vcard("a", 1)))
	want, _, _ := s.StateHash()
	s.Close()
	if err := os.Truncate(filepath.Join(dir, dbFile), 0); err != nil {
		t.Fatal(err)
	}
	s, err = Open(dir, Options{})
	if err != nil {
		t.Fatalf("reopen with an empty store.db: %v", err)
	}
	defer s.Close()
	if got, _, _ := s.StateHash(); got != want {
		t.Fatalf("state hash: got %s, want %s", got, want)
	}
	checkIntegrity(t, s)
}
