package server

import (
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// TestGoldenResponses pins the XML of the responses clients depend on most:
// discovery, multiget and sync-collection. Run with -update to rewrite the
// files after an intended change, and review the diff.
func TestGoldenResponses(t *testing.T) {
	e := newTestEnv(t)
	const book = "/dav/addressbooks/alice/contacts/"
	for _, uid := range []string{"golden-1", "golden-2"} {
		e.do(t, "alice", "PUT", book+uid+".vcf", nil, testCard(uid, "Person "+uid))
	}
	e.do(t, "alice", "DELETE", book+"golden-2.vcf", nil, "")
	epoch := epochOf(t, e)
	col, err := e.store.Collection("alice", "contacts")
	if err != nil {
		t.Fatal(err)
	}
	created := strconv.FormatUint(col.CreatedSeq, 10)
	cases := []struct {
		name, method, path, depth, body string
	}{
		{"discovery-root", "PROPFIND", "/dav/", "0", `<D:propfind xmlns:D="DAV:"><D:prop><D:current-user-principal/><D:resourcetype/></D:prop></D:propfind>`},
		{"discovery-principal", "PROPFIND", "/dav/principals/alice/", "0", `<D:propfind xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:prop><D:resourcetype/><D:displayname/><D:principal-URL/><C:addressbook-home-set/><D:current-user-principal/></D:prop></D:propfind>`},
		{"discovery-home", "PROPFIND", "/dav/addressbooks/alice/", "1", `<D:propfind xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav" xmlns:CS="http://calendarserver.org/ns/"><D:prop><D:resourcetype/><D:displayname/><D:sync-token/><CS:getctag/><D:supported-report-set/><C:supported-address-data/><D:current-user-privilege-set/></D:prop></D:propfind>`},
		{"multiget", "REPORT", book, "1", `<C:addressbook-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:prop><D:getetag/><C:address-data/></D:prop><D:href>` + book + `golden-1.vcf</D:href><D:href>` + book + `missing.vcf</D:href></C:addressbook-multiget>`},
		{"sync-initial", "REPORT", book, "", `<D:sync-collection xmlns:D="DAV:"><D:sync-token/><D:sync-level>1</D:sync-level><D:prop><D:getetag/></D:prop></D:sync-collection>`},
		{"sync-incremental", "REPORT", book, "", `<D:sync-collection xmlns:D="DAV:"><D:sync-token>data:,pv1-` + epoch + `-` + created + `</D:sync-token><D:sync-level>1</D:sync-level><D:prop><D:getetag/></D:prop></D:sync-collection>`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			hdr := map[string]string{}
			if tc.depth != "" {
				hdr["Depth"] = tc.depth
			}
			resp, body := e.do(t, "alice", tc.method, tc.path, hdr, tc.body)
			got := strings.ReplaceAll(resp.Status+"\n"+body, epoch, "EPOCH")
			path := filepath.Join("..", "testdata", "golden", tc.name+".xml")
			if *update {
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./server -run TestGoldenResponses -update to create it)", err)
			}
			if got != string(want) {
				t.Fatalf("response differs from %s:\ngot:\n%s\nwant:\n%s", path, got, want)
			}
		})
	}
}
