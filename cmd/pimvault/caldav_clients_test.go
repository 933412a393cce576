package main

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/emersion/go-ical"
)

// Real CalDAV clients against the real binary: python3-caldav
// (discovery, MKCALENDAR, events and a todo, a search with expand, sync
// tokens, delete), vdirsyncer syncing the default calendar two ways with a
// local folder, and khal listing that folder. Debian packages:
// python3-caldav, vdirsyncer, khal (.ci/run installs them).

// debianPython is the interpreter the Debian python3-* packages belong to
// (a python3 earlier on PATH, from pyenv say, would not see them).
const debianPython = "/usr/bin/python3"

// calendarICS is a VCALENDAR with the given components.
func calendarICS(components ...string) string {
	return "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//pimvault//client test//EN\r\n" + strings.Join(components, "") + "END:VCALENDAR\r\n"
}

func eventICS(uid, summary string, lines ...string) string {
	return "BEGIN:VEVENT\r\nUID:" + uid + "\r\nDTSTAMP:20260101T000000Z\r\nSUMMARY:" + summary + "\r\n" +
		strings.Join(lines, "\r\n") + "\r\nEND:VEVENT\r\n"
}

const pythonCalDAVScript = `import datetime, json, sys
import caldav

url, user, password = sys.argv[1:4]
utc = datetime.timezone.utc
out = {}

def vcal(body):
    return "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//pimvault//python test//EN\r\n" + body + "END:VCALENDAR\r\n"

SINGLE = vcal("BEGIN:VEVENT\r\nUID:py-single\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20260610T100000Z\r\nDTEND:20260610T110000Z\r\nSUMMARY:Single\r\nEND:VEVENT\r\n")
WEEKLY = vcal(
    "BEGIN:VEVENT\r\nUID:py-weekly\r\nDTSTAMP:20260101T000000Z\r\nDTSTART;TZID=Europe/Berlin:20260603T090000\r\n"
    "DTEND;TZID=Europe/Berlin:20260603T100000\r\nRRULE:FREQ=WEEKLY;COUNT=8\r\nEXDATE;TZID=Europe/Berlin:20260617T090000\r\nSUMMARY:Weekly\r\nEND:VEVENT\r\n"
    "BEGIN:VEVENT\r\nUID:py-weekly\r\nDTSTAMP:20260101T000000Z\r\nRECURRENCE-ID;TZID=Europe/Berlin:20260624T090000\r\n"
    "DTSTART;TZID=Europe/Berlin:20260624T140000\r\nDTEND;TZID=Europe/Berlin:20260624T150000\r\nSUMMARY:Weekly moved\r\nEND:VEVENT\r\n")
TODO = vcal("BEGIN:VTODO\r\nUID:py-todo\r\nDTSTAMP:20260101T000000Z\r\nDUE:20260615T170000Z\r\nSUMMARY:Todo\r\nSTATUS:NEEDS-ACTION\r\nEND:VTODO\r\n")
LATE = vcal("BEGIN:VEVENT\r\nUID:py-late\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20260901T100000Z\r\nDTEND:20260901T110000Z\r\nSUMMARY:Late\r\nEND:VEVENT\r\n")

def base(o):
    return str(o.url).rstrip("/").rsplit("/", 1)[-1]

client = caldav.DAVClient(url=url, username=user, password=password)
principal = client.principal()
out["principal"] = str(principal.url)
out["calendars_before"] = sorted(str(c.url) for c in principal.calendars())
cal = principal.make_calendar(name="Python Test", cal_id="pytest")
out["new_calendar"] = str(cal.url)
out["calendars_after"] = sorted(str(c.url) for c in principal.calendars())
out["displayname"] = cal.get_display_name()

cal.save_event(SINGLE)
cal.save_event(WEEKLY)
cal.save_todo(TODO)

sync = cal.objects_by_sync_token(load_objects=False)
out["sync_initial"] = sorted(base(o) for o in sync)
token1 = sync.sync_token

june = dict(start=datetime.datetime(2026, 6, 1, tzinfo=utc), end=datetime.datetime(2026, 7, 1, tzinfo=utc))
instances = []
for o in cal.search(event=True, expand=True, **june):
    for ev in o.icalendar_instance.walk("VEVENT"):
        instances.append([str(ev["UID"]), ev.decoded("DTSTART").astimezone(utc).strftime("%Y%m%dT%H%M%SZ"), str(ev["SUMMARY"])])
out["june_expanded"] = sorted(instances)
out["june_plain"] = sorted(str(o.icalendar_instance.walk("VEVENT")[0]["UID"]) for o in cal.search(event=True, **june))
july = dict(start=datetime.datetime(2026, 7, 1, tzinfo=utc), end=datetime.datetime(2026, 8, 1, tzinfo=utc))
out["july"] = sorted(str(o.icalendar_instance.walk("VEVENT")[0]["UID"]) for o in cal.search(event=True, **july))
out["todos"] = sorted(str(t.icalendar_instance.walk("VTODO")[0]["UID"]) for t in cal.todos())

# The server expands by itself: its answer holds instances, no RRULE.
raw = client.report(str(cal.url), """<?xml version="1.0" encoding="utf-8"?>
<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><C:calendar-data>
<C:expand start="20260601T000000Z" end="20260701T000000Z"/></C:calendar-data></D:prop>
<C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:time-range start="20260601T000000Z" end="20260701T000000Z"/></C:comp-filter></C:comp-filter></C:filter></C:calendar-query>""", depth=1)
text = raw.raw.decode() if isinstance(raw.raw, bytes) else raw.raw
out["raw_expand_status"] = raw.status
out["raw_expand_has_rrule"] = "RRULE" in text
out["raw_expand_recurrence_ids"] = text.count("RECURRENCE-ID")

cal.save_event(LATE)
updated, deleted = sync.sync()
out["sync_after_put"] = [sorted(base(o) for o in updated), sorted(base(o) for o in deleted)]
cal.event_by_uid("py-single").delete()
updated, deleted = sync.sync()
out["sync_after_delete"] = [sorted(base(o) for o in updated), sorted(base(o) for o in deleted)]
out["token_changed"] = sync.sync_token != token1
out["events_left"] = sorted(str(o.icalendar_instance.walk("VEVENT")[0]["UID"]) for o in cal.events())
json.dump(out, sys.stdout, indent=1, sort_keys=True)
`

