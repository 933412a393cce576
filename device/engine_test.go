package device

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

var timeZero time.Time

const book = "/dav/addressbooks/u/contacts/"

func vcard(uid, note string) []byte {
	return []byte("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:" + uid + "\r\nFN:" + uid + "\r\nNOTE:" + note + "\r\nEND:VCARD\r\n")
}

// testEngine is a replica in t.TempDir() syncing with srv; its backoff
// records delays instead of sleeping.
func testEngine(t *testing.T, name string, srv Transport) (*Engine, *[]time.Duration) {
	t.Helper()
	r, err := Init(filepath.Join(t.TempDir(), name), Config{Server: "http://127.0.0.1:1", User: "u", Password: "pw", DeviceID: name})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	var slept []time.Duration
	b := &Backoff{Sleep: func(ctx context.Context, d time.Duration) error { slept = append(slept, d); return nil }, Rand: func() float64 { return 0.5 }}
	return &Engine{Replica: r, Transport: srv, Backoff: b}, &slept
}

func mustSync(t *testing.T, e *Engine) *Report {
	t.Helper()
	rep, err := e.Sync(context.Background())
	if err != nil {
		t.Fatalf("%s: sync: %v", e.Replica.Config().DeviceID, err)
	}
	if len(rep.Errors) > 0 {
		t.Fatalf("%s: errors: %v", e.Replica.Config().DeviceID, rep.Errors)
	}
	return rep
}

