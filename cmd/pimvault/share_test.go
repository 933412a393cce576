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
	if res := pimvault(t, "share", "list", "--data", data); res.code != 0 || res.stdout != "olga/calendar\tcalendar\tpavel\tread-write\taccepted\n" {
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

// TestShareHistoryCLI: a sharee's changes to the owner's calendar are the
// owner's history, and `pimvault history` names who made each, through the
// running server's admin socket and on a stopped store alike; the owner's
// undo names the sharee on each change it takes back, and takes it back.
func TestShareHistoryCLI(t *testing.T) {
	data := t.TempDir()
	rs := startServer(t, data)
	for _, u := range []string{"olga", "pavel"} {
		if res := pimvaultStdin(t, "password-"+u+"\n", "user", "add", u, "--password-stdin", "--data", data); res.code != 0 {
			t.Fatalf("user add: %s", res)
		}
		if code := rs.request(t, u, "password-"+u, "PROPFIND", "/dav/calendars/"+u+"/", ""); code != 207 {
			t.Fatalf("sign-in: %d", code)
		}
	}
	if res := pimvault(t, "share", "add", "olga", "calendar", "pavel", "--read-write", "--data", data); res.code != 0 {
		t.Fatalf("share add: %s", res)
	}
	ev := func(uid string) string {
		return "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VEVENT\r\nUID:" + uid + "\r\nDTSTART:20261201T100000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
	}
	if code := rs.request(t, "olga", "password-olga", "PUT", "/dav/calendars/olga/calendar/o.ics", ev("o")); code != 201 {
		t.Fatalf("owner PUT: %d", code)
	}
	st := pimvault(t, "status", "--data", data)
	if st.code != 0 {
		t.Fatalf("status: %s", st)
	}
	if code := rs.request(t, "pavel", "password-pavel", "PUT", "/dav/calendars/olga/calendar/p.ics", ev("p")); code != 201 {
		t.Fatalf("sharee PUT: %d", code)
	}
	if code := rs.request(t, "pavel", "password-pavel", "DELETE", "/dav/calendars/olga/calendar/o.ics", ""); code != 204 {
		t.Fatalf("sharee DELETE: %d", code)
	}
	check := func(res cliResult) {
		t.Helper()
		lines := strings.Split(strings.TrimSpace(res.stdout), "\n")
		if res.code != 0 || len(lines) != 3 {
			t.Fatalf("history: %s", res)
		}
		for i, want := range []string{"\tdelete\tcalendar/o.ics\tby pavel", "\tput\tcalendar/p.ics\tby pavel", "\tput\tcalendar/o.ics\tby olga"} {
			if !strings.HasSuffix(lines[i], want) {
				t.Errorf("history line %d: %q, want …%q", i, lines[i], want)
			}
		}
	}
	check(pimvault(t, "history", "--user", "olga", "--collection", "calendar", "--limit", "3", "--data", data))
	if res := pimvault(t, "history", "--user", "pavel", "--data", data); res.code != 0 || strings.Contains(res.stdout, "p.ics") {
		t.Errorf("the sharee's own history holds the owner's calendar: %s", res)
	}
	for _, bad := range [][]string{{"history", "--data", data}, {"history", "--user", "nobody", "--data", data}, {"history", "--user", "olga", "--limit", "0", "--data", data}} {
		if res := pimvault(t, bad...); res.code == 0 {
			t.Errorf("%v succeeded: %s", bad, res)
		}
	}
	// The owner takes the sharee's changes back: p.ics goes, o.ics returns.
	seq := ""
	for _, l := range strings.Split(st.stdout, "\n") {
		if v, ok := strings.CutPrefix(l, "head sequence: "); ok {
			seq = v
		}
	}
	if seq == "" {
		t.Fatalf("no head sequence in status:\n%s", st.stdout)
	}
	res := pimvault(t, "undo", "--user", "olga", "--collection", "calendar", "--to-seq", seq, "--dry-run", "--data", data)
	if res.code != 0 || !strings.Contains(res.stdout, "calendar/p.ics  (changed by pavel)") || !strings.Contains(res.stdout, "calendar/o.ics  (changed by pavel)") {
		t.Fatalf("undo --dry-run does not name the sharee: %s", res)
	}
	if res := pimvault(t, "undo", "--user", "olga", "--collection", "calendar", "--to-seq", seq, "--data", data); res.code != 0 {
		t.Fatalf("undo: %s", res)
	}
	if code := rs.request(t, "olga", "password-olga", "GET", "/dav/calendars/olga/calendar/p.ics", ""); code != 404 {
		t.Errorf("the sharee's event after the undo: %d", code)
	}
	if code := rs.request(t, "olga", "password-olga", "GET", "/dav/calendars/olga/calendar/o.ics", ""); code != 200 {
		t.Errorf("the event the sharee deleted, after the undo: %d", code)
	}
	// On the stopped store too (the undo's own changes are the owner's).
	rs.stop(t)
	res = pimvault(t, "history", "--user", "olga", "--collection", "calendar", "--limit", "5", "--data", data)
	if res.code != 0 || strings.Count(res.stdout, "\tby olga\n") != 3 || strings.Count(res.stdout, "\tby pavel\n") != 2 {
		t.Errorf("history on the stopped store after the undo: %s", res)
	}
}
