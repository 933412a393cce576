package server

import (
	"net/http"
	"strings"
	"testing"
)

// TestHostileRequests: each request is refused with the expected status and
// changes nothing in the store.
func TestHostileRequests(t *testing.T) {
	e := newTestEnv(t)
	const book = "/dav/addressbooks/alice/contacts/"
	if resp, _ := e.do(t, "bob", "PUT", "/dav/addressbooks/bob/contacts/secret.vcf", nil, testCard("secret", "Bob's secret")); resp.StatusCode != http.StatusCreated {
		t.Fatalf("seed bob: %d", resp.StatusCode)
	}
	if resp, _ := e.do(t, "alice", "PUT", book+"mine.vcf", nil, testCard("mine", "Alice")); resp.StatusCode != http.StatusCreated {
		t.Fatalf("seed alice: %d", resp.StatusCode)
	}
	deep := strings.Repeat("<D:x>", 100) + strings.Repeat("</D:x>", 100)
	cases := []struct {
		name, user, method, path string
		hdr                      map[string]string
		body                     string
		status                   int
		want                     string // in the body (a precondition element); "" for any
		hide                     string // never in the body
	}{
		{"no auth", "", "PROPFIND", book, nil, "", http.StatusUnauthorized, "", ""},
		{"other user's book", "alice", "PROPFIND", "/dav/addressbooks/bob/contacts/", map[string]string{"Depth": "1"}, "", http.StatusNotFound, "", "secret"},
		{"other user's object", "alice", "GET", "/dav/addressbooks/bob/contacts/secret.vcf", nil, "", http.StatusNotFound, "", "secret"},
		{"other user's home", "alice", "PROPFIND", "/dav/addressbooks/bob/", nil, "", http.StatusNotFound, "", "secret"},
		{"put into other user", "alice", "PUT", "/dav/addressbooks/bob/contacts/x.vcf", nil, testCard("x", "x"), http.StatusNotFound, "", ""},
		{"delete other user's", "alice", "DELETE", "/dav/addressbooks/bob/contacts/secret.vcf", nil, "", http.StatusNotFound, "", ""},
		{"dotdot", "alice", "GET", book + "..%2F..%2Fbob%2Fcontacts%2Fsecret.vcf", nil, "", http.StatusNotFound, "", "secret"},
		{"encoded slash", "alice", "PUT", book + "a%2Fb.vcf", nil, testCard("y", "y"), http.StatusNotFound, "", ""},
		{"double slash", "alice", "PUT", "/dav/addressbooks/alice//contacts/z.vcf", nil, testCard("z", "z"), http.StatusNotFound, "", ""},
		{"encoded dotdot segment", "alice", "PROPFIND", "/dav/addressbooks/alice/%2E%2E/bob/", nil, "", http.StatusNotFound, "", "secret"},
		{"other user's href in multiget", "alice", "REPORT", book, nil,
			`<C:addressbook-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:prop><C:address-data/></D:prop><D:href>/dav/addressbooks/bob/contacts/secret.vcf</D:href><D:href>/dav/addressbooks/alice/contacts/../../bob/contacts/secret.vcf</D:href></C:addressbook-multiget>`,
			http.StatusMultiStatus, "404 Not Found", "Bob"},
		{"oversize body", "alice", "PUT", book + "big.vcf", nil, testCard("big", strings.Repeat("x", 11<<20)), http.StatusForbidden, "max-resource-size", ""},
		{"deep XML", "alice", "PROPFIND", book, map[string]string{"Depth": "1"}, `<D:propfind xmlns:D="DAV:">` + deep + `</D:propfind>`, http.StatusBadRequest, "", ""},
		{"malformed XML", "alice", "PROPFIND", book, map[string]string{"Depth": "1"}, `<D:propfind xmlns:D="DAV:"><D:prop>`, http.StatusBadRequest, "", ""},
		{"entity expansion", "alice", "PROPFIND", book, map[string]string{"Depth": "1"}, `<!DOCTYPE x [<!ENTITY a "aaaa">]><D:propfind xmlns:D="DAV:"><D:prop><D:getetag/></D:prop></D:propfind>`, http.StatusBadRequest, "", ""},
		{"unknown report", "alice", "REPORT", book, nil, `<D:expand-property xmlns:D="DAV:"/>`, http.StatusForbidden, "supported-report", ""},
		{"invalid vcard", "alice", "PUT", book + "bad.vcf", nil, "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:no end\r\n", http.StatusForbidden, "valid-address-data", ""},
		{"vcard without uid", "alice", "PUT", book + "nouid.vcf", nil, "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:x\r\nEND:VCARD\r\n", http.StatusForbidden, "valid-address-data", ""},
		{"vcard 2.1 in an unknown charset", "alice", "PUT", book + "old.vcf", nil, "BEGIN:VCARD\r\nVERSION:2.1\r\nN;CHARSET=SHIFT_JIS:x;y\r\nUID:old\r\nEND:VCARD\r\n", http.StatusForbidden, "supported-address-data", ""},
		{"vcard 1.0", "alice", "PUT", book + "older.vcf", nil, "BEGIN:VCARD\r\nVERSION:1.0\r\nUID:old\r\nFN:x\r\nEND:VCARD\r\n", http.StatusForbidden, "", ""},
		{"two vcards", "alice", "PUT", book + "two.vcf", nil, testCard("t1", "a") + testCard("t2", "b"), http.StatusForbidden, "", ""},
		{"calendar into address book", "alice", "PUT", book + "ev.ics", map[string]string{"Content-Type": "text/calendar"}, "BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n", http.StatusForbidden, "", ""},
		{"uid conflict", "alice", "PUT", book + "dup.vcf", nil, testCard("mine", "dup"), http.StatusForbidden, "no-uid-conflict", ""},
		{"if-match mismatch", "alice", "PUT", book + "mine.vcf", map[string]string{"If-Match": `"nope"`}, testCard("mine", "changed"), http.StatusPreconditionFailed, "", ""},
		{"if-none-match on existing", "alice", "PUT", book + "mine.vcf", map[string]string{"If-None-Match": "*"}, testCard("mine", "changed"), http.StatusPreconditionFailed, "", ""},
		{"proppatch protected", "alice", "PROPPATCH", book, nil, `<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><D:getetag>x</D:getetag><D:displayname>ok</D:displayname></D:prop></D:set></D:propertyupdate>`, http.StatusMultiStatus, "cannot-modify-protected-property", "200 OK"},
		{"move to other user", "alice", "MOVE", book + "mine.vcf", map[string]string{"Destination": "/dav/addressbooks/bob/contacts/stolen.vcf"}, "", http.StatusBadGateway, "", ""},
		{"mkcol in other home", "alice", "MKCOL", "/dav/addressbooks/bob/new/", nil, "", http.StatusNotFound, "", ""},
		{"unsupported method", "alice", "LOCK", book + "mine.vcf", nil, "", http.StatusMethodNotAllowed, "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := e.store.Head()
			hashBefore, _, _ := e.store.StateHash()
			resp, body := e.do(t, tc.user, tc.method, tc.path, tc.hdr, tc.body)
			if resp.StatusCode != tc.status {
				t.Fatalf("got %d, want %d; body: %.300s", resp.StatusCode, tc.status, body)
			}
			if tc.hide != "" && strings.Contains(body, tc.hide) {
				t.Fatalf("response reveals %q: %.300s", tc.hide, body)
			}
			if !strings.Contains(body, tc.want) {
				t.Fatalf("response lacks %q: %.300s", tc.want, body)
			}
			hashAfter, _, _ := e.store.StateHash()
			if e.store.Head() != before || hashAfter != hashBefore {
				t.Fatalf("refused request changed the store: head %d → %d", before, e.store.Head())
			}
		})
	}
}
