package main

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/emersion/go-vcard"
	"github.com/emersion/go-webdav"
	"github.com/emersion/go-webdav/carddav"
)

// TestRealBinaryCardDAV: the first start creates a user and prints its
// password once; go-webdav's CardDAV client discovers, creates an address
// book, puts, queries, multigets and syncs; the sync token still works after a
// graceful restart.
func TestRealBinaryCardDAV(t *testing.T) {
	dir := t.TempDir()
	rs := startServer(t, dir, "--user", "carol")
	if rs.password == "" {
		t.Fatalf("first start printed no password")
	}
	ctx := context.Background()
	hc := webdav.HTTPClientWithBasicAuth(http.DefaultClient, "carol", rs.password)
	wc, _ := webdav.NewClient(hc, rs.url+"/dav/")
	principal, err := wc.FindCurrentUserPrincipal(ctx)
	if err != nil || principal != "/dav/principals/carol/" {
		t.Fatalf("principal: %q %v", principal, err)
	}
	cc, _ := carddav.NewClient(hc, rs.url)
	home, err := cc.FindAddressBookHomeSet(ctx, principal)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("MKCOL", rs.url+home+"friends/", strings.NewReader(
		`<D:mkcol xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:set><D:prop><D:resourcetype><D:collection/><C:addressbook/></D:resourcetype><D:displayname>Friends</D:displayname></D:prop></D:set></D:mkcol>`))
	resp, err := hc.Do(req)
	if err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("mkcol: %v %v", resp, err)
	}
	resp.Body.Close()
	books, err := cc.FindAddressBooks(ctx, home)
	if err != nil || len(books) != 2 {
		t.Fatalf("books: %+v %v (want the default and Friends)", books, err)
	}
	const book = "/dav/addressbooks/carol/friends/"
	first, err := cc.SyncCollection(ctx, book, &carddav.SyncQuery{})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"Dora", "Emil", "Fritz"} {
		c := vcard.Card{}
		c.SetValue(vcard.FieldVersion, "4.0")
		c.SetValue(vcard.FieldUID, strings.ToLower(name))
		c.SetValue(vcard.FieldFormattedName, name)
		if _, err := cc.PutAddressObject(ctx, book+strings.ToLower(name)+".vcf", c); err != nil {
			t.Fatalf("put %s: %v", name, err)
		}
	}
	found, err := cc.QueryAddressBook(ctx, book, &carddav.AddressBookQuery{
		DataRequest: carddav.AddressDataRequest{AllProp: true},
		PropFilters: []carddav.PropFilter{{Name: vcard.FieldFormattedName, TextMatches: []carddav.TextMatch{{Text: "mi"}}}},
	})
	if err != nil || len(found) != 1 || found[0].Card.Value(vcard.FieldFormattedName) != "Emil" {
		t.Fatalf("query FN contains mi: %+v %v", found, err)
	}
	multi, err := cc.MultiGetAddressBook(ctx, book, &carddav.AddressBookMultiGet{Paths: []string{book + "dora.vcf", book + "fritz.vcf"}})
	if err != nil || len(multi) != 2 {
		t.Fatalf("multiget: %d %v", len(multi), err)
	}
	delta, err := cc.SyncCollection(ctx, book, &carddav.SyncQuery{SyncToken: first.SyncToken})
	if err != nil || len(delta.Updated) != 3 {
		t.Fatalf("sync: %+v %v", delta, err)
	}
	rs.stop(t)

	rs2 := startServer(t, dir)
	if rs2.password != "" {
		t.Fatalf("a restart printed a new password")
	}
	hc2 := webdav.HTTPClientWithBasicAuth(http.DefaultClient, "carol", rs.password)
	cc2, _ := carddav.NewClient(hc2, rs2.url)
	after, err := cc2.SyncCollection(ctx, book, &carddav.SyncQuery{SyncToken: delta.SyncToken})
	if err != nil || len(after.Updated)+len(after.Deleted) != 0 || after.SyncToken != delta.SyncToken {
		t.Fatalf("sync after restart with the old token: %+v %v", after, err)
	}
	got, err := cc2.GetAddressObject(ctx, book+"emil.vcf")
	if err != nil || got.Card.Value(vcard.FieldFormattedName) != "Emil" {
		t.Fatalf("get after restart: %+v %v", got, err)
	}
	rs2.stop(t)
}