func items(t *testing.T, e *Engine) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := e.Replica.View(func(tx *Txn) error {
		its, err := tx.Items(book)
		for _, it := range its {
			out[it.Href] = string(it.Body)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func addLocal(t *testing.T, e *Engine, body []byte) Item {
	t.Helper()
	var it Item
	err := e.Replica.Update(func(tx *Txn) error {
		c, err := tx.Collection(book)
		if err != nil {
			return err
		}
		it, err = tx.AddLocal(c, body)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return it
}

func seed(srv *fakeServer, n int) {
	for i := 0; i < n; i++ {
		srv.put(fmt.Sprintf("%sc%02d.vcf", book, i), vcard(fmt.Sprintf("c%02d", i), "v1"))
	}
}

func TestEngineEmptierListingRefused(t *testing.T) {
	srv := newFakeServer("aa", Collection{Href: book, Kind: AddressBook})
	seed(srv, 20)
	e, _ := testEngine(t, "d1", srv)
	mustSync(t, e)
	if n := len(items(t, e)); n != 20 {
		t.Fatalf("first sync: %d items, want 20", n)
	}
	// The server loses 15 objects without tombstones and forgets its
	// change history: the device must fall back to a full listing.
	srv.mu.Lock()
	for i := 0; i < 15; i++ {
		h := fmt.Sprintf("%sc%02d.vcf", book, i)
		delete(srv.colls[book].objs, h)
		delete(srv.colls[book].changed, h)
	}
	srv.forget = true
	srv.mu.Unlock()
	rep := mustSync(t, e)
	if len(rep.Refused) != 1 || !strings.Contains(rep.Refused[0], "lacks 15 of the 20") {
		t.Fatalf("refused = %q, want one refusal naming 15 of 20", rep.Refused)
	}
	if n := len(items(t, e)); n != 20 {
		t.Fatalf("after the refused listing the device holds %d items, want all 20", n)
	}
	if rep.DeletedLocally != 0 {
		t.Errorf("deleted %d items locally, want 0", rep.DeletedLocally)
	}
}

func TestEngineSmallFullListingApplied(t *testing.T) {
	srv := newFakeServer("aa", Collection{Href: book, Kind: AddressBook})
	seed(srv, 20)
	e, _ := testEngine(t, "d1", srv)
	mustSync(t, e)
	// Three real deletions, then the history is pruned: a full listing
	// that lacks 3 of 20 is ordinary and is applied.
	for i := 0; i < 3; i++ {
		if _, err := srv.Delete(context.Background(), fmt.Sprintf("%sc%02d.vcf", book, i), ""); err != nil {
			t.Fatal(err)
		}
	}
	srv.forget = true
	rep := mustSync(t, e)
	if rep.DeletedLocally != 3 || len(rep.Refused) != 0 {
		t.Fatalf("deleted %d, refused %q; want 3 deletions and no refusal", rep.DeletedLocally, rep.Refused)
	}
	if n := len(items(t, e)); n != 17 {
		t.Fatalf("%d items, want 17", n)
	}
}

func TestEngineBackoffHonoursRetryAfter(t *testing.T) {
	srv := newFakeServer("aa", Collection{Href: book, Kind: AddressBook})
	srv.fail["discover"] = 2
	srv.retryAfter = "7"
	e, slept := testEngine(t, "d1", srv)
	mustSync(t, e)
	if len(*slept) != 2 {
		t.Fatalf("slept %d times, want 2", len(*slept))
	}
	for i, d := range *slept {
		if d < 7*time.Second {
			t.Errorf("pause %d = %v, want at least Retry-After 7s", i, d)
		}
	}
	srv.fail["discover"] = 10
	srv.retryAfter = "86400"
	e.Backoff.MaxRetryAfter = time.Minute
	*slept = nil
	if _, err := e.Sync(context.Background()); statusCode(err) != 503 {
		t.Fatalf("after the attempts are used up: err %v, want the 503", err)
	}
	for i, d := range *slept {
		if d > time.Minute {
			t.Errorf("pause %d = %v, want Retry-After capped at 1m", i, d)
		}
	}
}

func TestEngineConflictKeepsBoth(t *testing.T) {
	srv := newFakeServer("aa", Collection{Href: book, Kind: AddressBook})
	srv.put(book+"dora.vcf", vcard("dora", "original"))
	e, _ := testEngine(t, "d1", srv)
	mustSync(t, e)
	srv.put(book+"dora.vcf", vcard("dora", "server edit"))
	err := e.Replica.Update(func(tx *Txn) error {
		c, _ := tx.Collection(book)
		_, err := tx.EditLocal(c, "dora", vcard("dora", "device edit"))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	rep := mustSync(t, e)
	if len(rep.Conflicts) != 1 {
		t.Fatalf("conflicts %+v, want 1", rep.Conflicts)
	}
	got := srv.bodies(book)
	if len(got) != 2 || got[book+"dora.vcf"] != string(vcard("dora", "server edit")) {
		t.Fatalf("server holds %v; want the server's edit at dora.vcf and the device's copy", got)
	}
	cp := got[rep.Conflicts[0].CopyHref]
	if !strings.Contains(cp, "device edit") || strings.Contains(cp, "UID:dora\r") {
		t.Fatalf("the copy %q must hold the device's edit under a new UID", cp)
	}
	if local := items(t, e); len(local) != 2 || local[rep.Conflicts[0].CopyHref] != cp {
		t.Fatalf("device holds %v, want the same two versions", local)
	}
}

// Sidekick against the fake: the server is replaced by an empty one with a
// new epoch; two devices rebuild it, nothing seen deleted comes back.
func TestEngineRebuildFromDevices(t *testing.T) {
	old := newFakeServer("aa", Collection{Href: book, Kind: AddressBook})
	seed(old, 6)
	a, _ := testEngine(t, "a", old)
	b, _ := testEngine(t, "b", old)
	mustSync(t, a)
	mustSync(t, b)
	// a deletes c00 and syncs; b is offline, edits c01 and adds new-b.
	err := a.Replica.Update(func(tx *Txn) error {
		c, _ := tx.Collection(book)
		_, err := tx.DeleteLocal(c, "c00")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	mustSync(t, a)
	err = b.Replica.Update(func(tx *Txn) error {
		c, _ := tx.Collection(book)
		if _, err := tx.EditLocal(c, "c01", vcard("c01", "b's offline edit")); err != nil {
			return err
		}
		_, err := tx.AddLocal(c, vcard("new-b", "added offline"))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	// The server is lost; a new one starts empty, with a new epoch.
	fresh := newFakeServer("bb", Collection{Href: book, Kind: AddressBook})
	a.Transport, b.Transport = fresh, fresh
	for round := 0; round < 3; round++ {
		for _, e := range []*Engine{b, a} { // b first: its stale c00 reaches the server before a
			rep := mustSync(t, e)
			if round == 0 && (len(rep.Recovered) != 1 || !rep.RecoveryDone) {
				t.Fatalf("%s: recovered %v done %v, want the collection reconciled and reported", e.Replica.Config().DeviceID, rep.Recovered, rep.RecoveryDone)
			}
		}
	}
	if fresh.done < 2 {
		t.Errorf("recovery done reported %d times, want 2", fresh.done)
	}
	want := map[string]string{}
	for i := 1; i < 6; i++ {
		want[fmt.Sprintf("%sc%02d.vcf", book, i)] = string(vcard(fmt.Sprintf("c%02d", i), "v1"))
	}
	want[book+"c01.vcf"] = string(vcard("c01", "b's offline edit"))
	want[book+"new-b.vcf"] = string(vcard("new-b", "added offline"))
	for name, got := range map[string]map[string]string{"server": fresh.bodies(book), "a": items(t, a), "b": items(t, b)} {
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s holds\n%v\nwant\n%v", name, got, want)
		}
	}
}

// Rollback against the fake: the server goes back to an older state in
// the same epoch; the device's newer versions and deletions win.
func TestEngineRollbackPushesNewer(t *testing.T) {
	srv := newFakeServer("aa", Collection{Href: book, Kind: AddressBook})
	seed(srv, 4)
	e, _ := testEngine(t, "a", srv)
	mustSync(t, e)
	snapshot := map[string][]byte{}
	for h, b := range srv.bodies(book) {
		snapshot[h] = []byte(b)
	}
	snapSeq := srv.seq
	// After the snapshot: an edit of c01 from elsewhere, a deletion of c02.
	srv.put(book+"c01.vcf", vcard("c01", "v2"))
	if _, err := srv.Delete(context.Background(), book+"c02.vcf", ""); err != nil {
		t.Fatal(err)
	}
	mustSync(t, e)
	// Restore the snapshot: objects back, history cut at snapSeq, and a
	// new epoch (a whole-store restore starts one).
	srv.mu.Lock()
	c := srv.colls[book]
	c.objs, c.deleted = snapshot, map[string]bool{}
	for h := range c.changed {
		c.changed[h] = 1
	}
	srv.seq, srv.epoch = snapSeq, "cc"
	srv.mu.Unlock()
	rep := mustSync(t, e)
	if len(rep.Recovered) != 1 {
		t.Fatalf("recovered %v, want the collection", rep.Recovered)
	}
	got := srv.bodies(book)
	if got[book+"c01.vcf"] != string(vcard("c01", "v2")) {
		t.Errorf("c01 on the server = %q, want the newer v2 pushed back", got[book+"c01.vcf"])
	}
	if _, ok := got[book+"c02.vcf"]; ok {
		t.Errorf("c02, deleted after the snapshot, is back on the server")
	}
	if len(got) != 3 || fmt.Sprint(got) != fmt.Sprint(items(t, e)) {
		t.Errorf("server %v and device %v differ", got, items(t, e))
	}
}

// A new item whose UID the server already holds at another href with a
// different body: both are kept, the device's under a new UID.
func TestEngineUIDConflictKeepsBoth(t *testing.T) {
	srv := newFakeServer("aa", Collection{Href: book, Kind: AddressBook})
	e, _ := testEngine(t, "d1", srv)
	mustSync(t, e)
	srv.put(book+"elsewhere.vcf", vcard("same-uid", "server's"))
	addLocal(t, e, vcard("same-uid", "device's"))
	rep := mustSync(t, e)
	if len(rep.Conflicts) != 1 {
		t.Fatalf("conflicts %+v, want 1", rep.Conflicts)
	}
	got := srv.bodies(book)
	if len(got) != 2 || got[book+"elsewhere.vcf"] != string(vcard("same-uid", "server's")) || !strings.Contains(got[rep.Conflicts[0].CopyHref], "device's") {
		t.Fatalf("server holds %v", got)
	}
	if local := items(t, e); fmt.Sprint(local) != fmt.Sprint(got) {
		t.Fatalf("device %v, server %v", local, got)
	}
}

// During recovery, an item changed on the device and, differently, on the
// server (a version the device never saw): both are kept.
func TestEngineRecoveryKeepsBoth(t *testing.T) {
	srv := newFakeServer("aa", Collection{Href: book, Kind: AddressBook})
	seed(srv, 2)
	e, _ := testEngine(t, "a", srv)
	mustSync(t, e)
	err := e.Replica.Update(func(tx *Txn) error {
		c, _ := tx.Collection(book)
		_, err := tx.EditLocal(c, "c00", vcard("c00", "device's offline edit"))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	fresh := newFakeServer("bb", Collection{Href: book, Kind: AddressBook})
	fresh.put(book+"c00.vcf", vcard("c00", "another device's edit"))
	e.Transport = fresh
	rep := mustSync(t, e)
	if len(rep.Recovered) != 1 || len(rep.Conflicts) != 1 {
		t.Fatalf("recovered %v conflicts %+v; want one reconcile with one keep-both", rep.Recovered, rep.Conflicts)
	}
	got := fresh.bodies(book)
	if len(got) != 3 || got[book+"c00.vcf"] != string(vcard("c00", "another device's edit")) ||
		!strings.Contains(got[rep.Conflicts[0].CopyHref], "device's offline edit") || got[book+"c01.vcf"] == "" {
		t.Fatalf("server holds %v", got)
	}
}

// Two devices rebuild at once: between this device's listing and its
// upload, a device that was behind stores an older version of an item.
// The upload's 412 is decided again: the newer copy replaces the older
// one, with no duplicate.
func TestEngineRecoveryRaceWithStaleUpload(t *testing.T) {
	old := newFakeServer("aa", Collection{Href: book, Kind: AddressBook})
	old.put(book+"x.vcf", vcard("x", "v1"))
	e, _ := testEngine(t, "a", old)
	mustSync(t, e)
	old.put(book+"x.vcf", vcard("x", "v2"))
	mustSync(t, e) // the device synced v1, then v2
	fresh := newFakeServer("bb", Collection{Href: book, Kind: AddressBook})
	var once sync.Once
	fresh.onPut = func(string) { once.Do(func() { fresh.put(book+"x.vcf", vcard("x", "v1")) }) }
	e.Transport = fresh
	rep := mustSync(t, e)
	if len(rep.Conflicts) != 0 {
		t.Fatalf("conflicts %+v: an older version must not make a copy", rep.Conflicts)
	}
	if got := fresh.bodies(book); len(got) != 1 || got[book+"x.vcf"] != string(vcard("x", "v2")) {
		t.Fatalf("server holds %v, want only v2", got)
	}
}

// Devices rebuilding one server do not send again what another already
// restored: between chunks a device rereads the server's changes.
func TestEngineRecoverySkipsRestoredItems(t *testing.T) {
	const n = 2500
	old := newFakeServer("aa", Collection{Href: book, Kind: AddressBook})
	seed(old, 0)
	a, _ := testEngine(t, "a", old)
	b, _ := testEngine(t, "b", old)
	mustSync(t, a)
	mustSync(t, b)
	for _, e := range []*Engine{a, b} {
		err := e.Replica.Update(func(tx *Txn) error {
			for i := 0; i < n; i++ {
				body := vcard(fmt.Sprintf("bulk-%05d", i), "v1")
				it := Item{Href: fmt.Sprintf("%sbulk-%05d.vcf", book, i), UID: fmt.Sprintf("bulk-%05d", i), Body: body, ETag: ETagOf(body)}
				it.synced(it.ETag, "aa", 1)
				if err := tx.PutItem(book, it); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	fresh := newFakeServer("bb", Collection{Href: book, Kind: AddressBook})
	a.Transport, b.Transport = fresh, fresh
	// b listed the empty server too, and starts uploading; right then a
	// restores everything.
	var started atomic.Bool
	var aErr error
	fresh.onPut = func(string) {
		if started.CompareAndSwap(false, true) {
			_, aErr = a.Sync(context.Background())
		}
	}
	mustSync(t, b)
	if aErr != nil {
		t.Fatal(aErr)
	}
	extra := fresh.puts - n
	t.Logf("%d uploads for %d items", fresh.puts, n)
	if extra < 0 || extra > uploadChunk {
		t.Fatalf("b sent %d uploads of items a had restored, want at most one chunk (%d)", extra, uploadChunk)
	}
	if got := fresh.bodies(book); len(got) != n || fmt.Sprint(got) != fmt.Sprint(items(t, b)) {
		t.Fatalf("server %d items, device b %d", len(got), len(items(t, b)))
	}
}
