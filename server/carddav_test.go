package server

import (
	"context"
	"net/http"
	"sort"
	"strings"
	"testing"

	"github.com/emersion/go-vcard"
	"github.com/emersion/go-webdav"
	"github.com/emersion/go-webdav/carddav"
)

// TestGoWebDAVClientFlow drives the server with go-webdav's CardDAV client the
// way a phone does: discovery, put, get, multiget, incremental sync.
func TestGoWebDAVClientFlow(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	hc := webdav.HTTPClientWithBasicAuth(http.DefaultClient, "alice", testPassword)
	wc, err := webdav.NewClient(hc, e.srv.URL+"/dav/")
	if err != nil {
		t.Fatal(err)
	}
	principal, err := wc.FindCurrentUserPrincipal(ctx)
	if err != nil || principal != "/dav/principals/alice/" {
		t.Fatalf("current-user-principal: got %q, %v", principal, err)
	}
	cc, err := carddav.NewClient(hc, e.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	home, err := cc.FindAddressBookHomeSet(ctx, principal)
	if err != nil || home != "/dav/addressbooks/alice/" {
		t.Fatalf("addressbook-home-set: got %q, %v", home, err)
	}
	books, err := cc.FindAddressBooks(ctx, home)
	if err != nil || len(books) != 1 || books[0].Path != "/dav/addressbooks/alice/contacts/" || books[0].Name != "Contacts" {
		t.Fatalf("address books: got %+v, %v; want the default one", books, err)
	}
	book := books[0].Path

	initial, err := cc.SyncCollection(ctx, book, &carddav.SyncQuery{})
	if err != nil || len(initial.Updated) != 0 || initial.SyncToken == "" {
		t.Fatalf("initial sync of an empty book: %+v, %v", initial, err)
	}
	var paths []string
	for _, uid := range []string{"u1", "u2", "u3"} {
		c := vcard.Card{}
		c.SetValue(vcard.FieldVersion, "3.0")
		c.SetValue(vcard.FieldUID, uid)
		c.SetValue(vcard.FieldFormattedName, "Person "+uid)
		c.SetValue(vcard.FieldName, uid+";;;;")
		obj, err := cc.PutAddressObject(ctx, book+uid+".vcf", c)
		if err != nil {
			t.Fatalf("put %s: %v", uid, err)
		}
		paths = append(paths, obj.Path)
	}
	got, err := cc.GetAddressObject(ctx, paths[0])
	if err != nil || got.Card.Value(vcard.FieldUID) != "u1" || got.ETag == "" {
		t.Fatalf("get: %+v, %v", got, err)
	}
	multi, err := cc.MultiGetAddressBook(ctx, book, &carddav.AddressBookMultiGet{Paths: paths, DataRequest: carddav.AddressDataRequest{AllProp: true}})
	if err != nil {
		t.Fatalf("multiget: %v", err)
	}
	var uids []string
	for _, o := range multi {
		uids = append(uids, o.Card.Value(vcard.FieldUID))
	}
	sort.Strings(uids)
	if strings.Join(uids, ",") != "u1,u2,u3" {
		t.Fatalf("multiget: got uids %v, want u1,u2,u3", uids)
	}

	sync1, err := cc.SyncCollection(ctx, book, &carddav.SyncQuery{SyncToken: initial.SyncToken})
	if err != nil || len(sync1.Updated) != 3 || len(sync1.Deleted) != 0 {
		t.Fatalf("sync after 3 puts: %+v, %v", sync1, err)
	}
	if err := wc.RemoveAll(ctx, paths[1]); err != nil {
		t.Fatalf("delete: %v", err)
	}
	sync2, err := cc.SyncCollection(ctx, book, &carddav.SyncQuery{SyncToken: sync1.SyncToken})
	if err != nil || len(sync2.Updated) != 0 || len(sync2.Deleted) != 1 || sync2.Deleted[0] != paths[1] {
		t.Fatalf("sync after delete: %+v, %v; want one deletion of %s", sync2, err, paths[1])
	}
	sync3, err := cc.SyncCollection(ctx, book, &carddav.SyncQuery{SyncToken: sync2.SyncToken})
	if err != nil || len(sync3.Updated)+len(sync3.Deleted) != 0 || sync3.SyncToken != sync2.SyncToken {
		t.Fatalf("sync with nothing new: %+v, %v", sync3, err)
	}
}

func TestSyncCollectionPagingAndTokens(t *testing.T) {
	e := newTestEnv(t)
	const book = "/dav/addressbooks/alice/contacts/"
	for i := 0; i < 5; i++ {
		uid := string(rune('a' + i))
		if resp, _ := e.do(t, "alice", "PUT", book+uid+".vcf", map[string]string{"Content-Type": "text/vcard"}, testCard(uid, uid)); resp.StatusCode != http.StatusCreated {
			t.Fatalf("put %s: %d", uid, resp.StatusCode)
		}
	}
	syncBody := func(tok string, limit string) string {
		l := ""
		if limit != "" {
			l = "<D:limit><D:nresults>" + limit + "</D:nresults></D:limit>"
		}
		return `<D:sync-collection xmlns:D="DAV:"><D:sync-token>` + tok + `</D:sync-token><D:sync-level>1</D:sync-level>` + l + `<D:prop><D:getetag/></D:prop></D:sync-collection>`
	}
	resp, body := e.do(t, "alice", "REPORT", book, nil, syncBody("", "2"))
	if resp.StatusCode != http.StatusMultiStatus || strings.Count(body, "<D:getetag>") != 2 || !strings.Contains(body, "507") {
		t.Fatalf("first page: %d %s", resp.StatusCode, body)
	}
	tok := between(body, "<D:sync-token>", "</D:sync-token>")
	seen := 2
	for i := 0; i < 5 && strings.Contains(body, "507"); i++ {
		resp, body = e.do(t, "alice", "REPORT", book, nil, syncBody(tok, "2"))
		seen += strings.Count(body, "<D:getetag>")
		tok = between(body, "<D:sync-token>", "</D:sync-token>")
	}
	if seen != 5 {
		t.Fatalf("paging saw %d members, want 5", seen)
	}
	cases := []struct {
		name, token string
		status      int
		want        string
	}{
		{"malformed", "data:,garbage", http.StatusForbidden, "valid-sync-token"},
		{"empty epoch", "data:,pv1--3", http.StatusForbidden, "valid-sync-token"},
		{"negative seq", "data:,pv1-" + epochOf(t, e) + "--1", http.StatusForbidden, "valid-sync-token"},
		// These make alice RECOVERING (recovery_test.go), so they come last.
		{"future seq", "data:,pv1-" + epochOf(t, e) + "-999999", http.StatusServiceUnavailable, ""},
		{"unknown epoch", "data:,pv1-00000000deadbeef-3", http.StatusServiceUnavailable, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := e.do(t, "alice", "REPORT", book, nil, syncBody(tc.token, ""))
			if resp.StatusCode != tc.status || !strings.Contains(body, tc.want) {
				t.Fatalf("got %d %s, want %d with %q", resp.StatusCode, body, tc.status, tc.want)
			}
			if tc.status == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") == "" {
				t.Fatalf("503 without Retry-After")
			}
		})
	}
}

func epochOf(t *testing.T, e *testEnv) string {
	ep, _, err := e.store.Epoch()
	if err != nil {
		t.Fatal(err)
	}
	return ep
}

func between(s, a, b string) string {
	i := strings.Index(s, a)
	if i < 0 {
		return ""
	}
	s = s[i+len(a):]
	j := strings.Index(s, b)
	if j < 0 {
		return ""
	}
	return s[:j]
}
