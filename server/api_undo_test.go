package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-webdav"
	"github.com/emersion/go-webdav/carddav"

	"github.com/pimvault/pimvault/storage"
)

// TestUndoOverHTTPReachesSecondDevice: a client
// deletes 500 contacts and edits 50; undo to before (preview, then apply,
// over /api/) brings back exactly those and the edits' old versions, and a
// second device (the go-webdav CardDAV client) receives them through
// ordinary sync-collection with its token still valid.
func TestUndoOverHTTPReachesSecondDevice(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	const book = "/dav/addressbooks/alice/contacts/"
	vcf := map[string]string{"Content-Type": "text/vcard"}
	original := map[string]string{}
	for i := 0; i < 600; i++ {
		name := fmt.Sprintf("c%03d.vcf", i)
		body := testCard(fmt.Sprintf("uid-%03d", i), fmt.Sprintf("Person %d", i))
		if resp, b := e.do(t, "alice", "PUT", book+name, vcf, body); resp.StatusCode != http.StatusCreated {
			t.Fatalf("put %s: %d %s", name, resp.StatusCode, b)
		}
		original[name] = body
	}
	// Device B syncs everything.
	cc, err := carddav.NewClient(webdav.HTTPClientWithBasicAuth(http.DefaultClient, "alice", testPassword), e.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	first, err := cc.SyncCollection(ctx, book, &carddav.SyncQuery{DataRequest: carddav.AddressDataRequest{AllProp: true}})
	if err != nil || len(first.Updated) != 600 {
		t.Fatalf("device B first sync: %v, %d items", err, len(first.Updated))
	}
	time.Sleep(2 * time.Millisecond)
	before := time.Now().UTC()
	time.Sleep(2 * time.Millisecond)
	// Device A deletes 500 and edits 50.
	for i := 0; i < 500; i++ {
		if resp, b := e.do(t, "alice", "DELETE", book+fmt.Sprintf("c%03d.vcf", i), nil, ""); resp.StatusCode != http.StatusNoContent {
			t.Fatalf("delete %d: %d %s", i, resp.StatusCode, b)
		}
	}
	for i := 500; i < 550; i++ {
		name := fmt.Sprintf("c%03d.vcf", i)
		if resp, b := e.do(t, "alice", "PUT", book+name, vcf, testCard(fmt.Sprintf("uid-%03d", i), "Edited")); resp.StatusCode != http.StatusNoContent && resp.StatusCode != http.StatusCreated {
			t.Fatalf("edit %s: %d %s", name, resp.StatusCode, b)
		}
	}
	// Device B follows the damage: 500 deletions and 50 changes.
	mid, err := cc.SyncCollection(ctx, book, &carddav.SyncQuery{DataRequest: carddav.AddressDataRequest{AllProp: true}, SyncToken: first.SyncToken})
	if err != nil || len(mid.Deleted) != 500 || len(mid.Updated) != 50 {
		t.Fatalf("device B sync after the damage: %v, %d deleted, %d updated", err, len(mid.Deleted), len(mid.Updated))
	}

	undo := func(apply bool) storage.UndoReport {
		t.Helper()
		body := fmt.Sprintf(`{"collection":"contacts","to_time":%q,"apply":%v}`, before.Format(time.RFC3339Nano), apply)
		resp, b := e.do(t, "alice", "POST", "/api/undo", map[string]string{"Content-Type": "application/json"}, body)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("undo apply=%v: %d %s", apply, resp.StatusCode, b)
		}
		var rep storage.UndoReport
		if err := json.Unmarshal([]byte(b), &rep); err != nil {
			t.Fatal(err)
		}
		return rep
	}
	headBefore := e.store.Head()
	preview := undo(false)
	if preview.ReAdded != 500 || preview.ChangedBack != 50 || preview.Removed != 0 || !preview.DryRun || e.store.Head() != headBefore {
		t.Fatalf("preview: re-added %d changed back %d removed %d (dry %v), head moved %d→%d", preview.ReAdded, preview.ChangedBack, preview.Removed, preview.DryRun, headBefore, e.store.Head())
	}
	rep := undo(true)
	if rep.ReAdded != 500 || rep.ChangedBack != 50 || rep.Removed != 0 || rep.Failed != 0 {
		t.Fatalf("undo: %+v", rep)
	}
	// The server holds exactly the original 600, byte for byte.
	got := map[string]string{}
	e.store.Objects("alice", "contacts", true, func(o storage.Object) error { got[o.Name] = string(o.Body); return nil })
	if len(got) != 600 {
		t.Fatalf("after undo: %d objects, want 600", len(got))
	}
	for name, body := range original {
		if got[name] != body {
			t.Fatalf("%s after undo:\n%q\nwant\n%q", name, got[name], body)
		}
	}
	// Device B's token from before the undo is still valid and brings the 550 back.
	after, err := cc.SyncCollection(ctx, book, &carddav.SyncQuery{DataRequest: carddav.AddressDataRequest{AllProp: true}, SyncToken: mid.SyncToken})
	if err != nil {
		t.Fatalf("device B sync after undo (token must stay valid): %v", err)
	}
	if len(after.Updated) != 550 || len(after.Deleted) != 0 {
		t.Fatalf("device B after undo: %d updated, %d deleted; want 550 and 0", len(after.Updated), len(after.Deleted))
	}
	var names []string
	for _, o := range after.Updated {
		names = append(names, o.Path[strings.LastIndex(o.Path, "/")+1:])
	}
	sort.Strings(names)
	for i, n := range names {
		if want := fmt.Sprintf("c%03d.vcf", i); n != want {
			t.Fatalf("device B received %s at %d, want %s", n, i, want)
		}
		resp, body := e.do(t, "alice", "GET", book+n, nil, "")
		if resp.StatusCode != http.StatusOK || body != original[n] {
			t.Fatalf("GET %s: %d %q", n, resp.StatusCode, body)
		}
	}
	// History lists the undo's changes, newest first.
	resp, b := e.do(t, "alice", "GET", "/api/history?collection=contacts&limit=3", nil, "")
	var hist struct{ Entries []storage.HistoryEntry }
	if resp.StatusCode != http.StatusOK || json.Unmarshal([]byte(b), &hist) != nil || len(hist.Entries) != 3 || hist.Entries[0].Op != "put" {
		t.Fatalf("history: %d %s", resp.StatusCode, b)
	}
}

