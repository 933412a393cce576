package device

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

const listingXML = `<?xml version="1.0" encoding="utf-8"?>
<D:multistatus xmlns:D="DAV:">
<D:response><D:href>/dav/addressbooks/u/contacts/a%20b.vcf</D:href><D:propstat><D:prop><D:getetag>"e1"</D:getetag></D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response>
<D:response><D:href>http://h/dav/addressbooks/u/contacts/gone.vcf</D:href><D:status>HTTP/1.1 404 Not Found</D:status></D:response>
<D:response><D:href>/dav/addressbooks/u/contacts/</D:href><D:status>HTTP/1.1 507 Insufficient Storage</D:status></D:response>
<D:sync-token>data:,pv1-ab-7</D:sync-token>
</D:multistatus>`

func TestParseSyncListing(t *testing.T) {
	l, err := parseSyncListing([]byte(listingXML), book)
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Members) != 1 || l.Members[0] != (Member{Href: book + "a b.vcf", ETag: "e1"}) {
		t.Errorf("members %+v", l.Members)
	}
	if len(l.Deleted) != 1 || l.Deleted[0] != book+"gone.vcf" || l.Token != "data:,pv1-ab-7" {
		t.Errorf("deleted %v token %q", l.Deleted, l.Token)
	}
	for name, bad := range map[string]string{
		"no token":     strings.Replace(listingXML, "<D:sync-token>data:,pv1-ab-7</D:sync-token>", "", 1),
		"outside href": strings.Replace(listingXML, "/dav/addressbooks/u/contacts/a%20b.vcf", "/dav/addressbooks/eve/x/a.vcf", 1),
		"no etag":      strings.Replace(listingXML, `<D:getetag>"e1"</D:getetag>`, "", 1),
		"not xml":      "<D:multistatus",
	} {
		if _, err := parseSyncListing([]byte(bad), book); err == nil {
			t.Errorf("%s: parsed without an error", name)
		}
	}
}

func TestParseMultigetKeepsCRLF(t *testing.T) {
	body := `<D:multistatus xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:response><D:href>` + book + `x.vcf</D:href><D:propstat><D:prop><D:getetag>"e"</D:getetag><C:address-data>BEGIN:VCARD&#13;
UID:x&#13;
END:VCARD&#13;
</C:address-data></D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response></D:multistatus>`
	got, err := parseMultiget([]byte(body))
	if err != nil || len(got) != 1 || string(got[0].Body) != "BEGIN:VCARD\r\nUID:x\r\nEND:VCARD\r\n" {
		t.Fatalf("multiget parse: %+v %v", got, err)
	}
}

func FuzzParseSyncListing(f *testing.F) {
	f.Add([]byte(listingXML))
	f.Add([]byte(`<D:multistatus xmlns:D="DAV:"><D:sync-token/></D:multistatus>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		l, err := parseSyncListing(data, book)
		if err != nil {
			return
		}
		for _, m := range l.Members {
			if !strings.HasPrefix(m.Href, book) || m.ETag == "" {
				t.Fatalf("accepted member %+v", m)
			}
		}
		parseMultiget(data)
		parseDAVError(data)
	})
}

// Every request carries the device id and credentials; answers' epoch
// headers and preconditions reach the engine.
func TestHTTPTransportHeaders(t *testing.T) {
	var seen []string
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, p, _ := r.BasicAuth()
		seen = append(seen, r.Method+" "+r.Header.Get(HeaderDevice)+" "+u+":"+p)
		w.Header().Set(HeaderEpoch, "ab")
		switch r.Method {
		case "PUT":
			if r.Header.Get("If-None-Match") == "*" {
				w.Header().Set("ETag", `"e9"`)
				w.Header().Set(HeaderExisting, "/dav/addressbooks/u/contacts/other.vcf")
				w.WriteHeader(200)
				return
			}
			w.WriteHeader(409)
			w.Write([]byte(`<D:error xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><C:no-uid-conflict><D:href>/dav/addressbooks/u/contacts/x.vcf</D:href></C:no-uid-conflict></D:error>`))
		case "REPORT":
			w.Header().Set(HeaderRecovering, "1")
			w.WriteHeader(409)
		case "DELETE":
			w.Header().Set("Retry-After", "42")
			w.WriteHeader(503)
		case "POST":
			w.WriteHeader(204)
		}
	}))
	defer ts.Close()
	tr, err := NewHTTPTransport(Config{Server: ts.URL, User: "u", Password: "pw", DeviceID: "dev-1"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	res, err := tr.Put(ctx, book+"a.vcf", AddressBook, vcard("a", ""), "", true)
	if err != nil || res.Existing != book+"other.vcf" || res.ETag != "e9" || res.Info.Epoch != "ab" {
		t.Errorf("dedup PUT: %+v %v", res, err)
	}
	_, err = tr.Put(ctx, book+"a.vcf", AddressBook, vcard("a", ""), "e1", false)
	if se := asStatus(err); se == nil || se.Code != 409 || se.Precondition != "no-uid-conflict" || se.ConflictHref != book+"x.vcf" {
		t.Errorf("409 PUT: %v", err)
	}
	_, err = tr.SyncCollection(ctx, book, "data:,pv1-aa-3")
	if se := asStatus(err); se == nil || se.Code != 409 || !se.Info.Recovering {
		t.Errorf("sync: %v", err)
	}
	_, err = tr.Delete(ctx, book+"a.vcf", "e1")
	if ok, ra := retryable(err); !ok || ra.Seconds() != 42 {
		t.Errorf("503 delete: retryable %v after %v (%v)", ok, ra, err)
	}
	if err := tr.RecoveryDone(ctx); err != nil {
		t.Error(err)
	}
	if len(seen) != 5 {
		t.Fatalf("requests %v", seen)
	}
	for _, s := range seen {
		if !strings.HasSuffix(s, " dev-1 u:pw") {
			t.Errorf("request %q lacks the device header or credentials", s)
		}
	}
}
