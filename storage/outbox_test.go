package storage

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

func outboxEntry(id string) OutboxEntry {
	return OutboxEntry{ID: id, Created: time.Now().UTC(), Envelope: "a@example.com", To: "x@elsewhere.example",
		Recipient: "mailto:x@elsewhere.example", Method: "REQUEST", MessageID: "<" + id + "@example.com>",
		Message: []byte("Subject: hi\r\n\r\nbody\r\n"), Collection: "cal", Object: "e.ics", UID: "u1"}
}

// A put that queues a message holds it in the same record: after a
// reopen and after a rebuild from the journal alone, the entry is there;
// a put that records the outcome takes it out in its own record.
func TestOutboxWrittenWithTheChange(t *testing.T) {
	s, dir := openTestStore(t, Options{})
	ctx := context.Background()
	seedCollection(t, s, "alice", "cal")
	res := mustCommit(t, s, Change{Op: OpPut, Principal: "alice", Collection: "cal", Name: "e.ics", Body: []byte("v1"),
		Outbox: []OutboxEntry{outboxEntry("m1"), outboxEntry("m2")}})
	q, err := s.Outbox("alice")
	if err != nil || len(q) != 2 || q[0].Principal != "alice" || string(q[1].Message) != "Subject: hi\r\n\r\nbody\r\n" {
		t.Fatalf("outbox after put = %+v, %v", q, err)
	}
	if props, err := s.ObjectProps("alice", "cal", "e.ics"); err != nil || len(props) != 0 {
		t.Fatalf("the queued message leaked into the object's properties: %v %v", props, err)
	}
	hist, err := s.History("alice", "cal", 100)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, h := range hist {
		found = found || h.Seq == res.Seq
	}
	if !found {
		t.Fatalf("the put with its queued messages is not one record in the history: %+v", hist)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s2, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if _, err := s2.Rebuild(ctx); err != nil {
		t.Fatal(err)
	}
	if n, err := s2.OutboxLen("alice"); err != nil || n != 2 {
		t.Fatalf("after rebuild from the journal: %d entries, %v", n, err)
	}
	// Outcome recorded with a put of the organizer's copy, retry with a state record.
	mustCommit(t, s2, Change{Op: OpPut, Principal: "alice", Collection: "cal", Name: "e.ics", Body: []byte("v2"), OutboxDone: []string{"m1"}})
	e := outboxEntry("m2")
	e.Attempts, e.LastError = 1, "connection refused"
	if err := s2.UpdateOutbox(ctx, "alice", []OutboxEntry{e}, nil); err != nil {
		t.Fatal(err)
	}
	q, err = s2.Outbox("")
	if err != nil || len(q) != 1 || q[0].ID != "m2" || q[0].Attempts != 1 || q[0].LastError != "connection refused" {
		t.Fatalf("outbox after done and retry = %+v, %v", q, err)
	}
	// An update of an entry already taken out does not bring it back.
	if err := s2.UpdateOutbox(ctx, "alice", []OutboxEntry{outboxEntry("m1")}, []string{"m2"}); err != nil {
		t.Fatal(err)
	}
	if n, _ := s2.OutboxLen("alice"); n != 0 {
		t.Fatalf("outbox holds %d entries, want 0", n)
	}
	checkIntegrity(t, s2)
}

// One account cannot queue without limit: the change that would pass
// MaxOutbox is refused as a whole and changes nothing.
func TestOutboxBounded(t *testing.T) {
	s, _ := openTestStore(t, Options{})
	seedCollection(t, s, "alice", "cal")
	n := 0
	for i := 0; n < MaxOutbox; i++ {
		var es []OutboxEntry
		for j := 0; j < 100 && n < MaxOutbox; j++ {
			es = append(es, outboxEntry(fmt.Sprintf("m%d", n)))
			n++
		}
		mustCommit(t, s, Change{Op: OpPut, Principal: "alice", Collection: "cal", Name: fmt.Sprintf("e%d.ics", i), Body: []byte("x"), Outbox: es})
	}
	_, err := s.Commit(context.Background(), Change{Op: OpPut, Principal: "alice", Collection: "cal", Name: "over.ics", Body: []byte("x"),
		Outbox: []OutboxEntry{outboxEntry("over")}})
	if !errors.Is(err, ErrOutboxFull) {
		t.Fatalf("queueing message %d: %v, want ErrOutboxFull", MaxOutbox+1, err)
	}
	if _, err := s.Get("alice", "cal", "over.ics"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("the refused put was stored: %v", err)
	}
	_, err = s.Commit(context.Background(), Change{Op: OpSetProps, Principal: "alice", Collection: "cal", Outbox: []OutboxEntry{outboxEntry("x")}})
	if !errors.Is(err, ErrInvalidChange) {
		t.Fatalf("outbox on set-props: %v, want ErrInvalidChange", err)
	}
}

// An entry of a newer format is refused with a message, not skipped.
func TestOutboxNewerEntryRefused(t *testing.T) {
	s, _ := openTestStore(t, Options{})
	seedCollection(t, s, "alice", "cal")
	mustCommit(t, s, Change{Op: OpPut, Principal: "alice", Collection: "cal", Name: "e.ics", Body: []byte("x"), Outbox: []OutboxEntry{outboxEntry("m1")}})
	// What a newer pimvault would have written into the same key.
	var orig []byte
	err := s.db.Update(func(tx *bolt.Tx) error {
		orig = append([]byte(nil), stateBucket(tx, "alice").Get([]byte(OutboxKey+"m1"))...)
		return stateBucket(tx, "alice").Put([]byte(OutboxKey+"m1"), []byte("\x02{}"))
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Outbox("")
	var ne *NewerError
	if !errors.As(err, &ne) || !errors.Is(err, ErrNewer) {
		t.Fatalf("listing a newer entry: %v, want a *NewerError", err)
	}
	_, err = s.Commit(context.Background(), Change{Op: OpPut, Principal: "alice", Collection: "cal", Name: "f.ics", Body: []byte("x"), Outbox: []OutboxEntry{outboxEntry("m2")}})
	if !errors.As(err, &ne) {
		t.Fatalf("queueing next to a newer entry: %v, want a *NewerError", err)
	}
	// Put back what the journal says, so the end-of-test verify holds.
	if err := s.db.Update(func(tx *bolt.Tx) error { return stateBucket(tx, "alice").Put([]byte(OutboxKey+"m1"), orig) }); err != nil {
		t.Fatal(err)
	}
}
