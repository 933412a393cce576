package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/emersion/go-webdav"
	"github.com/emersion/go-webdav/carddav"
)

// TestScenarioSidekick: three devices with
// overlapping data, offline edits and deletions; the server's data
// directory is destroyed, a new empty server starts and the account is
// recreated with 'pimvault user add'. After the devices sync, every item
// any device held is back byte for byte, with no duplicates, nothing a
// device saw deleted comes back, and every device converges.
func TestScenarioSidekick(t *testing.T) {
	skipIfShort(t, "the sidekick scenario (three devices rebuild a destroyed server)")
	dir := t.TempDir()
	rs := startServer(t, dir, "--user", "ann")
	pw := rs.password
	requireRecoveryProtocol(t, rs.url, "ann", pw, "phone")
	a := newTestDevice(t, "phone", rs.url, "ann", pw)
	b := newTestDevice(t, "laptop", rs.url, "ann", pw)
	c := newTestDevice(t, "tablet", rs.url, "ann", pw)
	syncAll(t, 1, a, b, c)
	for i := 0; i < 12; i++ {
		a.add(t, "contacts", vcardBody(fmt.Sprintf("shared-%02d", i), fmt.Sprintf("Shared %d", i), "v1"))
	}
	for i := 0; i < 5; i++ {
		b.add(t, "contacts", vcardBody(fmt.Sprintf("laptop-%d", i), "Laptop", "folded\r\n line"))
		c.add(t, "contacts", vcardBody(fmt.Sprintf("tablet-%d", i), "Tablet", "ünïcode ✓"))
	}
	syncAll(t, 2, a, b, c)
	requireConverged(t, a, b, c)
	// A watch syncs now and then stays offline until the recovery is
	// over: it never sees the deletions below, and edits shared-06.
	w := newTestDevice(t, "watch", rs.url, "ann", pw)
	w.sync(t)
	w.edit(t, "contacts", "shared-06", vcardBody("shared-06", "Shared 6", "watch's offline edit"))

	// Deletions every device saw.
	a.remove(t, "contacts", "shared-00")
	b.remove(t, "contacts", "laptop-0")
	syncAll(t, 2, a, b, c)
	// A deletion the tablet has not seen: it still holds shared-01.
	a.remove(t, "contacts", "shared-01")
	syncAll(t, 1, a, b)
	// Offline changes, never sent to the old server.
	b.edit(t, "contacts", "shared-03", vcardBody("shared-03", "Shared 3", "laptop's offline edit"))
	b.remove(t, "contacts", "shared-04")
	c.add(t, "contacts", vcardBody("tablet-new", "Tablet new", "added offline"))
	a.edit(t, "contacts", "shared-05", vcardBody("shared-05", "Shared 5", "phone's offline edit"))
	a.add(t, "contacts", vcardBody("phone-new", "Phone new", "added offline"))

	want := map[string]string{}
	for _, d := range []*testDevice{a, b, c} {
		for h, body := range d.state(t) {
			want[h] = body
		}
	}
	book := a.coll(t, "contacts").Href
	for _, gone := range []string{"shared-00", "laptop-0", "shared-01", "shared-04"} {
		delete(want, book+gone+".vcf")
	}
	want[book+"shared-03.vcf"] = vcardBody("shared-03", "Shared 3", "laptop's offline edit")
	want[book+"shared-05.vcf"] = vcardBody("shared-05", "Shared 5", "phone's offline edit")
	if len(want) != 9+4+5+2 {
		t.Fatalf("test setup: expected state holds %d items", len(want))
	}

	// The disaster: the data directory (bbolt and journal) is gone.
	rs.stop(t)
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	dir2 := t.TempDir()
	rs2 := startServer(t, dir2)
	if res := pimvaultStdin(t, pw+"\n", "user", "add", "ann", "--password-stdin", "--data", dir2); res.code != 0 {
		t.Fatalf("user add on the new server:\n%s", res)
	}
	for _, d := range []*testDevice{a, b, c} {
		d.connect(t, rs2.url)
	}
	// The tablet, which is behind, rebuilds first.
	rep := c.sync(t)
	if len(rep.Recovered) == 0 || !rep.RecoveryDone {
		t.Fatalf("tablet: recovered %v, done %v: want a reconcile and a report", rep.Recovered, rep.RecoveryDone)
	}
	// The new server never knew ann's devices: the tablet's report does
	// not close the recovery; the admin names the devices known before
	// the loss (the watch, long offline, is left out).
	if st := pimvault(t, "recovery", "status", "--user", "ann", "--data", dir2); !strings.Contains(st.stdout, "state: RECOVERING") || !strings.Contains(st.stdout, "no automatic close") {
		t.Fatalf("after the first device's report:\n%s", st)
	}
	if res := pimvault(t, "recovery", "expect", "--user", "ann", "--device", "phone", "--device", "laptop", "--device", "tablet", "--data", dir2); res.code != 0 || !strings.Contains(res.stdout, "laptop, phone") {
		t.Fatalf("recovery expect:\n%s", res)
	}
	syncAll(t, 3, b, a, c)
	got := requireConverged(t, a, b, c)
	if diff := diffStates(want, got); diff != "" {
		t.Fatalf("after the rebuild the devices do not hold what they held (first: expected):\n%s", diff)
	}
	status := pimvault(t, "recovery", "status", "--user", "ann", "--data", dir2)
	t.Logf("pimvault recovery status after the rebuild:\n%s", status.stdout)
	if !strings.Contains(status.stdout, "last recovery: opened") {
		t.Errorf("the devices' reports did not close the recovery the server opened:\n%s", status)
	}
	// The watch comes back after the recovery closed: its edit survives,
	// and what it still holds that the others saw deleted does not return.
	want[book+"shared-06.vcf"] = vcardBody("shared-06", "Shared 6", "watch's offline edit")
	w.connect(t, rs2.url)
	syncAll(t, 3, w, a, b, c)
	got = requireConverged(t, a, b, c, w)
	if diff := diffStates(want, got); diff != "" {
		t.Fatalf("after the late device synced (first: expected):\n%s", diff)
	}
	// The server holds the same: a new device sees exactly this.
	fresh := newTestDevice(t, "new-phone", rs2.url, "ann", pw)
	fresh.sync(t)
	if diff := diffStates(want, fresh.state(t)); diff != "" {
		t.Fatalf("a new device does not see the rebuilt state (first: expected):\n%s", diff)
	}
}