// TestPythonCalDAV drives the real binary with python3-caldav 0.11.
func TestPythonCalDAV(t *testing.T) {
	skipIfShort(t, "the real-client test (python3-caldav against the binary)")
	requireTools(t, debianPython)
	r := newVdirRig(t)
	if res := r.run(debianPython, "-c", "import caldav"); res.code != 0 {
		requireClient(t, "python3-caldav not installed: apt-get install -y python3-caldav; .ci/run installs it", res.stderr)
	}
	script := filepath.Join(t.TempDir(), "caldav_client.py")
	if err := os.WriteFile(script, []byte(pythonCalDAVScript), 0o600); err != nil {
		t.Fatal(err)
	}
	res := r.run(debianPython, script, r.rs.url+"/", r.user, r.password)
	if res.code != 0 {
		t.Fatalf("python3-caldav script exited %d:\n%s%s\n--- server log:\n%s", res.code, res.stdout, res.stderr, r.rs.stderr.String())
	}
	var out struct {
		Principal           string     `json:"principal"`
		CalendarsBefore     []string   `json:"calendars_before"`
		CalendarsAfter      []string   `json:"calendars_after"`
		NewCalendar         string     `json:"new_calendar"`
		DisplayName         string     `json:"displayname"`
		SyncInitial         []string   `json:"sync_initial"`
		JuneExpanded        [][]string `json:"june_expanded"`
		JunePlain           []string   `json:"june_plain"`
		July                []string   `json:"july"`
		Todos               []string   `json:"todos"`
		RawExpandStatus     int        `json:"raw_expand_status"`
		RawExpandHasRRule   bool       `json:"raw_expand_has_rrule"`
		RawExpandRecurrence int        `json:"raw_expand_recurrence_ids"`
		SyncAfterPut        [][]string `json:"sync_after_put"`
		SyncAfterDelete     [][]string `json:"sync_after_delete"`
		TokenChanged        bool       `json:"token_changed"`
		EventsLeft          []string   `json:"events_left"`
	}
	if err := json.Unmarshal([]byte(res.stdout), &out); err != nil {
		t.Fatalf("script output: %v\n%s", err, res.stdout)
	}
	home := r.rs.url + "/dav/calendars/" + r.user + "/"
	check := func(what string, got, want any) {
		t.Helper()
		if g, w := fmt.Sprint(got), fmt.Sprint(want); g != w {
			t.Errorf("%s:\n got  %s\n want %s", what, g, w)
		}
	}
	check("principal", out.Principal, r.rs.url+"/dav/principals/"+r.user+"/")
	check("calendars before", out.CalendarsBefore, []string{home + "calendar/"})
	check("new calendar", out.NewCalendar, home+"pytest/")
	check("calendars after", out.CalendarsAfter, []string{home + "calendar/", home + "pytest/"})
	check("displayname", out.DisplayName, "Python Test")
	if len(out.SyncInitial) != 3 {
		t.Errorf("initial sync: got %v, want the 3 objects saved", out.SyncInitial)
	}
	// June 2026, weekly on Wednesdays 09:00 Berlin (07:00 UTC) from 3 June,
	// 17 June excluded, 24 June moved to 14:00 Berlin (12:00 UTC).
	check("June, expanded", out.JuneExpanded, [][]string{
		{"py-single", "20260610T100000Z", "Single"},
		{"py-weekly", "20260603T070000Z", "Weekly"},
		{"py-weekly", "20260610T070000Z", "Weekly"},
		{"py-weekly", "20260624T120000Z", "Weekly moved"},
	})
	check("June, not expanded", out.JunePlain, []string{"py-single", "py-weekly"})
	check("July", out.July, []string{"py-weekly"}) // 1, 8, 15 and 22 July
	check("todos", out.Todos, []string{"py-todo"})
	if out.RawExpandStatus != http.StatusMultiStatus || out.RawExpandHasRRule || out.RawExpandRecurrence != 3 {
		t.Errorf("server-side expand: status %d, RRULE left %v, %d RECURRENCE-IDs (want 207, false, 3)", out.RawExpandStatus, out.RawExpandHasRRule, out.RawExpandRecurrence)
	}
	if len(out.SyncAfterPut) != 2 || len(out.SyncAfterPut[0]) != 1 || len(out.SyncAfterPut[1]) != 0 {
		t.Errorf("sync after one PUT: got %v, want one updated object", out.SyncAfterPut)
	}
	if len(out.SyncAfterDelete) != 2 || len(out.SyncAfterDelete[0]) != 0 || len(out.SyncAfterDelete[1]) != 1 {
		t.Errorf("sync after one DELETE: got %v, want one deleted object", out.SyncAfterDelete)
	}
	check("token changed", out.TokenChanged, true)
	check("events left", out.EventsLeft, []string{"py-late", "py-weekly"})
	r.rs.stop(t)
	if v := pimvault(t, "verify", "--data", r.data); v.code != 0 {
		t.Fatalf("verify after python3-caldav: %s", v)
	}
}

