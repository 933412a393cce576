package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/pimvault/pimvault/storage"
)

// TestUndoAPITimeRangeAndConfirmation: a to_time the journal cannot hold
// (after 2262 or before 1677 overflowed and deleted the collection, or
// without one every collection) is refused with 400 and changes nothing,
// even applied and confirmed; an undo that removes a collection answers 409
// with the exact counts until "confirm": true; the preview counts the
// objects that go with a collection.
func TestUndoAPITimeRangeAndConfirmation(t *testing.T) {
	e := newTestEnv(t)
	const book = "/dav/addressbooks/alice/contacts/"
	for i := 0; i < 3; i++ {
		if resp, b := e.do(t, "alice", "PUT", book+fmt.Sprintf("c%d.vcf", i), map[string]string{"Content-Type": "text/vcard"}, testCard(fmt.Sprintf("u%d", i), "P")); resp.StatusCode != http.StatusCreated {
			t.Fatalf("put: %d %s", resp.StatusCode, b)
		}
	}
	js := map[string]string{"Content-Type": "application/json"}
	count := func() int {
		n := 0
		e.store.Objects("alice", "contacts", false, func(storage.Object) error { n++; return nil })
		return n
	}
	head := e.store.Head()
	for _, when := range []string{"2300-01-01T00:00:00Z", "2262-04-12T00:00:00Z", "1600-01-01T00:00:00Z", "1677-09-21T00:00:00Z", "1969-12-31T23:59:59Z"} {
		for _, col := range []string{`"collection":"contacts",`, ""} {
			body := fmt.Sprintf(`{%s"to_time":%q,"apply":true,"confirm":true}`, col, when)
			resp, b := e.do(t, "alice", "POST", "/api/undo", js, body)
			if resp.StatusCode != http.StatusBadRequest || !strings.Contains(b, "1970-01-01T00:00:00Z") {
				t.Fatalf("undo %s: %d %s, want 400 naming the accepted range", body, resp.StatusCode, b)
			}
		}
	}
	if e.store.Head() != head || count() != 3 {
		t.Fatalf("refused undos changed data: head %d→%d, %d contacts", head, e.store.Head(), count())
	}

	early := "1971-01-01T00:00:00Z"
	resp, b := e.do(t, "alice", "POST", "/api/undo", js, fmt.Sprintf(`{"collection":"contacts","to_time":%q}`, early))
	var rep storage.UndoReport
	if resp.StatusCode != http.StatusOK || json.Unmarshal([]byte(b), &rep) != nil {
		t.Fatalf("preview: %d %s", resp.StatusCode, b)
	}
	if rep.ObjectsRemoved != 3 || rep.CollectionsRemoved != 1 || !rep.NeedsConfirmation || len(rep.PerCollection) != 1 || rep.PerCollection[0].Removed != 3 {
		t.Fatalf("preview counts: %s", b)
	}
	resp, b = e.do(t, "alice", "POST", "/api/undo", js, fmt.Sprintf(`{"collection":"contacts","to_time":%q,"apply":true}`, early))
	var refused struct {
		Error  string
		Report storage.UndoReport
	}
	if resp.StatusCode != http.StatusConflict || json.Unmarshal([]byte(b), &refused) != nil || refused.Report.ObjectsRemoved != 3 || !strings.Contains(refused.Error, "confirm") {
		t.Fatalf("unconfirmed undo removing a collection: %d %s, want 409 with the counts", resp.StatusCode, b)
	}
	if e.store.Head() != head || count() != 3 {
		t.Fatal("an unconfirmed undo changed data")
	}
	resp, b = e.do(t, "alice", "POST", "/api/undo", js, fmt.Sprintf(`{"collection":"contacts","to_time":%q,"apply":true,"confirm":true}`, early))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("confirmed undo: %d %s", resp.StatusCode, b)
	}
	if _, err := e.store.Collection("alice", "contacts"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("contacts after the confirmed undo: %v", err)
	}
}
