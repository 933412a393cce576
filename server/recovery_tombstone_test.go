package server

import (
	"net/http"
	"strings"
	"testing"

	"github.com/pimvault/pimvault/syncproto"
)

// TestDeviceDeleteOfLostItemTombstones: on a rebuilt store, a device's
// DELETE of an item the store lacks is recorded as a tombstone (204), which
// the full listing shows as a deletion, so that a lagging device's clean
// copy is deleted rather than uploaded again. A stock client's DELETE of a
// missing item stays 404 and writes nothing.
func TestDeviceDeleteOfLostItemTombstones(t *testing.T) {
	e := newTestEnv(t)
	putCards(t, e, "kept")
	for _, d := range []string{testDevice, "laptop-1"} { // registered first: the head then moves only for deletions
		e.do(t, "alice", "GET", testBook+"kept.vcf", dev(d), "")
	}
	head := e.store.Head()

	resp, body := e.do(t, "alice", "DELETE", testBook+"gone.vcf", nil, "")
	if resp.StatusCode != http.StatusNotFound || e.store.Head() != head {
		t.Fatalf("stock DELETE of a missing item: %d %s, head %d→%d", resp.StatusCode, body, head, e.store.Head())
	}
	resp, body = e.do(t, "alice", "DELETE", testBook+"gone.vcf", dev(testDevice), "")
	if resp.StatusCode != http.StatusNoContent || e.store.Head() != head+1 {
		t.Fatalf("device DELETE of a lost item: %d %s, head %d→%d", resp.StatusCode, body, head, e.store.Head())
	}
	// Once recorded, a second DELETE has nothing to record.
	resp, _ = e.do(t, "alice", "DELETE", testBook+"gone.vcf", dev("laptop-1"), "")
	if resp.StatusCode != http.StatusNotFound || e.store.Head() != head+1 {
		t.Fatalf("second device DELETE: %d, head %d", resp.StatusCode, e.store.Head())
	}
	// A DELETE with If-Match of a missing item is a failed precondition,
	// never a tombstone.
	resp, _ = e.do(t, "alice", "DELETE", testBook+"other.vcf", dev(testDevice, "If-Match", `"abc"`), "")
	if resp.StatusCode == http.StatusNoContent || e.store.Head() != head+1 {
		t.Fatalf("device DELETE with If-Match of a missing item: %d, head %d", resp.StatusCode, e.store.Head())
	}

	// A lagging device reconciles: the full listing names the deletion.
	h, err := e.store.EpochHistory()
	if err != nil {
		t.Fatal(err)
	}
	tok := syncproto.Format(syncproto.Token{Epoch: h.Current, Seq: 0})
	resp, body = e.do(t, "alice", "REPORT", testBook, dev("tablet-1", "Depth", "0", "Content-Type", "application/xml"), syncReport(tok))
	if resp.StatusCode != http.StatusMultiStatus {
		t.Fatalf("full listing: %d %s", resp.StatusCode, body)
	}
	i := strings.Index(body, testBook+"gone.vcf")
	if i < 0 || !strings.Contains(body[i:min(len(body), i+200)], "404") {
		t.Fatalf("the full listing does not show gone.vcf as deleted:\n%s", body)
	}
	lagging := syncproto.Device{Kind: syncproto.DevicePresent, ETag: "x", LastSyncedETag: "x"}
	if a := syncproto.Reconcile(syncproto.Server{Kind: syncproto.ServerTombstoned}, lagging); a != syncproto.DeleteOnDevice {
		t.Fatalf("a lagging device's clean copy against the tombstone: %v, want delete-on-device", a)
	}
	// The item can be created again by anyone.
	resp, body = e.do(t, "alice", "PUT", testBook+"gone.vcf", map[string]string{"Content-Type": "text/vcard", "If-None-Match": "*"}, testCard("gone", "Back"))
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("PUT over the tombstone: %d %s", resp.StatusCode, body)
	}
}
