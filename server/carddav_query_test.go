package server

import (
	"net/http"
	"sort"
	"strings"
	"testing"
)

func TestAddressbookQuery(t *testing.T) {
	e := newTestEnv(t)
	const book = "/dav/addressbooks/alice/contacts/"
	cards := map[string]string{
		"ann":   "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:ann\r\nFN:Ann Ärger\r\nEMAIL;TYPE=work:ann@example.com\r\nEND:VCARD\r\n",
		"bob":   "BEGIN:VCARD\r\nVERSION:4.0\r\nUID:bob\r\nFN:Bob Builder\r\nEMAIL;TYPE=home:bob@home.example\r\nTEL:+1 555\r\nEND:VCARD\r\n",
		"carla": "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:carla\r\nFN:CARLA\r\nNICKNAME:annie\r\nEND:VCARD\r\n",
	}
	for uid, c := range cards {
		if resp, _ := e.do(t, "alice", "PUT", book+uid+".vcf", nil, c); resp.StatusCode != http.StatusCreated {
			t.Fatalf("put %s: %d", uid, resp.StatusCode)
		}
	}
	q := func(filter, limit string) string {
		return `<C:addressbook-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:prop><D:getetag/></D:prop>` + filter + limit + `</C:addressbook-query>`
	}
	cases := []struct {
		name, filter, limit string
		want                string // matching uids, sorted, or "status:NNN"
	}{
		{"no filter", `<C:filter/>`, "", "ann,bob,carla"},
		{"fn contains, unicode casemap", `<C:filter><C:prop-filter name="FN"><C:text-match>ärger</C:text-match></C:prop-filter></C:filter>`, "", "ann"},
		{"fn equals ascii casemap", `<C:filter><C:prop-filter name="FN"><C:text-match collation="i;ascii-casemap" match-type="equals">carla</C:text-match></C:prop-filter></C:filter>`, "", "carla"},
		{"octet is case sensitive", `<C:filter><C:prop-filter name="FN"><C:text-match collation="i;octet" match-type="equals">carla</C:text-match></C:prop-filter></C:filter>`, "", ""},
		{"starts-with", `<C:filter><C:prop-filter name="fn"><C:text-match match-type="starts-with">bo</C:text-match></C:prop-filter></C:filter>`, "", "bob"},
		{"ends-with", `<C:filter><C:prop-filter name="EMAIL"><C:text-match match-type="ends-with">.example</C:text-match></C:prop-filter></C:filter>`, "", "bob"},
		{"negate", `<C:filter><C:prop-filter name="FN"><C:text-match negate-condition="yes">b</C:text-match></C:prop-filter></C:filter>`, "", "ann,carla"},
		{"anyof across props", `<C:filter test="anyof"><C:prop-filter name="FN"><C:text-match>ann</C:text-match></C:prop-filter><C:prop-filter name="NICKNAME"><C:text-match>ann</C:text-match></C:prop-filter></C:filter>`, "", "ann,carla"},
		{"allof across props", `<C:filter test="allof"><C:prop-filter name="FN"><C:text-match>b</C:text-match></C:prop-filter><C:prop-filter name="TEL"/></C:filter>`, "", "bob"},
		{"is-not-defined", `<C:filter><C:prop-filter name="EMAIL"><C:is-not-defined/></C:prop-filter></C:filter>`, "", "carla"},
		{"param-filter text", `<C:filter><C:prop-filter name="EMAIL"><C:param-filter name="TYPE"><C:text-match match-type="equals">WORK</C:text-match></C:param-filter></C:prop-filter></C:filter>`, "", "ann"},
		{"param-filter is-not-defined", `<C:filter><C:prop-filter name="TEL"><C:param-filter name="TYPE"><C:is-not-defined/></C:param-filter></C:prop-filter></C:filter>`, "", "bob"},
		{"limit", `<C:filter/>`, `<C:limit><C:nresults>2</C:nresults></C:limit>`, "status:507"},
		{"unknown collation", `<C:filter><C:prop-filter name="FN"><C:text-match collation="i;klingon">x</C:text-match></C:prop-filter></C:filter>`, "", "status:403"},
		{"bad match type", `<C:filter><C:prop-filter name="FN"><C:text-match match-type="regex">x</C:text-match></C:prop-filter></C:filter>`, "", "status:400"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := e.do(t, "alice", "REPORT", book, map[string]string{"Depth": "1"}, q(tc.filter, tc.limit))
			if strings.HasPrefix(tc.want, "status:") {
				if tc.want == "status:507" {
					if resp.StatusCode != http.StatusMultiStatus || !strings.Contains(body, "507") || strings.Count(body, "<D:getetag>") != 2 {
						t.Fatalf("got %d %s, want 2 results and a 507 member", resp.StatusCode, body)
					}
					return
				}
				if got := "status:" + resp.Status[:3]; got != tc.want {
					t.Fatalf("got %s (%s), want %s", got, body, tc.want)
				}
				return
			}
			if resp.StatusCode != http.StatusMultiStatus {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			var got []string
			for _, part := range strings.Split(body, "<D:href>")[1:] {
				href := part[:strings.Index(part, "</D:href>")]
				got = append(got, strings.TrimSuffix(strings.TrimPrefix(href, book), ".vcf"))
			}
			sort.Strings(got)
			if strings.Join(got, ",") != tc.want {
				t.Fatalf("got %v, want %s", got, tc.want)
			}
		})
	}
}

// An addressbook-query on an address object resource is scoped to that object
// (RFC 6352 §8.6): it lists the object when it matches, nothing otherwise.
func TestAddressbookQueryOnObject(t *testing.T) {
	e := newTestEnv(t)
	const book = "/dav/addressbooks/alice/contacts/"
	for uid, email := range map[string]string{"ann": "ann@example.com", "bob": "bob@apple.example"} {
		c := "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:" + uid + "\r\nFN:" + uid + "\r\nEMAIL:" + email + "\r\nEND:VCARD\r\n"
		if resp, _ := e.do(t, "alice", "PUT", book+uid+".vcf", nil, c); resp.StatusCode != http.StatusCreated {
			t.Fatalf("put %s: %d", uid, resp.StatusCode)
		}
	}
	q := `<C:addressbook-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:prop><D:getetag/></D:prop>` +
		`<C:filter><C:prop-filter name="EMAIL"><C:text-match negate-condition="yes">@apple</C:text-match></C:prop-filter></C:filter></C:addressbook-query>`
	for path, want := range map[string]string{book + "ann.vcf": book + "ann.vcf", book + "bob.vcf": ""} {
		resp, body := e.do(t, "alice", "REPORT", path, map[string]string{"Depth": "0"}, q)
		if resp.StatusCode != http.StatusMultiStatus {
			t.Fatalf("REPORT %s: %d %s", path, resp.StatusCode, body)
		}
		if got := strings.Join(hrefs(body), " "); got != want {
			t.Errorf("REPORT %s: hrefs %q, want %q", path, got, want)
		}
	}
	if resp, _ := e.do(t, "alice", "REPORT", book+"nobody.vcf", map[string]string{"Depth": "0"}, q); resp.StatusCode != http.StatusNotFound {
		t.Errorf("REPORT on a missing object: %d, want 404", resp.StatusCode)
	}
}
