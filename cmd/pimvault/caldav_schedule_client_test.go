package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// pythonSchedulingScript: the organizer invites with the library's
// save_with_invites, the attendee finds the invitation in the inbox and
// accepts it with accept_invite, the organizer reads the answer back.
const pythonSchedulingScript = `
import json, sys
import caldav
url, pw = sys.argv[1], sys.argv[2]
out = {}
org = caldav.DAVClient(url=url, username="ann", password=pw)
att = caldav.DAVClient(url=url, username="ben", password=pw)
out["scheduling_support"] = bool(org.check_scheduling_support())
p_org, p_att = org.principal(), att.principal()
out["ann_addresses"] = p_org.calendar_user_address_set()
out["ben_addresses"] = p_att.calendar_user_address_set()
out["ben_inbox"] = str(p_att.schedule_inbox().url)
cal = p_org.calendars()[0]
ics = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//py//EN
BEGIN:VEVENT
UID:py-meeting
DTSTAMP:20261201T000000Z
DTSTART:20261215T140000Z
DTEND:20261215T150000Z
SUMMARY:Review
END:VEVENT
END:VCALENDAR
"""
cal.save_with_invites(ics, [p_org, "mailto:ben@example.org"], schedule_agent="SERVER")
items = list(p_att.schedule_inbox().get_items())
out["inbox_count"] = len(items)
invite = [i for i in items if i.is_invite_request()]
out["invites"] = len(invite)
ben_cal = p_att.calendars()[0]
out["ben_copy_partstat"] = [str(a.params.get("PARTSTAT")) for a in ben_cal.event_by_uid("py-meeting").icalendar_instance.walk("VEVENT")[0].get("ATTENDEE") if "ben@" in str(a)]
invite[0].accept_invite(calendar=ben_cal)
ev = cal.event_by_uid("py-meeting")
out["ann_sees"] = sorted(str(a) + "=" + str(a.params.get("PARTSTAT")) for a in ev.icalendar_instance.walk("VEVENT")[0].get("ATTENDEE"))
json.dump(out, sys.stdout, indent=1, sort_keys=True)
`

// TestPythonCalDAVScheduling: python3-caldav's own scheduling support
// check, discovery, invitation, inbox and accept against the real binary.
func TestPythonCalDAVScheduling(t *testing.T) {
	skipIfShort(t, "the real-client scheduling test (python3-caldav against the binary)")
	requireTools(t, debianPython)
	r := newVdirRig(t)
	if res := r.run(debianPython, "-c", "import caldav"); res.code != 0 {
		requireClient(t, "python3-caldav not installed: apt-get install -y python3-caldav; .ci/run installs it", res.stderr)
	}
	for _, u := range []string{"ann", "ben"} {
		if res := pimvaultStdin(t, r.password+"\n", "user", "add", u, "--password-stdin", "--data", r.data); res.code != 0 {
			t.Fatalf("user add %s: %s", u, res)
		}
		if res := pimvault(t, "user", "email", u, u+"@example.org", "--data", r.data); res.code != 0 || !strings.Contains(res.stdout, u+"@example.org") {
			t.Fatalf("user email %s: %s", u, res)
		}
	}
	script := filepath.Join(t.TempDir(), "schedule.py")
	if err := os.WriteFile(script, []byte(pythonSchedulingScript), 0o600); err != nil {
		t.Fatal(err)
	}
	res := r.run(debianPython, script, r.rs.url+"/", r.password)
	if res.code != 0 {
		t.Fatalf("python3-caldav scheduling script exited %d:\n%s%s\n--- server log:\n%s", res.code, res.stdout, res.stderr, r.rs.stderr.String())
	}
	var out struct {
		Support  bool     `json:"scheduling_support"`
		Ann      []string `json:"ann_addresses"`
		Ben      []string `json:"ben_addresses"`
		BenInbox string   `json:"ben_inbox"`
		Inbox    int      `json:"inbox_count"`
		Invites  int      `json:"invites"`
		BenCopy  []string `json:"ben_copy_partstat"`
		AnnSees  []string `json:"ann_sees"`
	}
	if err := json.Unmarshal([]byte(res.stdout), &out); err != nil {
		t.Fatalf("script output: %v\n%s", err, res.stdout)
	}
	t.Logf("%+v", out)
	if !out.Support {
		t.Error("check_scheduling_support() is false")
	}
	if len(out.Ann) == 0 || out.Ann[0] != "mailto:ann@example.org" || out.BenInbox != r.rs.url+"/dav/calendars/ben/inbox/" {
		t.Errorf("discovery: %v %q", out.Ann, out.BenInbox)
	}
	if out.Inbox != 1 || out.Invites != 1 {
		t.Errorf("ben's inbox: %d items, %d invitations (want 1, 1)", out.Inbox, out.Invites)
	}
	if strings.Join(out.BenCopy, ",") != "NEEDS-ACTION" {
		t.Errorf("ben's copy before answering: %v", out.BenCopy)
	}
	if !strings.Contains(strings.Join(out.AnnSees, " "), "mailto:ben@example.org=ACCEPTED") {
		t.Errorf("ann's copy after ben accepted: %v", out.AnnSees)
	}
	r.rs.stop(t)
	if v := pimvault(t, "verify", "--data", r.data); v.code != 0 {
		t.Fatalf("verify: %s", v)
	}
}
