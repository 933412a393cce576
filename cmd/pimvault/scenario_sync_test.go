package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/pimvault/pimvault/device"
)

// TestDeviceSyncConverges: three devices with overlapping data, edits and
// deletions, through the real binary, converge byte for byte.
func TestDeviceSyncConverges(t *testing.T) {
	rs := startServer(t, t.TempDir(), "--user", "ann")
	a := newTestDevice(t, "phone", rs.url, "ann", rs.password)
	b := newTestDevice(t, "laptop", rs.url, "ann", rs.password)
	c := newTestDevice(t, "tablet", rs.url, "ann", rs.password)
	syncAll(t, 1, a, b, c)
	for i := 0; i < 15; i++ {
		a.add(t, "contacts", vcardBody(fmt.Sprintf("a-%02d", i), fmt.Sprintf("A %d", i), "from the phone"))
	}
	rep := a.sync(t)
	if rep.Uploaded != 15 {
		t.Fatalf("phone uploaded %d, want 15", rep.Uploaded)
	}
	syncAll(t, 1, b, c)
	if got := len(b.state(t)); got != 15 {
		t.Fatalf("laptop holds %d items after sync, want 15", got)
	}
	b.edit(t, "contacts", "a-03", vcardBody("a-03", "A three", "edited on the laptop"))
	b.remove(t, "contacts", "a-04")
	c.add(t, "contacts", vcardBody("c-1", "From tablet", "x\r\n folded"))
	c.remove(t, "contacts", "a-05")
	syncAll(t, 2, a, b, c)
	st := requireConverged(t, a, b, c)
	if len(st) != 14 {
		t.Errorf("converged state holds %d items, want 14 (15 - 2 deleted + 1 added)", len(st))
	}
	for href, body := range st {
		if strings.HasSuffix(href, "/a-03.vcf") && !strings.Contains(body, "edited on the laptop") {
			t.Errorf("a-03 lost the laptop's edit: %q", body)
		}
		if strings.HasSuffix(href, "/a-04.vcf") || strings.HasSuffix(href, "/a-05.vcf") {
			t.Errorf("deleted %s came back", href)
		}
	}
}

// TestDeviceConflictKeepsBoth: two devices edit the
// same contact offline; both versions survive on every device.
func TestDeviceConflictKeepsBoth(t *testing.T) {
	rs := startServer(t, t.TempDir(), "--user", "bob")
	a := newTestDevice(t, "phone", rs.url, "bob", rs.password)
	b := newTestDevice(t, "laptop", rs.url, "bob", rs.password)
	syncAll(t, 1, a, b)
	a.add(t, "contacts", vcardBody("dora", "Dora", "original"))
	syncAll(t, 1, a, b)
	a.edit(t, "contacts", "dora", vcardBody("dora", "Dora", "phone's edit"))
	b.edit(t, "contacts", "dora", vcardBody("dora", "Dora", "laptop's edit"))
	a.sync(t)
	rep := b.sync(t)
	if len(rep.Conflicts) != 1 {
		t.Fatalf("laptop reported %d conflicts, want 1: %+v", len(rep.Conflicts), rep)
	}
	syncAll(t, 2, a, b)
	st := requireConverged(t, a, b)
	var phone, laptop int
	for _, body := range st {
		if strings.Contains(body, "phone's edit") {
			phone++
		}
		if strings.Contains(body, "laptop's edit") {
			laptop++
		}
	}
	if phone != 1 || laptop != 1 || len(st) != 2 {
		t.Fatalf("want both versions once each (2 items), got phone %d laptop %d in %d items: %v", phone, laptop, len(st), st)
	}
}

// TestScenarioFleet: the fleet simulator against the real binary: seeded
// rounds of random edits with devices offline, then everyone syncs; the
// devices converge and a new device sees the same state.
func TestScenarioFleet(t *testing.T) {
	skipIfShort(t, "the fleet scenario (four devices, random edits, many rounds)")
	rs := startServer(t, t.TempDir(), "--user", "fay")
	f, err := device.NewFleet(device.FleetConfig{Dir: t.TempDir(), Server: rs.url, User: "fay", Password: rs.password, Devices: 4, Seed: 11})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ctx := context.Background()
	var total device.FleetStats
	for i := 0; i < 6; i++ {
		st, err := f.Round(ctx)
		if err != nil {
			t.Fatalf("round %d: %v", i, err)
		}
		total.Adds += st.Adds
		total.Edits += st.Edits
		total.Deletes += st.Deletes
		total.Offline += st.Offline
		total.Conflicts += st.Conflicts
		total.Syncs += st.Syncs
	}
	if total.Adds == 0 || total.Edits == 0 || total.Deletes == 0 || total.Offline == 0 || total.Syncs == 0 {
		t.Fatalf("the fleet did not exercise every kind of change: %+v", total)
	}
	if err := f.SyncAll(ctx, 3); err != nil {
		t.Fatal(err)
	}
	state, err := f.Converged()
	if err != nil {
		t.Fatal(err)
	}
	fresh := newTestDevice(t, "observer", rs.url, "fay", rs.password)
	fresh.sync(t)
	if diff := diffStates(state, fresh.state(t)); diff != "" || len(state) == 0 {
		t.Fatalf("the server and the fleet differ (%d items):\n%s", len(state), diff)
	}
	t.Logf("fleet: %+v, %d items converged", total, len(state))
}

