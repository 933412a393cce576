package storage

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestDedupeByUID is the dedupe table: each case runs against a store that
// holds a.vcf (UID A, body 1) and, for the batch cases, earlier writes of
// the same batch.
func TestDedupeByUID(t *testing.T) {
	dd := func(name, uid string, body []byte, inm bool) Change {
		c := putChange("alice", "contacts", name, uid, body)
		c.DedupeByUID, c.IfNoneMatch = true, inm
		return c
	}
	cases := []struct {
		name         string
		c            Change
		wantErr      error
		wantNoOp     bool
		wantExisting string
		wantCreated  bool
	}{
		{"same body, same uid, another name", dd("b.vcf", "A", vcard("A", 1), true), nil, true, "a.vcf", false},
		{"same body, same uid, same name, If-None-Match", dd("a.vcf", "A", vcard("A", 1), true), nil, true, "", false},
		{"same body, same uid, same name, no If-None-Match", dd("a.vcf", "A", vcard("A", 1), false), nil, true, "", false},
		{"other body, same uid, another name", dd("b.vcf", "A", vcard("A", 2), true), ErrUIDConflict, false, "", false},
		{"other body, same uid, same name", dd("a.vcf", "A", vcard("A", 2), true), ErrPreconditionFailed, false, "", false},
		{"new uid", dd("c.vcf", "C", vcard("C", 1), true), nil, false, "", true},
		{"no uid is never deduplicated", dd("d.vcf", "", vcard("A", 1), true), nil, false, "", true},
		{"without the flag, same body at another name is a uid conflict", func() Change {
			c := dd("b.vcf", "A", vcard("A", 1), true)
			c.DedupeByUID = false
			return c
		}(), ErrUIDConflict, false, "", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := openTestStore(t, Options{})
			seedCollection(t, s, "alice", "contacts")
			mustCommit(t, s, putChange("alice", "contacts", "a.vcf", "A", vcard("A", 1)))
			head := s.Head()
			res, err := s.Commit(context.Background(), tc.c)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if err != nil {
				if s.Head() != head {
					t.Fatal("a refused put wrote a record")
				}
				return
			}
			if res.NoOp != tc.wantNoOp || res.Existing != tc.wantExisting || res.Created != tc.wantCreated {
				t.Fatalf("result %+v, want noop %v existing %q created %v", res, tc.wantNoOp, tc.wantExisting, tc.wantCreated)
			}
			if res.NoOp && (s.Head() != head || res.ETag != ETagOf(vcard("A", 1))) {
				t.Fatalf("a deduplicated put wrote a record or gave etag %s", res.ETag)
			}
		})
	}
}

// TestDedupeWithinBatch: concurrent identical uploads of one UID at
// different names (two devices restoring the same contact) store it once.
func TestDedupeWithinBatch(t *testing.T) {
	s, _ := openTestStore(t, Options{})
	seedCollection(t, s, "alice", "contacts")
	const n = 16
	type out struct {
		res Result
		err error
	}
	results := make(chan out, n)
	for i := 0; i < n; i++ {
		name := string(rune('a'+i)) + ".vcf"
		go func() {
			c := putChange("alice", "contacts", name, "SAME", vcard("SAME", 7))
			c.DedupeByUID, c.IfNoneMatch = true, true
			res, err := s.Commit(context.Background(), c)
			results <- out{res, err}
		}()
	}
	created, deduped := 0, 0
	for i := 0; i < n; i++ {
		o := <-results
		switch {
		case o.err != nil:
			t.Fatalf("upload: %v", o.err)
		case o.res.Created:
			created++
		case o.res.NoOp && o.res.Existing != "":
			deduped++
		}
	}
	if created != 1 || deduped != n-1 {
		t.Fatalf("created %d, deduplicated %d; want 1 and %d", created, deduped, n-1)
	}
	c, _ := s.Collection("alice", "contacts")
	if c.Count != 1 {
		t.Fatalf("collection holds %d objects, want 1", c.Count)
	}
}

