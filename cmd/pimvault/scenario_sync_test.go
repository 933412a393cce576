package main

import (
	"fmt"
	"strings"
	"testing"
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

// TestDeviceConflictKeepsBoth (issue 5 scenario 4): two devices edit the
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