// TestScenarioFleetRebuild: a fleet that has converged rebuilds a
// destroyed server (new empty data directory, account recreated) and ends
// with exactly the state it had.
func TestScenarioFleetRebuild(t *testing.T) {
	skipIfShort(t, "the fleet-rebuild scenario (a fleet rebuilds a lost server)")
	dir := t.TempDir()
	rs := startServer(t, dir, "--user", "hal")
	requireRecoveryProtocol(t, rs.url, "hal", rs.password, "fleet-0")
	f, err := device.NewFleet(device.FleetConfig{Dir: t.TempDir(), Server: rs.url, User: "hal", Password: rs.password, Devices: 3, Seed: 5, EditsPerRound: 5})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ctx := context.Background()
	for i := 0; i < 4; i++ {
		if _, err := f.Round(ctx); err != nil {
			t.Fatalf("round %d: %v", i, err)
		}
	}
	if err := f.SyncAll(ctx, 2); err != nil {
		t.Fatal(err)
	}
	before, err := f.Converged()
	if err != nil || len(before) == 0 {
		t.Fatalf("before the loss: %d items, %v", len(before), err)
	}
	// With a CalDAV server the fleet edits calendars too.
	var hasCalendar bool
	f.Devices[0].Replica.View(func(tx *device.Txn) error {
		cs, err := tx.Collections()
		for _, c := range cs {
			hasCalendar = hasCalendar || c.Kind == device.Calendar
		}
		return err
	})
	events := 0
	for h := range before {
		if strings.HasPrefix(h, "/dav/calendars/") {
			events++
		}
	}
	if hasCalendar && events == 0 {
		t.Fatalf("the server has calendars but the fleet holds no events")
	}
	t.Logf("fleet before the loss: %d items, %d of them events", len(before), events)
	rs.stop(t)
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	dir2 := t.TempDir()
	rs2 := startServer(t, dir2)
	if res := pimvaultStdin(t, rs.password+"\n", "user", "add", "hal", "--password-stdin", "--data", dir2); res.code != 0 {
		t.Fatalf("user add:\n%s", res)
	}
	if err := f.Reconnect(rs2.url); err != nil {
		t.Fatal(err)
	}
	if err := f.SyncAll(ctx, 2); err != nil {
		t.Fatal(err)
	}
	after, err := f.Converged()
	if err != nil {
		t.Fatal(err)
	}
	if diff := diffStates(before, after); diff != "" {
		t.Fatalf("the fleet's state changed across the rebuild (first: before):\n%s", diff)
	}
	fresh := newTestDevice(t, "observer", rs2.url, "hal", rs.password)
	fresh.sync(t)
	if diff := diffStates(before, fresh.state(t)); diff != "" {
		t.Fatalf("the rebuilt server differs from the fleet (first: fleet):\n%s", diff)
	}
}

// TestDeviceAdoptsIdenticalItem: a card the device adds that another
// client already stored, byte for byte, under another href is not
// duplicated: the device adopts the server's href.
func TestDeviceAdoptsIdenticalItem(t *testing.T) {
	rs := startServer(t, t.TempDir(), "--user", "ivy")
	d := newTestDevice(t, "phone", rs.url, "ivy", rs.password)
	d.sync(t)
	body := vcardBody("same-card", "Same", "stored by another client")
	req, _ := http.NewRequest("PUT", rs.url+"/dav/addressbooks/ivy/contacts/other-client-name.vcf", strings.NewReader(body))
	req.SetBasicAuth("ivy", rs.password)
	req.Header.Set("Content-Type", "text/vcard")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("stock PUT: %v %v", resp, err)
	}
	resp.Body.Close()
	d.add(t, "contacts", body)
	rep := d.sync(t)
	if len(rep.Conflicts) != 0 {
		t.Fatalf("conflicts %+v for an identical card", rep.Conflicts)
	}
	st := d.state(t)
	if len(st) != 1 || st["/dav/addressbooks/ivy/contacts/other-client-name.vcf"] != body {
		t.Fatalf("device holds %v, want the one card at the other client's href", st)
	}
}