// calItem is one calendar object on one side: UID → SUMMARY of its master.
type calItem struct {
	name, etag, summary string
}

func parseCalItem(t *testing.T, where, name, body string) (string, calItem) {
	t.Helper()
	cal, err := ical.NewDecoder(strings.NewReader(body)).Decode()
	if err != nil {
		t.Fatalf("%s: %s is not iCalendar: %v\n%s", where, name, err, body)
	}
	for _, c := range cal.Children {
		if c.Name == ical.CompTimezone || c.Props.Get(ical.PropRecurrenceID) != nil {
			continue
		}
		uid, sum := c.Props.Get(ical.PropUID), c.Props.Get(ical.PropSummary)
		if uid == nil || sum == nil {
			t.Fatalf("%s: %s has no UID or SUMMARY:\n%s", where, name, body)
		}
		return uid.Value, calItem{name: name, summary: sum.Value}
	}
	t.Fatalf("%s: %s holds no master component:\n%s", where, name, body)
	return "", calItem{}
}

// calServerItems lists a calendar with PROPFIND Depth 1 and GETs each object.
func calServerItems(r *vdirRig, step, col string) map[string]calItem {
	r.t.Helper()
	resp := r.request("PROPFIND", col, `<?xml version="1.0" encoding="utf-8"?><D:propfind xmlns:D="DAV:"><D:prop><D:resourcetype/><D:getetag/></D:prop></D:propfind>`,
		"Depth", "1", "Content-Type", "application/xml; charset=utf-8")
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var ms davMultistatus
	if resp.StatusCode != http.StatusMultiStatus || xml.Unmarshal(raw, &ms) != nil {
		r.t.Fatalf("%s: PROPFIND %s: %s\n%s", step, col, resp.Status, raw)
	}
	items := map[string]calItem{}
	for _, m := range ms.Responses {
		if strings.HasSuffix(m.Href, "/") {
			continue
		}
		g := r.request(http.MethodGet, m.Href, "")
		body, _ := io.ReadAll(g.Body)
		g.Body.Close()
		if g.StatusCode != http.StatusOK {
			r.t.Fatalf("%s: GET %s: %s", step, m.Href, g.Status)
		}
		uid, it := parseCalItem(r.t, step+": server", m.Href, string(body))
		it.etag = g.Header.Get("ETag")
		items[uid] = it
	}
	return items
}

