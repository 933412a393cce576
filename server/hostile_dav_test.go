package server

import (
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/pimvault/pimvault/server/internal/dav"
	"github.com/pimvault/pimvault/storage"
	"github.com/pimvault/pimvault/syncproto"
)

// wellFormed fails unless body is one well-formed XML document.
func wellFormed(body string) error {
	d := xml.NewDecoder(strings.NewReader(body))
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if se, ok := tok.(xml.StartElement); ok {
			seen := map[xml.Name]bool{}
			for _, a := range se.Attr {
				if seen[a.Name] {
					return fmt.Errorf("attribute %v twice on <%s>", a.Name, se.Name.Local)
				}
				seen[a.Name] = true
			}
		}
	}
}

func propfindOf(ns string, n int, name func(i int) string) string {
	var b strings.Builder
	b.WriteString(`<D:propfind xmlns:D="DAV:" xmlns:Z="` + ns + `"><D:prop>`)
	for i := range n {
		b.WriteString("<Z:" + name(i) + "/>")
	}
	b.WriteString("</D:prop></D:propfind>")
	return b.String()
}

// TestHostileDAV: hostile requests against the DAV tree, /api/ and the files
// area. Each is answered as the RFCs and docs/ARCHITECTURE.md say, every
// 207 is well-formed XML, and a refused request changes nothing.
func TestHostileDAV(t *testing.T) {
	e := newTestEnv(t)
	const book = "/dav/addressbooks/alice/contacts/"
	const files = "/dav/files/alice/"
	vcf := map[string]string{"Content-Type": "text/vcard"}
	// bob's real token, taken after alice's book was made and before her
	// last changes: a position inside alice's change index too.
	e.do(t, "alice", "PUT", book+"a0.vcf", vcf, testCard("a0", "a0"))
	e.do(t, "bob", "PUT", "/dav/addressbooks/bob/contacts/b.vcf", vcf, testCard("b", "B"))
	_, body := e.do(t, "bob", "REPORT", "/dav/addressbooks/bob/contacts/", nil, syncReport(""))
	bobTok := between(body, "<D:sync-token>", "</D:sync-token>")
	for _, uid := range []string{"a1", "a2", "a3"} {
		e.do(t, "alice", "PUT", book+uid+".vcf", vcf, testCard(uid, uid))
	}
	for name, ct := range map[string]string{"page.html": "text/html", "pic.svg": "image/svg+xml", "x.xhtml": "application/xhtml+xml", "s.js": "text/javascript", "d.xml": "application/xml", "n.txt": "text/plain; charset=utf-8"} {
		if resp, _ := e.do(t, "alice", "PUT", files+name, map[string]string{"Content-Type": ct}, "<script>alert(1)</script>"); resp.StatusCode != http.StatusCreated {
			t.Fatalf("PUT %s: %d", name, resp.StatusCode)
		}
	}
	longNS := "urn:" + strings.Repeat("n", 20000)
	many := func(i int) string { return fmt.Sprintf("p%d", i) }
	attrs := `<Z:tagged xmlns:Z="urn:z"><Z:inner`
	for i := range 12 {
		attrs += fmt.Sprintf(` xmlns:q%d="urn:q%d" q%d:a="%d"`, i, i, i, i)
	}
	attrs += `>v</Z:inner></Z:tagged>`
	undo := `{"collection":"contacts","to_seq":1,"apply":true,"confirm":true}`

	cases := []struct {
		name, user, method, path string
		hdr                      map[string]string
		body                     string
		status                   int
		want                     string            // in the body; "" for any
		wantHdr                  map[string]string // headers the answer must carry ("" for absent)
		changes                  bool              // the request may change the store
		then                     func(t *testing.T)
	}{
		// Property caps and namespaces (the 5,000-property, 20,000-character namespace PROPFIND).
		{name: "5000 properties in a long namespace", user: "alice", method: "PROPFIND", path: book, hdr: map[string]string{"Depth": "1"},
			body: propfindOf(longNS, 5000, many), status: http.StatusRequestEntityTooLarge, want: "max-properties"},
		{name: "1001 distinct properties", user: "alice", method: "PROPFIND", path: book, hdr: map[string]string{"Depth": "0"},
			body: propfindOf("urn:z", dav.MaxPropNames+1, many), status: http.StatusRequestEntityTooLarge, want: "max-properties"},
		{name: "property names over 64 KiB", user: "alice", method: "PROPFIND", path: book, hdr: map[string]string{"Depth": "0"},
			body: propfindOf("urn:z", 100, func(i int) string { return fmt.Sprintf("p%d%s", i, strings.Repeat("x", 700)) }), status: http.StatusRequestEntityTooLarge, want: "max-properties"},
		{name: "5000 duplicates answered once", user: "alice", method: "PROPFIND", path: book + "a1.vcf", hdr: map[string]string{"Depth": "0"},
			body: `<D:propfind xmlns:D="DAV:"><D:prop>` + strings.Repeat("<D:getetag/>", 5000) + `</D:prop></D:propfind>`, status: http.StatusMultiStatus, want: "<D:getetag>"},
		{name: "long namespace declared once per multistatus", user: "alice", method: "PROPFIND", path: book, hdr: map[string]string{"Depth": "1"},
			body: propfindOf(longNS, 200, many), status: http.StatusMultiStatus, want: `xmlns:N0="` + longNS + `">`},
		{name: "PROPPATCH of 1001 properties", user: "alice", method: "PROPPATCH", path: book,
			body: `<D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:z"><D:set><D:prop>` + func() string {
				var b strings.Builder
				for i := range dav.MaxPropNames + 1 {
					fmt.Fprintf(&b, "<Z:p%d>v</Z:p%d>", i, i)
				}
				return b.String()
			}() + `</D:prop></D:set></D:propertyupdate>`, status: http.StatusRequestEntityTooLarge, want: "max-properties"},
		{name: "sync-collection asking 5000 properties", user: "alice", method: "REPORT", path: book,
			body: `<D:sync-collection xmlns:D="DAV:" xmlns:Z="` + longNS + `"><D:sync-token/><D:sync-level>1</D:sync-level><D:prop>` + strings.Repeat("<D:getetag/>", 3) + func() string {
				var b strings.Builder
				for i := range 5000 {
					fmt.Fprintf(&b, "<Z:p%d/>", i)
				}
				return b.String()
			}() + `</D:prop></D:sync-collection>`, status: http.StatusRequestEntityTooLarge, want: "max-properties"},
		{name: "multiget with duplicate properties", user: "alice", method: "REPORT", path: book,
			body:   `<C:addressbook-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:prop>` + strings.Repeat("<D:getetag/>", 500) + `</D:prop><D:href>/dav/addressbooks/alice/contacts/a1.vcf</D:href></C:addressbook-multiget>`,
			status: http.StatusMultiStatus, want: "<D:getetag>"},
		// Well-formed XML always.
		{name: "dead property with 12 namespaced attributes", user: "alice", method: "PROPPATCH", path: book,
			body: `<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop>` + attrs + `</D:prop></D:set></D:propertyupdate>`, status: http.StatusMultiStatus, want: "200 OK", changes: true,
			then: func(t *testing.T) {
				for path, depth := range map[string]string{book: "0", "/dav/addressbooks/alice/": "1"} {
					resp, body := e.do(t, "alice", "PROPFIND", path, map[string]string{"Depth": depth}, "")
					if err := wellFormed(body); resp.StatusCode != http.StatusMultiStatus || err != nil || !strings.Contains(body, `a11:a="11"`) {
						t.Fatalf("allprop PROPFIND %s Depth %s after the dead property: %d, %v\n%s", path, depth, resp.StatusCode, err, body)
					}
				}
			}},
		{name: "dead property with a repeated attribute", user: "alice", method: "PROPPATCH", path: book,
			body: `<D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:z" xmlns:y="urn:y" xmlns:w="urn:y"><D:set><D:prop><Z:d y:a="1" w:a="2">v</Z:d></D:prop></D:set></D:propertyupdate>`, status: http.StatusBadRequest},
		{name: "PROPPATCH value with a C0 control", user: "alice", method: "PROPPATCH", path: book,
			body: `<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><D:displayname>a&#1;b</D:displayname></D:prop></D:set></D:propertyupdate>`, status: http.StatusBadRequest, want: "U+0001"},
		{name: "PROPPATCH attribute with U+FFFE", user: "alice", method: "PROPPATCH", path: book,
			body: "<D:propertyupdate xmlns:D=\"DAV:\" xmlns:Z=\"urn:z\"><D:set><D:prop><Z:x a=\"\uFFFE\">v</Z:x></D:prop></D:set></D:propertyupdate>", status: http.StatusBadRequest, want: "U+FFFE"},
		{name: "vCard with U+FFFE", user: "alice", method: "PUT", path: book + "fffe.vcf", hdr: vcf, body: testCard("fffe", "a\uFFFEb"), status: http.StatusForbidden, want: "valid-address-data"},
		{name: "vCard with U+FFFF", user: "alice", method: "PUT", path: book + "ffff.vcf", hdr: vcf, body: testCard("ffff", "a\uFFFFb"), status: http.StatusForbidden, want: "valid-address-data"},
		{name: "vCard with ESC", user: "alice", method: "PUT", path: book + "esc.vcf", hdr: vcf, body: testCard("esc", "a\x1bb"), status: http.StatusForbidden, want: "valid-address-data"},
		{name: "vCard with a lone surrogate", user: "alice", method: "PUT", path: book + "sur.vcf", hdr: vcf, body: testCard("sur", "a\xed\xa0\x80b"), status: http.StatusForbidden, want: "valid-address-data"},
		// Destination on another origin (RFC 4918 §9.8.5, §9.9.4).
		{name: "MOVE to another host", user: "alice", method: "MOVE", path: book + "a1.vcf", hdr: map[string]string{"Destination": "http://evil.example" + book + "moved.vcf"}, status: http.StatusBadGateway},
		{name: "COPY to another port", user: "alice", method: "COPY", path: book + "a1.vcf", hdr: map[string]string{"Destination": "http://127.0.0.1:1" + book + "copied.vcf"}, status: http.StatusBadGateway},
		{name: "COPY to another scheme", user: "alice", method: "COPY", path: book + "a1.vcf", hdr: map[string]string{"Destination": strings.Replace(e.srv.URL, "http:", "https:", 1) + book + "copied.vcf"}, status: http.StatusBadGateway},
		{name: "MOVE without Destination", user: "alice", method: "MOVE", path: book + "a1.vcf", status: http.StatusBadRequest},
		{name: "files COPY to another host", user: "alice", method: "COPY", path: files + "n.txt", hdr: map[string]string{"Destination": "http://evil.example" + files + "c.txt"}, status: http.StatusBadGateway},
		{name: "COPY on this origin still works", user: "alice", method: "COPY", path: book + "a1.vcf", hdr: map[string]string{"Destination": e.srv.URL + book + "copied.vcf"}, status: http.StatusForbidden, want: "no-uid-conflict"},
		// Tokens bound to their collection.
		{name: "bob's token on alice's collection", user: "alice", method: "REPORT", path: book, body: syncReport(bobTok), status: http.StatusForbidden, want: "valid-sync-token"},
		{name: "alice's token rebound to bob's book", user: "bob", method: "REPORT", path: "/dav/addressbooks/bob/contacts/", body: syncReport(func() string {
			tok, _ := syncproto.Parse(bobTok)
			tok.Bind = syncproto.Bind("alice", "contacts")
			return syncproto.Format(tok)
		}()), status: http.StatusForbidden, want: "valid-sync-token"},
		// Browser safety of /api/.
		{name: "cross-site text/plain undo", user: "alice", method: "POST", path: "/api/undo", hdr: map[string]string{"Content-Type": "text/plain", "Origin": "https://evil.example"}, body: undo, status: http.StatusForbidden},
		{name: "cross-site JSON undo by Sec-Fetch-Site", user: "alice", method: "POST", path: "/api/undo", hdr: map[string]string{"Content-Type": "application/json", "Sec-Fetch-Site": "cross-site"}, body: undo, status: http.StatusForbidden},
		{name: "null Origin undo", user: "alice", method: "POST", path: "/api/undo", hdr: map[string]string{"Content-Type": "application/json", "Origin": "null"}, body: undo, status: http.StatusForbidden},
		{name: "text/plain undo without Origin", user: "alice", method: "POST", path: "/api/undo", hdr: map[string]string{"Content-Type": "text/plain"}, body: undo, status: http.StatusUnsupportedMediaType},
		{name: "form undo", user: "alice", method: "POST", path: "/api/undo", hdr: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, body: undo, status: http.StatusUnsupportedMediaType},
		{name: "same-origin JSON preview", user: "alice", method: "POST", path: "/api/undo", hdr: map[string]string{"Content-Type": "application/json", "Origin": e.srv.URL, "Sec-Fetch-Site": "same-origin"}, body: `{"collection":"contacts","to_seq":1}`, status: http.StatusOK},
		// The files area never runs uploaded content as this origin.
		{name: "files HTML", user: "alice", method: "GET", path: files + "page.html", status: http.StatusOK,
			wantHdr: map[string]string{"X-Content-Type-Options": "nosniff", "Content-Security-Policy": "sandbox", "Content-Disposition": "attachment"}},
		{name: "files SVG", user: "alice", method: "GET", path: files + "pic.svg", status: http.StatusOK, wantHdr: map[string]string{"Content-Disposition": "attachment", "X-Content-Type-Options": "nosniff"}},
		{name: "files XHTML", user: "alice", method: "GET", path: files + "x.xhtml", status: http.StatusOK, wantHdr: map[string]string{"Content-Disposition": "attachment"}},
		{name: "files JavaScript", user: "alice", method: "GET", path: files + "s.js", status: http.StatusOK, wantHdr: map[string]string{"Content-Disposition": "attachment"}},
		{name: "files XML", user: "alice", method: "GET", path: files + "d.xml", status: http.StatusOK, wantHdr: map[string]string{"Content-Disposition": "attachment"}},
		{name: "files text inline", user: "alice", method: "GET", path: files + "n.txt", status: http.StatusOK,
			wantHdr: map[string]string{"Content-Disposition": "", "X-Content-Type-Options": "nosniff", "Content-Security-Policy": "sandbox"}},
		{name: "files listing", user: "alice", method: "PROPFIND", path: files, hdr: map[string]string{"Depth": "1"}, status: http.StatusMultiStatus, wantHdr: map[string]string{"X-Content-Type-Options": "nosniff"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := e.store.Head()
			hashBefore, _, _ := e.store.StateHash()
			resp, body := e.do(t, tc.user, tc.method, tc.path, tc.hdr, tc.body)
			if resp.StatusCode != tc.status {
				t.Fatalf("got %d, want %d; body: %.300s", resp.StatusCode, tc.status, body)
			}
			if !strings.Contains(body, tc.want) {
				t.Fatalf("response lacks %q: %.300s", tc.want, body)
			}
			for k, v := range tc.wantHdr {
				if got := resp.Header.Get(k); got != v {
					t.Fatalf("header %s = %q, want %q", k, got, v)
				}
			}
			if resp.StatusCode == http.StatusMultiStatus || strings.Contains(resp.Header.Get("Content-Type"), "xml") {
				if err := wellFormed(body); err != nil {
					t.Fatalf("answer is not well-formed XML: %v\n%.300s", err, body)
				}
			}
			if strings.Contains(tc.name, "declared once") && strings.Count(body, longNS) != 1 {
				t.Fatalf("the long namespace is written %d times", strings.Count(body, longNS))
			}
			if strings.Contains(tc.name, "duplicate") && strings.Count(body, "getetag") != 2 {
				t.Fatalf("getetag answered %d times, want once", strings.Count(body, "getetag")/2)
			}
			hashAfter, _, _ := e.store.StateHash()
			if !tc.changes && (e.store.Head() != before || hashAfter != hashBefore) {
				t.Fatalf("refused request changed the store: head %d → %d", before, e.store.Head())
			}
			if tc.then != nil {
				tc.then(t)
			}
		})
	}
}

