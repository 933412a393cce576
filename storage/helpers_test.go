package storage

import (
	"context"
	"errors"
	"fmt"
	"testing"
)

// openTestStore opens a store in a fresh directory. When the test ends the
// store is verified (hash chain intact, store.db equals a replay) and closed.
func openTestStore(t testing.TB, opts Options) (*Store, string) {
	t.Helper()
	dir := t.TempDir()
	s, err := Open(dir, opts)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() {
		if s.db != nil {
			checkIntegrity(t, s)
		}
		s.Close()
	})
	return s, dir
}

// checkIntegrity fails the test unless the store verifies.
func checkIntegrity(t testing.TB, s *Store) {
	t.Helper()
	rep, err := s.Verify(context.Background())
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	if !rep.OK() {
		t.Fatalf("verify: store does not verify:\n%s", rep)
	}
}

// mustCommit commits c and fails the test on error.
func mustCommit(t testing.TB, s *Store, c Change) Result {
	t.Helper()
	res, err := s.Commit(context.Background(), c)
	if err != nil {
		t.Fatalf("commit %v %s/%s/%s: %v", c.Op, c.Principal, c.Collection, c.Name, err)
	}
	return res
}

// seedCollection creates principal p and collection c.
func seedCollection(t testing.TB, s *Store, p, c string) {
	t.Helper()
	if _, err := s.Commit(context.Background(), Change{Op: OpPutPrincipal, Principal: p, Body: []byte(`{"name":"` + p + `"}`)}); err != nil {
		t.Fatalf("put principal: %v", err)
	}
	if _, err := s.Commit(context.Background(), Change{Op: OpCreateCollection, Principal: p, Collection: c, Kind: "addressbook"}); err != nil && !errors.Is(err, ErrExists) {
		t.Fatalf("create collection: %v", err)
	}
}

func vcard(uid string, n int) []byte {
	return []byte(fmt.Sprintf("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:%s\r\nFN:Person %d\r\nEND:VCARD\r\n", uid, n))
}

func putChange(p, c, name, uid string, body []byte) Change {
	return Change{Op: OpPut, Principal: p, Collection: c, Name: name, Body: body, Meta: ObjectMeta{UID: uid, Component: "VCARD"}}
}