// TestScenarioRollback: the server is restored from
// an older copy of its data directory (the journal after it lost). Devices
// that synced later push back their newer changes and deletions.
func TestScenarioRollback(t *testing.T) {
	skipIfShort(t, "the rollback scenario (server restored from an old copy, devices reconcile)")
	dir := t.TempDir()
	rs := startServer(t, dir, "--user", "ann")
	pw := rs.password
	requireRecoveryProtocol(t, rs.url, "ann", pw, "phone")
	a := newTestDevice(t, "phone", rs.url, "ann", pw)
	b := newTestDevice(t, "laptop", rs.url, "ann", pw)
	syncAll(t, 1, a, b)
	for i := 0; i < 10; i++ {
		a.add(t, "contacts", vcardBody(fmt.Sprintf("r-%02d", i), fmt.Sprintf("R %d", i), "v1"))
	}
	syncAll(t, 2, a, b)
	rs.stop(t)
	snapshot := filepath.Join(t.TempDir(), "snapshot")
	copyTree(t, dir, snapshot)

	rs = startServer(t, dir)
	a.connect(t, rs.url)
	b.connect(t, rs.url)
	a.edit(t, "contacts", "r-01", vcardBody("r-01", "R 1", "v2 after the snapshot"))
	a.remove(t, "contacts", "r-02")
	b.edit(t, "contacts", "r-03", vcardBody("r-03", "R 3", "v2 after the snapshot"))
	b.add(t, "contacts", vcardBody("r-new", "R new", "after the snapshot"))
	syncAll(t, 2, a, b)
	want := requireConverged(t, a, b)
	// A stock client (go-webdav, no device header) synced here too.
	book := a.coll(t, "contacts").Href
	stock := func(url string) *carddav.Client {
		cc, err := carddav.NewClient(webdav.HTTPClientWithBasicAuth(http.DefaultClient, "ann", pw), url)
		if err != nil {
			t.Fatal(err)
		}
		return cc
	}
	stockSync, err := stock(rs.url).SyncCollection(context.Background(), book, &carddav.SyncQuery{})
	if err != nil {
		t.Fatal(err)
	}
	rs.stop(t)

	old := startServer(t, snapshot)
	a.connect(t, old.url)
	b.connect(t, old.url)
	if rep := a.sync(t); len(rep.Recovered) == 0 || !rep.RecoveryDone {
		t.Fatalf("phone against the old server: recovered %v, done %v; want a reconcile and a report", rep.Recovered, rep.RecoveryDone)
	}
	// The laptop has not reported yet: the stock client's token shows the
	// loss, and it gets 503, never a listing of the old state.
	if _, err := stock(old.url).SyncCollection(context.Background(), book, &carddav.SyncQuery{SyncToken: stockSync.SyncToken}); err == nil || !strings.Contains(err.Error(), "503") {
		t.Fatalf("stock client during the recovery: %v, want 503", err)
	}
	syncAll(t, 3, b, a)
	// Once the devices reported, a stock client's full listing is whole.
	full, err := stock(old.url).SyncCollection(context.Background(), book, &carddav.SyncQuery{})
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]bool{}
	for _, o := range full.Updated {
		listed[o.Path] = true
	}
	for href := range want {
		if !listed[href] {
			t.Errorf("after the recovery a stock client's listing lacks %s", href)
		}
	}
	status := pimvault(t, "recovery", "status", "--user", "ann", "--data", snapshot)
	t.Logf("pimvault recovery status after the rollback:\n%s", status.stdout)
	if !strings.Contains(status.stdout, "last recovery: opened") {
		t.Errorf("the devices' reports did not close the recovery the server opened:\n%s", status)
	}
	got := requireConverged(t, a, b)
	if diff := diffStates(want, got); diff != "" {
		t.Fatalf("after the rollback the devices lost changes (first: before):\n%s", diff)
	}
	fresh := newTestDevice(t, "new-phone", old.url, "ann", pw)
	fresh.sync(t)
	if diff := diffStates(want, fresh.state(t)); diff != "" {
		t.Fatalf("the rolled-back server did not get the newer changes back (first: expected):\n%s", diff)
	}
	if strings.Contains(fmt.Sprint(got), "UID:r-02\r") {
		t.Fatalf("r-02, deleted after the snapshot, came back")
	}
}
