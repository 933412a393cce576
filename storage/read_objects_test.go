package storage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// Objects reads in batches and calls fn outside any read transaction: a
// callback that writes, each write growing store.db so that bbolt must remap
// it, finishes (inside one transaction it would wait for itself forever),
// and every name that existed at the start is listed exactly once, in order.
func TestObjectsCallbackMayWrite(t *testing.T) {
	s, _ := openTestStore(t, Options{})
	seedCollection(t, s, "alice", "book")
	const n = objectsBatch*2 + 7
	card := func(i int) []byte {
		return []byte(fmt.Sprintf("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:u%d\r\nFN:x\r\nNOTE:%s\r\nEND:VCARD\r\n", i, strings.Repeat("n", 2000)))
	}
	for i := 0; i < n; i++ {
		mustCommit(t, s, Change{Op: OpPut, Principal: "alice", Collection: "book", Name: fmt.Sprintf("c%05d.vcf", i), Body: card(i), Meta: ObjectMeta{UID: fmt.Sprintf("u%d", i)}})
	}
	done := make(chan error, 1)
	var names []string
	go func() {
		big := bytes.Repeat([]byte("x"), 64<<10)
		done <- s.Objects("alice", "book", true, func(o Object) error {
			if !bytes.Contains(o.Body, []byte("UID:")) {
				return fmt.Errorf("%s: body %q", o.Name, o.Body)
			}
			names = append(names, o.Name)
			if len(names)%50 == 1 {
				// A write from inside the listing, in another collection, large
				// enough that store.db keeps growing.
				_, err := s.Commit(context.Background(), Change{Op: OpPut, Principal: "alice", Collection: "book",
					Name: fmt.Sprintf("z%05d.vcf", len(names)), Body: append(card(100000+len(names)), big...),
					Meta: ObjectMeta{UID: fmt.Sprintf("z%d", len(names))}})
				return err
			}
			return nil
		})
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("Objects with a writing callback did not finish in 60 s (a read transaction held across the callback?)")
	}
	var want []string
	for i := 0; i < n; i++ {
		want = append(want, fmt.Sprintf("c%05d.vcf", i))
	}
	got := names[:min(len(names), n)]
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("listing: %d names, first %d differ from the %d stored before it began", len(names), n, n)
	}
	for i := n; i < len(names); i++ {
		if !strings.HasPrefix(names[i], "z") || (i > n && names[i] <= names[i-1]) {
			t.Fatalf("after the c names: %q at %d (written during the listing: each at most once, in order)", names[i], i)
		}
	}
}

// A collection removed between two batches ends the listing with
// ErrNotFound, not with a partial listing presented as whole.
func TestObjectsCollectionRemovedMidway(t *testing.T) {
	s, _ := openTestStore(t, Options{})
	seedCollection(t, s, "alice", "book")
	for i := 0; i < objectsBatch+1; i++ {
		mustCommit(t, s, Change{Op: OpPut, Principal: "alice", Collection: "book", Name: fmt.Sprintf("c%05d.vcf", i),
			Body: []byte(fmt.Sprintf("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:u%d\r\nFN:x\r\nEND:VCARD\r\n", i)), Meta: ObjectMeta{UID: fmt.Sprintf("u%d", i)}})
	}
	seen := 0
	err := s.Objects("alice", "book", false, func(o Object) error {
		seen++
		if seen == 1 {
			_, err := s.Commit(context.Background(), Change{Op: OpDeleteCollection, Principal: "alice", Collection: "book"})
			return err
		}
		return nil
	})
	if seen != objectsBatch || !errors.Is(err, ErrNotFound) {
		t.Fatalf("saw %d objects, err %v; want the first batch (%d) and ErrNotFound", seen, err, objectsBatch)
	}
}
