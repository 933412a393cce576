package main

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestShareCLI: share add, list and remove through the admin socket of a
// running server, with the refusals that change nothing.
func TestShareCLI(t *testing.T) {
	data := t.TempDir()
	rs := startServer(t, data)
	for _, u := range []string{"olga", "pavel"} {
		if res := pimvaultStdin(t, "password-"+u+"\n", "user", "add", u, "--password-stdin", "--data", data); res.code != 0 {
			t.Fatalf("user add: %s", res)
		}
	}
	// No collections yet: the server makes the defaults at first sign-in.
	if res := pimvault(t, "share", "add", "olga", "calendar", "pavel", "--data", data); res.code == 0 || !strings.Contains(res.stderr, "not found") {
		t.Fatalf("share of a missing collection: %s", res)
	}
	if resp := rs.request(t, "olga", "password-olga", "PROPFIND", "/dav/calendars/olga/", ""); resp != 207 {
		t.Fatalf("sign-in: %d", resp)
	}
	if res := pimvault(t, "share", "add", "olga", "calendar", "pavel", "--read-write", "--data", data); res.code != 0 || !strings.Contains(res.stdout, "shared with pavel (read-write)") {
		t.Fatalf("share add: %s", res)
	}
	for _, bad := range [][]string{
		{"share", "add", "olga", "calendar", "olga"},
		{"share", "add", "olga", "calendar", "nobody"},
		{"share", "remove", "olga", "contacts", "pavel"},
		{"share", "add", "olga", "calendar"},
	} {
		if res := pimvault(t, append(bad, "--data", data)...); res.code == 0 {
			t.Errorf("%v succeeded: %s", bad, res)
		}
	}
	if res := pimvault(t, "share", "list", "--data", data); res.code != 0 || res.stdout != "olga/calendar\tcalendar\tpavel\tread-write\n" {
		t.Fatalf("share list: %s", res)
	}
	if resp := rs.request(t, "pavel", "password-pavel", "PUT", "/dav/calendars/olga/calendar/x.ics", "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VEVENT\r\nUID:x\r\nDTSTART:20261201T100000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"); resp != 201 {
		t.Fatalf("sharee PUT: %d", resp)
	}
	if res := pimvault(t, "share", "remove", "olga", "calendar", "pavel", "--data", data); res.code != 0 {
		t.Fatalf("share remove: %s", res)
	}
	if resp := rs.request(t, "pavel", "password-pavel", "GET", "/dav/calendars/olga/calendar/x.ics", ""); resp != 404 {
		t.Fatalf("GET after the share was removed: %d", resp)
	}
	if res := pimvault(t, "share", "list", "olga", "--data", data); res.code != 0 || res.stdout != "" {
		t.Fatalf("share list after remove: %s", res)
	}
}

// request sends one request to a running server and returns its status.
func (rs *runningServer) request(t *testing.T, user, password, method, path, body string) int {
	t.Helper()
	req, err := http.NewRequest(method, rs.url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(user, password)
	if method == "PROPFIND" {
		req.Header.Set("Depth", "0")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// TestIMIPReceiveCLI: an MTA pipes a reply into `pimvault imip receive`
// while the server runs (through the admin socket); a forged one is
// refused with exit 1.
func TestIMIPReceiveCLI(t *testing.T) {
	data := t.TempDir()
	rs := startServer(t, data)
	if res := pimvaultStdin(t, "password-olga\n", "user", "add", "olga", "--password-stdin", "--data", data); res.code != 0 {
		t.Fatalf("user add: %s", res)
	}
	if res := pimvault(t, "user", "email", "olga", "olga@example.org", "--data", data); res.code != 0 {
		t.Fatalf("user email: %s", res)
	}
	ev := "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VEVENT\r\nUID:mx\r\nDTSTART:20261201T100000Z\r\nORGANIZER:mailto:olga@example.org\r\nATTENDEE:mailto:zed@elsewhere.test\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
	if code := rs.request(t, "olga", "password-olga", "PUT", "/dav/calendars/olga/calendar/mx.ics", ev); code != 201 {
		t.Fatalf("PUT: %d", code)
	}
	reply := func(from string) string {
		return "From: " + from + "\r\nTo: olga@example.org\r\nSubject: Re\r\nContent-Type: text/calendar; method=REPLY\r\n\r\n" +
			"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:y\r\nMETHOD:REPLY\r\nBEGIN:VEVENT\r\nUID:mx\r\nDTSTAMP:20261202T000000Z\r\nORGANIZER:mailto:olga@example.org\r\nATTENDEE;PARTSTAT=ACCEPTED:mailto:zed@elsewhere.test\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
	}
	if res := pimvaultStdin(t, reply("eve@elsewhere.test"), "imip", "receive", "--data", data); res.code != 1 || !strings.Contains(res.stderr, "not the mail's sender") {
		t.Fatalf("forged reply: %s", res)
	}
	if res := pimvaultStdin(t, reply("zed@elsewhere.test"), "imip", "receive", "--data", data); res.code != 0 || !strings.Contains(res.stdout, "delivered") {
		t.Fatalf("reply: %s", res)
	}
	req, _ := http.NewRequest("GET", rs.url+"/dav/calendars/olga/calendar/mx.ics", nil)
	req.SetBasicAuth("olga", "password-olga")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(strings.ReplaceAll(string(body), "\r\n ", ""), "PARTSTAT=ACCEPTED;SCHEDULE-STATUS=2.0:mailto:zed@elsewhere.test") &&
		!strings.Contains(strings.ReplaceAll(string(body), "\r\n ", ""), "SCHEDULE-STATUS=2.0;PARTSTAT=ACCEPTED") {
		t.Errorf("olga's copy after the reply:\n%s", body)
	}
}
