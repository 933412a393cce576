package server

import (
	"context"
	"html"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/pimvault/pimvault/transfer"
)

var responseDescription = regexp.MustCompile(`<E:error-description[^>]*>(.*)</E:error-description>`)

// TestPutAndImportRefuseAlike runs the same vCards and calendar objects
// through a PUT over HTTP and through the import that 'pimvault import'
// runs (transfer.Load, then transfer.Import on the same store). Each side
// must accept what the other accepts, and refuse the rest for the same
// reason: both call the one validator of the format.
func TestPutAndImportRefuseAlike(t *testing.T) {
	e := newTestEnv(t)
	// Sign in once so the default address book and calendar exist.
	if resp, _ := e.do(t, "alice", "PROPFIND", "/dav/addressbooks/alice/", map[string]string{"Depth": "0"}, ""); resp.StatusCode != http.StatusMultiStatus {
		t.Fatalf("propfind: %d", resp.StatusCode)
	}
	vcard := func(version, uid, fn string) string {
		return "BEGIN:VCARD\r\nVERSION:" + version + "\r\nUID:" + uid + "\r\nFN:" + fn + "\r\nEND:VCARD\r\n"
	}
	event := func(uid, start string) string {
		return "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\nBEGIN:VEVENT\r\nUID:" + uid +
			"\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:" + start + "\r\nDURATION:PT1H\r\nSUMMARY:x\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
	}
	// sameWords: the refusal comes from the format's validator on both sides,
	// so the reasons read the same. An event without a UID is refused by
	// import earlier, while it splits a file into objects by UID.
	cases := []struct {
		name, ext, body string
		ok              bool
		otherWords      bool
	}{
		{"valid vCard", ".vcf", vcard("3.0", "ok-card", "Ok"), true, false},
		{"vCard 4.0", ".vcf", vcard("4.0", "ok-card-4", "Ok"), true, false},
		{"VERSION:9.0", ".vcf", vcard("9.0", "v9", "Nine"), false, false},
		{"control character", ".vcf", vcard("3.0", "ctl", "a\x01b"), false, false},
		{"2000-byte UID", ".vcf", vcard("3.0", strings.Repeat("u", 2000), "Long"), false, false},
		{"no UID", ".vcf", "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:x\r\nEND:VCARD\r\n", false, false},
		{"valid event", ".ics", event("ok-event", "20260301T100000Z"), true, false},
		{"event before 1900", ".ics", event("old-event", "18500301T100000Z"), false, false},
		{"event without UID", ".ics", strings.Replace(event("x", "20260301T100000Z"), "UID:x\r\n", "", 1), false, true},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			home := "/dav/addressbooks/alice/contacts/"
			if tc.ext == ".ics" {
				home = "/dav/calendars/alice/calendar/"
			}
			resp, body := e.do(t, "alice", "PUT", home+"put-"+string(rune('a'+i))+tc.ext, nil, tc.body)
			putOK := resp.StatusCode == http.StatusCreated
			var putWhy string
			if m := responseDescription.FindStringSubmatch(body); m != nil {
				putWhy = html.UnescapeString(m[1])
			}
			if !putOK && (resp.StatusCode != http.StatusForbidden || putWhy == "") {
				t.Fatalf("PUT refused with %d %q, want 403 with a DAV precondition", resp.StatusCode, body)
			}

			file := filepath.Join(t.TempDir(), "in"+tc.ext)
			if err := os.WriteFile(file, []byte(tc.body), 0o600); err != nil {
				t.Fatal(err)
			}
			head := e.store.Head()
			src, errs := transfer.Load(file, "")
			importOK := len(errs) == 0
			if importOK {
				rep, err := transfer.Import(context.Background(), e.store, "alice", src, false)
				if err != nil || len(rep.Failed) > 0 {
					t.Fatalf("import: %v %v", err, rep)
				}
			} else if e.store.Head() != head {
				t.Fatalf("a refused import changed the store")
			}

			if putOK != tc.ok || importOK != tc.ok {
				t.Fatalf("PUT accepted: %v (%d %s), import accepted: %v (%v); want both %v", putOK, resp.StatusCode, putWhy, importOK, errs, tc.ok)
			}
			if !tc.ok && !tc.otherWords && !strings.Contains(errs[0].Error(), putWhy) {
				t.Fatalf("different reasons: PUT %q, import %q", putWhy, errs[0])
			}
		})
	}
}
