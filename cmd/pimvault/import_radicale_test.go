package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pimvault/pimvault/storage"
)

// radicaleRig is Debian's Radicale on a loopback port with filesystem
// storage in a temporary folder and no authentication.
type radicaleRig struct {
	t       *testing.T
	url     string
	storage string
}

func startRadicale(t *testing.T) *radicaleRig {
	t.Helper()
	requireTools(t, "radicale")
	dir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	r := &radicaleRig{t: t, url: "http://" + addr, storage: filepath.Join(dir, "collections")}
	cfg := filepath.Join(dir, "config")
	conf := fmt.Sprintf("[server]\nhosts = %s\n[auth]\ntype = none\n[storage]\nfilesystem_folder = %s\n[logging]\nlevel = warning\n", addr, r.storage)
	if err := os.WriteFile(cfg, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("radicale", "--config", cfg)
	var log syncBuffer
	cmd.Stdout, cmd.Stderr = &log, &log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(r.url + "/.web/")
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("radicale did not answer on %s within 30s: %v\n%s", addr, err, log.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	return r
}

func (r *radicaleRig) do(method, path, ctype, body string) (int, string) {
	r.t.Helper()
	req, err := http.NewRequest(method, r.url+path, strings.NewReader(body))
	if err != nil {
		r.t.Fatal(err)
	}
	req.SetBasicAuth("alice", "any")
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		r.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func radicaleCard(i int) string {
	switch i % 3 {
	case 0:
		return fmt.Sprintf("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:card-%d\r\nFN:Person %d\r\nN:%d;Person;;;\r\nEMAIL;TYPE=INTERNET:p%d@example.org\r\nTEL;TYPE=CELL:+49 30 %07d\r\nEND:VCARD\r\n", i, i, i, i, i)
	case 1:
		return fmt.Sprintf("BEGIN:VCARD\r\nVERSION:4.0\r\nUID:urn:uuid:4fbe8971-0bc3-424c-9c26-36c3e1eff%03d\r\nFN:Zoë Ünïcødé %d\r\nN:Ünïcødé;Zoë;;;\r\nNOTE:a long note that goes past seventy-five octets so that it must be folded by the writer %d\r\nADR;TYPE=home:;;Straße 1;Berlin;;10115;Germany\r\nEND:VCARD\r\n", i, i, i)
	}
	return fmt.Sprintf("BEGIN:VCARD\r\nVERSION:3.0\r\nPRODID:-//Test//EN\r\nUID:grp-%d\r\nFN:Group Member %d\r\nN:Member;Group;;;\r\nitem1.EMAIL:g%d@example.org\r\nitem1.X-ABLabel:work\r\nCATEGORIES:friends,work\r\nEND:VCARD\r\n", i, i, i)
}

func radicaleEvent(i int) string {
	const tz = "BEGIN:VTIMEZONE\r\nTZID:Europe/Berlin\r\nBEGIN:STANDARD\r\nDTSTART:19701025T030000\r\nRRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nEND:STANDARD\r\nBEGIN:DAYLIGHT\r\nDTSTART:19700329T020000\r\nRRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\nEND:DAYLIGHT\r\nEND:VTIMEZONE\r\n"
	switch i % 3 {
	case 0:
		return fmt.Sprintf("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Test//EN\r\nBEGIN:VEVENT\r\nUID:event-%d@example.org\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:202612%02dT100000Z\r\nDTEND:202612%02dT110000Z\r\nSUMMARY:Meeting %d\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n", i, 1+i%28, 1+i%28, i)
	case 1:
		return fmt.Sprintf("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Test//EN\r\n%sBEGIN:VEVENT\r\nUID:weekly-%d\r\nDTSTAMP:20260101T000000Z\r\nDTSTART;TZID=Europe/Berlin:20261102T090000\r\nDURATION:PT30M\r\nRRULE:FREQ=WEEKLY;COUNT=10\r\nSUMMARY:Standup %d\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:weekly-%d\r\nDTSTAMP:20260101T000000Z\r\nRECURRENCE-ID;TZID=Europe/Berlin:20261109T090000\r\nDTSTART;TZID=Europe/Berlin:20261109T100000\r\nDURATION:PT30M\r\nSUMMARY:Standup %d (moved)\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n", tz, i, i, i, i)
	}
	return fmt.Sprintf("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Test//EN\r\nBEGIN:VEVENT\r\nUID:allday-%d\r\nDTSTAMP:20260101T000000Z\r\nDTSTART;VALUE=DATE:202701%02d\r\nSUMMARY:Holiday %d\r\nDESCRIPTION:Line one\\nline two\\, with a comma\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n", i, 1+i%28, i)
}

// TestImportRadicaleFolder: a folder written by
// a real Radicale, filled over HTTP, imports into the same contacts and
// events byte for byte (as Radicale serves them), with the collections'
// names; a second import changes nothing.
func TestImportRadicaleFolder(t *testing.T) {
	skipIfShort(t, "the real-client test (a real Radicale filled over HTTP, then imported)")
	t.Parallel()
	r := startRadicale(t)
	mkcol := `<?xml version="1.0"?><D:mkcol xmlns:D="DAV:" xmlns:CR="urn:ietf:params:xml:ns:carddav" xmlns:C="urn:ietf:params:xml:ns:caldav" xmlns:I="http://apple.com/ns/ical/"><D:set><D:prop><D:resourcetype><D:collection/>%s</D:resourcetype><D:displayname>%s</D:displayname>%s</D:prop></D:set></D:mkcol>`
	if code, b := r.do("MKCOL", "/alice/book/", "application/xml", fmt.Sprintf(mkcol, "<CR:addressbook/>", "Friends &amp; Family", "")); code != http.StatusCreated {
		t.Fatalf("radicale MKCOL book: %d %s", code, b)
	}
	if code, b := r.do("MKCOL", "/alice/cal/", "application/xml", fmt.Sprintf(mkcol, "<C:calendar/>", "Work", "<I:calendar-color>#ff0000ff</I:calendar-color>")); code != http.StatusCreated {
		t.Fatalf("radicale MKCOL cal: %d %s", code, b)
	}
	want := map[string]map[string]string{"book": {}, "cal": {}}
	for i := 0; i < 30; i++ {
		name := fmt.Sprintf("c%02d.vcf", i)
		if code, b := r.do("PUT", "/alice/book/"+name, "text/vcard", radicaleCard(i)); code != http.StatusCreated {
			t.Fatalf("radicale PUT %s: %d %s", name, code, b)
		}
	}
	for i := 0; i < 21; i++ {
		name := fmt.Sprintf("e%02d.ics", i)
		if code, b := r.do("PUT", "/alice/cal/"+name, "text/calendar", radicaleEvent(i)); code != http.StatusCreated {
			t.Fatalf("radicale PUT %s: %d %s", name, code, b)
		}
	}
	for col, items := range want {
		n := 30
		ext, prefix := ".vcf", "c"
		if col == "cal" {
			n, ext, prefix = 21, ".ics", "e"
		}
		for i := 0; i < n; i++ {
			name := fmt.Sprintf("%s%02d%s", prefix, i, ext)
			code, body := r.do("GET", "/alice/"+col+"/"+name, "", "")
			if code != http.StatusOK {
				t.Fatalf("radicale GET %s: %d", name, code)
			}
			items[name] = body
		}
	}

	dir := t.TempDir()
	head := writeStore(t, dir, storage.Options{}, 0)
	folder := filepath.Join(r.storage, "collection-root", "alice")
	res := pimvault(t, "import", "--data", dir, "--user", "alice", "--dry-run", folder)
	if res.code != 0 || !strings.Contains(res.stdout, "would import into 2 collections (created: book, cal)") || !strings.Contains(res.stdout, "added: 51, updated: 0, unchanged: 0, failed: 0") {
		t.Fatalf("import --dry-run: %s", res)
	}
	if _, h := status(t, dir); h != itoa(head) {
		t.Fatalf("dry run wrote records: head %s, was %d", h, head)
	}
	res = pimvault(t, "import", "--data", dir, "--user", "alice", folder)
	if res.code != 0 || !strings.Contains(res.stdout, "added: 51, updated: 0, unchanged: 0, failed: 0") {
		t.Fatalf("import: %s", res)
	}
	res = pimvault(t, "import", "--data", dir, "--user", "alice", folder)
	if res.code != 0 || !strings.Contains(res.stdout, "added: 0, updated: 0, unchanged: 51, failed: 0") {
		t.Fatalf("second import must change nothing: %s", res)
	}
	expectVerifyOK(t, dir)

	s, err := storage.OpenExisting(dir, storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for col, items := range want {
		c, err := s.Collection("alice", col)
		if err != nil {
			t.Fatalf("collection %s: %v", col, err)
		}
		wantKind, wantName := "addressbook", "Friends &amp; Family"
		if col == "cal" {
			wantKind, wantName = "calendar", "Work"
		}
		if c.Kind != wantKind || string(c.Props["{DAV:}displayname"]) != wantName || c.Count != int64(len(items)) {
			t.Fatalf("collection %s: kind %s, displayname %q, %d objects; want %s, %q, %d", col, c.Kind, c.Props["{DAV:}displayname"], c.Count, wantKind, wantName, len(items))
		}
		for name, body := range items {
			o, err := s.Get("alice", col, name)
			if err != nil {
				t.Fatalf("%s/%s: %v", col, name, err)
			}
			if string(o.Body) != body {
				t.Fatalf("%s/%s differs from what Radicale serves:\n%q\nwant\n%q", col, name, o.Body, body)
			}
			if o.Meta.UID == "" || (col == "cal") != (o.Meta.Component == "VEVENT") {
				t.Fatalf("%s/%s meta %+v", col, name, o.Meta)
			}
		}
	}
	if c, _ := s.Collection("alice", "cal"); string(c.Props["{http://apple.com/ns/ical/}calendar-color"]) != "#ff0000ff" {
		t.Fatalf("calendar colour not imported: %q", c.Props["{http://apple.com/ns/ical/}calendar-color"])
	}
}