// TestHostileDeviceRotation: a client sending a new X-Pimvault-Device with
// every request gets a few ids recorded, not one per request, and the
// account's real device stays in the registry.
func TestHostileDeviceRotation(t *testing.T) {
	e := newTestEnv(t)
	if resp, _ := e.do(t, "alice", "PROPFIND", "/dav/addressbooks/alice/", dev("real-phone", "Depth", "0"), ""); resp.StatusCode != http.StatusMultiStatus {
		t.Fatalf("real device: %d", resp.StatusCode)
	}
	head := e.store.Head()
	for i := range 300 {
		if resp, _ := e.do(t, "alice", "PROPFIND", "/dav/addressbooks/alice/", dev(fmt.Sprintf("rot-%d", i), "Depth", "0"), ""); resp.StatusCode != http.StatusMultiStatus {
			t.Fatalf("rotated device %d: %d", i, resp.StatusCode)
		}
	}
	st, err := e.store.PrincipalState("alice")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := st.Devices["real-phone"]; !ok || len(st.Devices) > storage.NewDevicesPerDay {
		t.Fatalf("registry after 300 rotated ids: %d devices, real phone kept %v", len(st.Devices), ok)
	}
	if grew := e.store.Head() - head; grew > storage.NewDevicesPerDay {
		t.Fatalf("300 rotated ids wrote %d journal records", grew)
	}
}