func TestUndoAPIOwnDataOnlyAndBadInput(t *testing.T) {
	e := newTestEnv(t)
	const book = "/dav/addressbooks/bob/contacts/"
	if resp, _ := e.do(t, "bob", "PUT", book+"b.vcf", map[string]string{"Content-Type": "text/vcard"}, testCard("b", "Bob")); resp.StatusCode != http.StatusCreated {
		t.Fatal(resp.StatusCode)
	}
	json := map[string]string{"Content-Type": "application/json"}
	cases := []struct {
		name, user, method, path, body string
		status                         int
	}{
		{"no auth", "", "POST", "/api/undo", `{"to_seq":1}`, http.StatusUnauthorized},
		{"no target", "alice", "POST", "/api/undo", `{}`, http.StatusBadRequest},
		{"bad time", "alice", "POST", "/api/undo", `{"to_time":"yesterday"}`, http.StatusBadRequest},
		{"unknown field", "alice", "POST", "/api/undo", `{"to_seq":1,"user":"bob"}`, http.StatusBadRequest},
		{"bad collection", "alice", "POST", "/api/undo", `{"to_seq":1,"collection":"../bob"}`, http.StatusBadRequest},
		{"future seq", "alice", "POST", "/api/undo", `{"to_seq":99999999}`, http.StatusBadRequest},
		{"bad limit", "alice", "GET", "/api/history?limit=-1", "", http.StatusBadRequest},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if resp, b := e.do(t, tc.user, tc.method, tc.path, json, tc.body); resp.StatusCode != tc.status {
				t.Fatalf("got %d %s, want %d", resp.StatusCode, b, tc.status)
			}
		})
	}
	// Alice's history never shows Bob's changes.
	_, b := e.do(t, "alice", "GET", "/api/history", nil, "")
	if strings.Contains(b, "b.vcf") {
		t.Fatalf("alice sees bob's history: %s", b)
	}
}
