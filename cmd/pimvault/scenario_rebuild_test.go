package main

import (
	"context"
	"flag"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/pimvault/pimvault/device"
)

var rebuildItems = flag.Int("rebuild-items", 200, "contacts (and events, when the server has CalDAV) per device in TestScenarioRebuildTiming (BENCHMARKS.md uses 10000)")

// seedSyncedReplica fills a device's collection c as if it had synced n
// items (numbers from..from+n-1) with a server that is now lost: clean
// items with their last synced ETags, and a token of the lost epoch.
func seedSyncedReplica(t *testing.T, d *testDevice, c device.Collection, from, n int) {
	t.Helper()
	const lostEpoch = "0123456789abcdef"
	c.Token = fmt.Sprintf("data:,pv1-%s-%d", lostEpoch, 3*n)
	err := d.r.Update(func(tx *device.Txn) error {
		if err := tx.PutCollection(c); err != nil {
			return err
		}
		for i := from; i < from+n; i++ {
			uid := fmt.Sprintf("bench-%06d", i)
			note := fmt.Sprintf("tel %d, a note long enough to look like a real item: %0120d", i, i)
			body := device.FleetBody(c.Kind, uid, note)
			etag := device.ETagOf(body)
			it := device.Item{Href: c.Href + uid + c.Kind.Ext(), UID: uid, Body: body, ETag: etag, SyncedETag: etag, Epoch: lostEpoch, Seq: uint64(i + 1)}
			if err := tx.PutItem(c.Href, it); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestScenarioRebuildTiming (the rebuild benchmark of BENCHMARKS.md): a new empty server is
// rebuilt from three devices that each hold -rebuild-items contacts, and
// as many events when the server has CalDAV (half of each device's items
// are also on the next device). It checks the
// result and logs the time; run with -rebuild-items=10000 for the figure.
func TestScenarioRebuildTiming(t *testing.T) {
	skipIfShort(t, "the rebuild-timing scenario (devices rebuild an empty server)")
	n := *rebuildItems
	rs := startServer(t, t.TempDir(), "--user", "gus")
	requireRecoveryProtocol(t, rs.url, "gus", rs.password, "dev0")
	// The collections to seed: the default address book, and the default
	// calendar when the server has CalDAV.
	probe, err := device.NewHTTPTransport(device.Config{Server: rs.url, User: "gus", Password: rs.password, DeviceID: "dev0"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	disc, err := probe.Collections(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var colls []device.Collection
	for _, c := range disc.Collections {
		if len(colls) == 0 && c.Kind == device.AddressBook || len(colls) == 1 && c.Kind == device.Calendar {
			colls = append(colls, c)
		}
	}
	devs := make([]*testDevice, 3)
	for i := range devs {
		devs[i] = newTestDevice(t, fmt.Sprintf("dev%d", i), rs.url, "gus", rs.password)
		for _, c := range colls {
			seedSyncedReplica(t, devs[i], c, i*n/2, n)
		}
	}
	unique := len(colls) * (n + 2*(n/2))
	start := time.Now()
	var wg sync.WaitGroup
	errs := make([]error, len(devs))
	for i, d := range devs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rep, err := d.eng.Sync(context.Background())
			if err == nil && len(rep.Errors) > 0 {
				err = fmt.Errorf("%v", rep.Errors)
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	rebuilt := time.Since(start)
	for i, err := range errs {
		if err != nil {
			t.Fatalf("dev%d: %v", i, err)
		}
	}
	syncAll(t, 1, devs...)
	converged := time.Since(start)
	state := requireConverged(t, devs...)
	if len(state) != unique {
		t.Fatalf("devices hold %d contacts, want %d", len(state), unique)
	}
	fresh := newTestDevice(t, "observer", rs.url, "gus", rs.password)
	fresh.sync(t)
	if diff := diffStates(state, fresh.state(t)); diff != "" {
		t.Fatalf("the rebuilt server differs from the devices:\n%s", diff)
	}
	kinds := "contacts"
	if len(colls) == 2 {
		kinds = "contacts and as many events"
	}
	t.Logf("rebuild: 3 devices x %d %s (%d unique items) uploaded to an empty server in %v; all converged in %v",
		n, kinds, unique, rebuilt.Round(time.Millisecond), converged.Round(time.Millisecond))
}
