package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// TestVdirsyncerSharedCalendar: the owner shares a calendar read-only with
// one account and read-write with another; each syncs it with vdirsyncer;
// the read-write sharee's new event reaches the owner and the read-only
// sharee; after the read-only share is revoked the next sync fails with
// the collection gone and deletes nothing locally.
func TestVdirsyncerSharedCalendar(t *testing.T) {
	skipIfShort(t, "the real-client sharing test (vdirsyncer against the binary)")
	requireTools(t, "vdirsyncer")
	r := newVdirRig(t)
	for _, u := range []string{"rita", "sam"} {
		if res := pimvaultStdin(t, r.password+"\n", "user", "add", u, "--password-stdin", "--data", r.data); res.code != 0 {
			t.Fatalf("user add %s: %s", u, res)
		}
	}
	col := "/dav/calendars/" + r.user + "/calendar/"
	r.request("PROPFIND", col, "", "Depth", "0").Body.Close() // sign-in: the default calendar
	put := func(user, name, uid, summary string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPut, r.rs.url+col+name, strings.NewReader(calendarICS(eventICS(uid, summary, "DTSTART:20260603T140000Z", "DTEND:20260603T150000Z"))))
		req.SetBasicAuth(user, r.password)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("PUT %s as %s: %s", name, user, resp.Status)
		}
	}
	put(r.user, "plan.ics", "plan", "Plan")
	if res := pimvault(t, "share", "add", r.user, "calendar", "rita", "--data", r.data); res.code != 0 {
		t.Fatalf("share add: %s", res)
	}
	if res := pimvault(t, "share", "add", r.user, "calendar", "sam", "--read-write", "--data", r.data); res.code != 0 {
		t.Fatalf("share add: %s", res)
	}
	// One vdirsyncer configuration per sharee, straight at the shared URL.
	type sharee struct{ user, conf, local string }
	var sharees []sharee
	for _, u := range []string{"rita", "sam"} {
		dir := filepath.Join(r.dir, u)
		local := filepath.Join(dir, "cal")
		for _, d := range []string{local, filepath.Join(dir, "status")} {
			if err := os.MkdirAll(d, 0o700); err != nil {
				t.Fatal(err)
			}
		}
		readOnly := ""
		if u == "rita" {
			readOnly = "read_only = true\n"
		}
		conf := filepath.Join(dir, "vdirsyncer.conf")
		err := os.WriteFile(conf, []byte(fmt.Sprintf(`[general]
status_path = %q

[pair shared]
a = "local"
b = "remote"
collections = null
conflict_resolution = "b wins"

[storage local]
type = "filesystem"
path = %q
fileext = ".ics"

[storage remote]
type = "caldav"
url = %q
username = %q
password = %q
%s`, filepath.Join(dir, "status")+"/", local+"/", r.rs.url+col, u, r.password, readOnly)), 0o600)
		if err != nil {
			t.Fatal(err)
		}
		sharees = append(sharees, sharee{u, conf, local})
	}
	sync := func(s sharee, step string, wantOK bool) toolRun {
		t.Helper()
		res := r.run("vdirsyncer", "-c", s.conf, "sync")
		if (res.code == 0) != wantOK {
			t.Fatalf("%s: vdirsyncer sync as %s exited %d\n%s%s\n--- server log:\n%s", step, s.user, res.code, res.stdout, res.stderr, r.rs.stderr.String())
		}
		return res
	}
	uids := func(s sharee) string {
		t.Helper()
		ents, err := os.ReadDir(s.local)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range ents {
			b, err := os.ReadFile(filepath.Join(s.local, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			for _, l := range strings.Split(string(b), "\n") {
				if strings.HasPrefix(l, "UID:") {
					out = append(out, strings.TrimSpace(l[4:]))
				}
			}
		}
		sort.Strings(out)
		return strings.Join(out, " ")
	}
	rita, sam := sharees[0], sharees[1]
	for _, s := range sharees {
		if res := r.run("vdirsyncer", "-c", s.conf, "discover"); res.code != 0 {
			t.Fatalf("discover as %s: %s%s", s.user, res.stdout, res.stderr)
		}
	}
	sync(rita, "first sync (read-only)", true)
	sync(sam, "first sync (read-write)", true)
	if uids(rita) != "plan" || uids(sam) != "plan" {
		t.Fatalf("first sync: rita %q, sam %q", uids(rita), uids(sam))
	}
	// Sam adds an event locally; it reaches the owner's calendar, then Rita.
	if err := os.WriteFile(filepath.Join(sam.local, "sam.ics"), []byte(calendarICS(eventICS("sam-1", "From Sam", "DTSTART:20260604T090000Z", "DTEND:20260604T100000Z"))), 0o600); err != nil {
		t.Fatal(err)
	}
	sync(sam, "upload (read-write)", true)
	sync(rita, "second sync (read-only)", true)
	if uids(rita) != "plan sam-1" {
		t.Fatalf("rita after sam's upload: %q", uids(rita))
	}
	resp := r.request(http.MethodGet, "/api/history?collection=calendar&limit=1", "")
	hist, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(hist), `"by":"sam"`) {
		t.Errorf("the owner's history does not name sam: %s", hist)
	}
	// A read-only sharee's upload is refused by the server.
	req, _ := http.NewRequest(http.MethodPut, r.rs.url+col+"rita.ics", strings.NewReader(calendarICS(eventICS("rita-1", "x", "DTSTART:20260604T090000Z"))))
	req.SetBasicAuth("rita", r.password)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusForbidden {
		t.Fatalf("read-only PUT: %v %v", resp, err)
	}
	// Revoked: Rita's next sync fails; her local copy is not wiped.
	if res := pimvault(t, "share", "remove", r.user, "calendar", "rita", "--data", r.data); res.code != 0 {
		t.Fatalf("share remove: %s", res)
	}
	sync(rita, "sync after the revoke", false)
	if uids(rita) != "plan sam-1" {
		t.Errorf("rita's local calendar after the revoke: %q", uids(rita))
	}
	sync(sam, "sam after rita's revoke", true)
}
