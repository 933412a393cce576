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

// TestDeviceMkcolOfDeletedCollection: a device's MKCOL of a collection the
// store deleted after the device's last token of it is 410 and creates
// nothing; with a token from after the deletion, from a history the store
// never had, or from a stock client, the collection is created again.
func TestDeviceMkcolOfDeletedCollection(t *testing.T) {
	e := newTestEnv(t)
	const office = "/dav/addressbooks/alice/office/"
	mkcol := `<?xml version="1.0" encoding="utf-8"?><D:mkcol xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:set><D:prop><D:resourcetype><D:collection/><C:addressbook/></D:resourcetype></D:prop></D:set></D:mkcol>`
	if resp, body := e.do(t, "alice", "MKCOL", office, nil, mkcol); resp.StatusCode != http.StatusCreated {
		t.Fatalf("MKCOL: %d %s", resp.StatusCode, body)
	}
	h, err := e.store.EpochHistory()
	if err != nil {
		t.Fatal(err)
	}
	before := syncproto.Format(syncproto.Token{Epoch: h.Current, Seq: e.store.Head()})
	if resp, body := e.do(t, "alice", "DELETE", office, nil, ""); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("DELETE: %d %s", resp.StatusCode, body)
	}
	after := syncproto.Format(syncproto.Token{Epoch: h.Current, Seq: e.store.Head()})
	e.do(t, "alice", "PROPFIND", "/dav/addressbooks/alice/", dev(testDevice, "Depth", "0"), "") // registers the device first
	head := e.store.Head()
	resp, body := e.do(t, "alice", "MKCOL", office, dev(testDevice, syncproto.HeaderToken, before), mkcol)
	if resp.StatusCode != http.StatusGone || e.store.Head() != head {
		t.Fatalf("device MKCOL with a token from before the deletion: %d %s (head %d→%d)", resp.StatusCode, body, head, e.store.Head())
	}
	for _, c := range []struct {
		what string
		hdr  map[string]string
	}{
		{"a token from after the deletion", dev(testDevice, syncproto.HeaderToken, after)},
		{"a token of a history the store never had", dev(testDevice, syncproto.HeaderToken, "data:,pv1-0123456789abcdef-2")},
		{"a stock client", nil},
	} {
		resp, body := e.do(t, "alice", "MKCOL", office, c.hdr, mkcol)
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("MKCOL with %s: %d %s", c.what, resp.StatusCode, body)
		}
		if resp, body := e.do(t, "alice", "DELETE", office, nil, ""); resp.StatusCode != http.StatusNoContent {
			t.Fatalf("DELETE: %d %s", resp.StatusCode, body)
		}
	}
}
