package main

import (
	"net/http"
	"slices"
	"strings"
	"testing"
)

// TestScenarioDeletedCollectionStaysDeleted: a stock client deletes two
// address books the devices hold. A device that syncs afterwards learns of
// the deletions from the server's collection tombstones (410 to its
// MKCOL): the clean copy is deleted on the device instead of being created
// again on the server, and a collection in which the device edited an item
// since comes back holding only that edit (an edit wins over a deletion).
func TestScenarioDeletedCollectionStaysDeleted(t *testing.T) {
	skipIfShort(t, "the deleted-collection scenario (a stock client deletes address books two devices hold)")
	rs := startServer(t, t.TempDir(), "--user", "ivy")
	pw := rs.password
	mkcol := `<?xml version="1.0" encoding="utf-8"?><D:mkcol xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:set><D:prop><D:resourcetype><D:collection/><C:addressbook/></D:resourcetype></D:prop></D:set></D:mkcol>`
	for _, name := range []string{"office", "club"} {
		if resp, body := davDo(t, rs, "ivy", pw, "MKCOL", "/dav/addressbooks/ivy/"+name+"/", nil, mkcol); resp.StatusCode != http.StatusCreated {
			t.Fatalf("MKCOL %s: %d %s", name, resp.StatusCode, body)
		}
	}
	phone := newTestDevice(t, "phone", rs.url, "ivy", pw)
	laptop := newTestDevice(t, "laptop", rs.url, "ivy", pw)
	syncAll(t, 1, phone, laptop)
	phone.add(t, "office", vcardBody("o1", "Office 1", "v1"))
	phone.add(t, "office", vcardBody("o2", "Office 2", "v1"))
	phone.add(t, "club", vcardBody("c1", "Club 1", "v1"))
	phone.add(t, "club", vcardBody("c2", "Club 2", "v1"))
	syncAll(t, 2, phone, laptop)
	requireConverged(t, phone, laptop)

	// The laptop goes offline and edits c2; meanwhile a stock client
	// deletes both address books.
	laptop.edit(t, "club", "c2", vcardBody("c2", "Club 2", "laptop's offline edit"))
	for _, name := range []string{"office", "club"} {
		if resp, body := davDo(t, rs, "ivy", pw, "DELETE", "/dav/addressbooks/ivy/"+name+"/", nil, ""); resp.StatusCode != http.StatusNoContent {
			t.Fatalf("DELETE %s: %d %s", name, resp.StatusCode, body)
		}
	}

	rep := laptop.sync(t)
	if !slices.Contains(rep.DeletedCollections, "/dav/addressbooks/ivy/office/") {
		t.Fatalf("laptop: the deletion of office was not applied: %+v", rep)
	}
	resp, body := davDo(t, rs, "ivy", pw, "PROPFIND", "/dav/addressbooks/ivy/", map[string]string{"Depth": "1"}, "")
	if resp.StatusCode != http.StatusMultiStatus {
		t.Fatalf("PROPFIND home: %d %s", resp.StatusCode, body)
	}
	if strings.Contains(body, "/dav/addressbooks/ivy/office/") {
		t.Fatalf("the laptop brought the deleted address book back:\n%s", body)
	}
	st := laptop.state(t)
	for href := range st {
		if strings.Contains(href, "/office/") || strings.Contains(href, "/club/c1") {
			t.Fatalf("the laptop kept %s of a deleted address book: %v", href, keys(st))
		}
	}
	if !strings.Contains(st["/dav/addressbooks/ivy/club/c2.vcf"], "laptop's offline edit") {
		t.Fatalf("the laptop's offline edit in the deleted club was lost: %v", keys(st))
	}
	// The phone, which synced before the deletion, follows; both devices
	// converge on the server's state: no office, club with the edit only.
	syncAll(t, 2, phone, laptop)
	got := requireConverged(t, phone, laptop)
	for href := range got {
		if strings.Contains(href, "/office/") || href == "/dav/addressbooks/ivy/club/c1.vcf" {
			t.Fatalf("after both synced, %s is back: %v", href, keys(got))
		}
	}
	if _, ok := got["/dav/addressbooks/ivy/club/c2.vcf"]; !ok {
		t.Fatalf("after both synced, the edit is gone: %v", keys(got))
	}
}

func keys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