func calLocalItems(r *vdirRig, step, dir string) map[string]calItem {
	r.t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		r.t.Fatal(err)
	}
	items := map[string]calItem{}
	for _, e := range ents {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".ics") {
			continue
		}
		body, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			r.t.Fatal(err)
		}
		uid, it := parseCalItem(r.t, step+": local", e.Name(), string(body))
		items[uid] = it
	}
	return items
}

func summaries(items map[string]calItem) string {
	var out []string
	for uid, it := range items {
		out = append(out, uid+"="+it.summary)
	}
	sort.Strings(out)
	return strings.Join(out, " ")
}

// TestVdirsyncerAndKhalCalendar: vdirsyncer syncs the default calendar two
// ways with a folder; khal lists the synced events, recurrences included.
func TestVdirsyncerAndKhalCalendar(t *testing.T) {
	skipIfShort(t, "the real-client test (vdirsyncer and khal against the binary)")
	requireTools(t, "vdirsyncer", "khal")
	t.Parallel()
	r := newVdirRig(t)
	col := "/dav/calendars/" + r.user + "/calendar/"
	local := filepath.Join(r.dir, "cal", "calendar")
	if err := os.MkdirAll(local, 0o700); err != nil {
		t.Fatal(err)
	}
	conf := fmt.Sprintf(`[general]
status_path = %q

[pair cal]
a = "cal_local"
b = "cal_remote"
collections = ["from a", "from b"]
conflict_resolution = null

[storage cal_local]
type = "filesystem"
path = %q
fileext = ".ics"

[storage cal_remote]
type = "caldav"
url = %q
username = %q
password = %q
`, filepath.Join(r.dir, "status")+"/", filepath.Dir(local)+"/", r.rs.url+"/", r.user, r.password)
	if err := os.WriteFile(r.vdirsyncerConfig(), []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	khalConf := filepath.Join(r.dir, "khal.conf")
	if err := os.WriteFile(khalConf, []byte(fmt.Sprintf(`[calendars]
[[pimvault]]
path = %s/
type = calendar

[locale]
timeformat = %%H:%%M
dateformat = %%Y-%%m-%%d
longdateformat = %%Y-%%m-%%d
datetimeformat = %%Y-%%m-%%d %%H:%%M
longdatetimeformat = %%Y-%%m-%%d %%H:%%M
local_timezone = UTC
default_timezone = UTC

[default]
default_calendar = pimvault
`, local)), 0o600); err != nil {
		t.Fatal(err)
	}

	res := r.vdirsyncer("discover", true, "discover")
	if out := res.stdout + res.stderr; !strings.Contains(out, `collections = ["calendar"]`) && !strings.Contains(out, `"calendar"`) {
		t.Fatalf("discover: the default calendar is not listed:\n%s", out)
	}
	put := func(name, body, ifMatch string) {
		t.Helper()
		hdr := []string{"Content-Type", "text/calendar; charset=utf-8"}
		if ifMatch != "" {
			hdr = append(hdr, "If-Match", ifMatch)
		}
		resp := r.request(http.MethodPut, col+name, body, hdr...)
		msg, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusNoContent {
			t.Fatalf("PUT %s: %s\n%s", name, resp.Status, msg)
		}
	}
	// Server side: a single event, a weekly one with an override, an all-day one.
	put("standup.ics", calendarICS(
		eventICS("standup", "Standup", "DTSTART;TZID=Europe/Berlin:20260601T093000", "DTEND;TZID=Europe/Berlin:20260601T094500", "RRULE:FREQ=WEEKLY;COUNT=4"),
		eventICS("standup", "Standup late", "RECURRENCE-ID;TZID=Europe/Berlin:20260608T093000", "DTSTART;TZID=Europe/Berlin:20260608T113000", "DTEND;TZID=Europe/Berlin:20260608T114500")), "")
	put("review.ics", calendarICS(eventICS("review", "Review", "DTSTART:20260603T140000Z", "DTEND:20260603T150000Z")), "")
	put("holiday.ics", calendarICS(eventICS("holiday", "Holiday", "DTSTART;VALUE=DATE:20260611", "DTEND;VALUE=DATE:20260612")), "")
	// Local side: one event.
	if err := os.WriteFile(filepath.Join(local, "dentist.ics"), []byte(calendarICS(eventICS("dentist", "Dentist", "DTSTART:20260605T080000Z", "DTEND:20260605T090000Z"))), 0o600); err != nil {
		t.Fatal(err)
	}
	r.sync("first sync")
	want := "dentist=Dentist holiday=Holiday review=Review standup=Standup"
	server, localItems := calServerItems(r, "first sync", col), calLocalItems(r, "first sync", local)
	if summaries(server) != want || summaries(localItems) != want {
		t.Fatalf("first sync:\n server %s\n local  %s\n want   %s", summaries(server), summaries(localItems), want)
	}

	// Edit on the server, delete locally.
	put("review.ics", calendarICS(eventICS("review", "Review (moved)", "DTSTART:20260604T140000Z", "DTEND:20260604T150000Z")), server["review"].etag)
	if err := os.Remove(filepath.Join(local, localItems["holiday"].name)); err != nil {
		t.Fatal(err)
	}
	r.sync("second sync")
	want = "dentist=Dentist review=Review (moved) standup=Standup"
	server, localItems = calServerItems(r, "second sync", col), calLocalItems(r, "second sync", local)
	if summaries(server) != want || summaries(localItems) != want {
		t.Fatalf("second sync:\n server %s\n local  %s\n want   %s", summaries(server), summaries(localItems), want)
	}

	// khal lists June from the folder: the recurrence expanded, the override applied.
	kres := r.run("khal", "-c", khalConf, "list", "--format", "{start} {title}", "--day-format", "", "2026-06-01", "30d")
	if kres.code != 0 {
		t.Fatalf("khal list exited %d:\n%s%s", kres.code, kres.stdout, kres.stderr)
	}
	var lines []string
	for _, l := range strings.Split(kres.stdout, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			lines = append(lines, l)
		}
	}
	wantLines := []string{
		"2026-06-01 07:30 Standup",
		"2026-06-04 14:00 Review (moved)",
		"2026-06-05 08:00 Dentist",
		"2026-06-08 09:30 Standup late",
		"2026-06-15 07:30 Standup",
		"2026-06-22 07:30 Standup",
	}
	if strings.Join(lines, "\n") != strings.Join(wantLines, "\n") {
		t.Errorf("khal list:\n got\n%s\n want\n%s\n%s", strings.Join(lines, "\n"), strings.Join(wantLines, "\n"), kres.stderr)
	}
	r.rs.stop(t)
	if v := pimvault(t, "verify", "--data", r.data); v.code != 0 {
		t.Fatalf("verify after the calendar clients: %s", v)
	}
}