// TestPrincipalStatePersists: RECOVERING and the device registry survive a
// reopen and a rebuild of store.db from the journal.
func TestPrincipalStatePersists(t *testing.T) {
	ctx := context.Background()
	s, dir := openTestStore(t, Options{})
	seedCollection(t, s, "alice", "contacts")
	seedCollection(t, s, "bob", "contacts")
	if err := s.SeeDevice(ctx, "alice", "phone"); err != nil {
		t.Fatal(err)
	}
	head := s.Head()
	if err := s.SeeDevice(ctx, "alice", "phone"); err != nil || s.Head() != head {
		t.Fatalf("a second sighting within the hour wrote a record (err %v)", err)
	}
	if err := s.SeeDevice(ctx, "alice", "bad id"); !errors.Is(err, ErrInvalidName) {
		t.Fatalf("malformed device id: %v", err)
	}
	if opened, err := s.OpenRecovery(ctx, "alice", "admin", "abcd"); err != nil || !opened {
		t.Fatalf("open: %v %v", opened, err)
	}
	if opened, err := s.OpenRecovery(ctx, "alice", "again", "ef01"); err != nil || opened {
		t.Fatalf("second open: %v %v", opened, err)
	}
	if _, err := s.OpenRecovery(ctx, "nobody", "x", ""); !errors.Is(err, ErrNotFound) {
		t.Fatalf("open for a missing principal: %v", err)
	}
	checkIntegrity(t, s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	check := func(s *Store) {
		t.Helper()
		st, err := s.PrincipalState("alice")
		if err != nil {
			t.Fatal(err)
		}
		if !st.Recovery.Recovering || st.Recovery.Reason != "admin" || st.Recovery.Since.IsZero() ||
			len(st.Recovery.Pending) != 2 || st.Devices["phone"].LastSeen.IsZero() {
			t.Fatalf("state after reopen: %+v", st)
		}
		if b, _ := s.PrincipalState("bob"); b.Recovery.Recovering {
			t.Fatal("bob is recovering")
		}
	}
	s2, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	check(s2)
	if _, err := s2.Rebuild(ctx); err != nil {
		t.Fatal(err)
	}
	check(s2)
	checkIntegrity(t, s2)
	// The tokens' epochs are foreign to this store, so it waits for an
	// admin's list of the devices known before the loss.
	if closed, _, err := s2.ExpectDevices(ctx, "alice", []string{"phone"}, time.Hour); err != nil || closed {
		t.Fatalf("expect phone: closed %v err %v", closed, err)
	}
	closed, err := s2.ReportRecoveryDone(ctx, "alice", "phone", time.Hour)
	if err != nil || !closed {
		t.Fatalf("the only device reported: closed %v err %v", closed, err)
	}
	st, _ := s2.PrincipalState("alice")
	if st.Recovery.Recovering || len(st.Recovery.Accepted) != 2 || len(st.Recovery.Pending) != 0 {
		t.Fatalf("after close: %+v", st.Recovery)
	}
	checkIntegrity(t, s2)
	s2.Close()
}

// TestEpochHistory: forks are the sequence before the next epoch; a rebuild
// of store.db keeps the epochs.
func TestEpochHistory(t *testing.T) {
	ctx := context.Background()
	s, _ := openTestStore(t, Options{})
	first, err := s.EpochHistory()
	if err != nil || first.Current == "" || len(first.Earlier) != 0 || first.Start != 1 {
		t.Fatalf("new store: %+v %v", first, err)
	}
	seedCollection(t, s, "alice", "contacts")
	fork := s.Head()
	second, err := s.StartEpoch(ctx, "test")
	if err != nil {
		t.Fatal(err)
	}
	mustCommit(t, s, putChange("alice", "contacts", "a.vcf", "A", vcard("A", 1)))
	h, err := s.EpochHistory()
	if err != nil || h.Current != second || h.Start != fork+1 || h.Earlier[first.Current] != fork || len(h.Earlier) != 1 {
		t.Fatalf("after a second epoch: %+v %v; want current %s from %d, %s forked at %d", h, err, second, fork+1, first.Current, fork)
	}
	if _, err := s.Rebuild(ctx); err != nil {
		t.Fatal(err)
	}
	if h2, _ := s.EpochHistory(); h2.Current != h.Current || h2.Earlier[first.Current] != fork {
		t.Fatalf("rebuild changed the epochs: %+v, was %+v", h2, h)
	}
	if id, _, _ := s.Epoch(); id != second {
		t.Fatalf("Epoch() = %s, want %s", id, second)
	}
}
