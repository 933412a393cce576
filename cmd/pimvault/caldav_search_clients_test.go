package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
)

// python3-caldav (Debian) against the real binary: text-match searches on
// UID, SUMMARY and CATEGORIES (alone, together, with the pending-to-do
// queries' negated and is-not-defined STATUS filters) find exactly the
// matching todos; every sample
// of calendar/testdata/clients (the shapes iOS, Thunderbird, Evolution, task
// apps and client libraries send) is saved and read back; and an app password
// signs the library in until it is revoked, after which it gets 401.
const pythonSearchScript = `import json, sys
import caldav
from caldav.lib import error

mode, url, user, password = sys.argv[1:5]
client = caldav.DAVClient(url=url, username=user, password=password)
out = {}
if mode == "signin":
    try:
        out["calendars"] = len(client.principal().calendars())
    except error.AuthorizationError as e:
        out["error"] = "401" if "401" in str(e) or "Unauthorized" in str(e) else str(e)
    print(json.dumps(out))
    sys.exit(0)

samples = sys.argv[5:]
principal = client.principal()
tasks = principal.make_calendar(name="Tasks", cal_id="tasks", supported_calendar_component_set=["VTODO"])
todos = {1: ("home", "NEEDS-ACTION"), 2: ("work", "NEEDS-ACTION"), 3: ("home,errands", "NEEDS-ACTION"),
         4: ("work", "NEEDS-ACTION"), 5: ("errands", "NEEDS-ACTION"), 6: ("home", "NEEDS-ACTION"),
         7: ("errands", "COMPLETED"), 8: ("errands", None), 9: ("errands", "CANCELLED")}
for i, (cats, status) in todos.items():
    extra = ""
    if status:
        extra += "STATUS:%s\r\n" % status
    if status == "COMPLETED":
        extra += "COMPLETED:20260102T000000Z\r\n"
    tasks.save_todo("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//pimvault//python test//EN\r\nBEGIN:VTODO\r\n"
                    "UID:todo-%d\r\nDTSTAMP:20260101T000000Z\r\nSUMMARY:Todo number %d\r\nCATEGORIES:%s\r\n"
                    "%sEND:VTODO\r\nEND:VCALENDAR\r\n" % (i, i, cats, extra))

def uids(objs):
    return sorted(o.icalendar_component["UID"] for o in objs)

out["uid_todo"] = uids(tasks.search(todo=True, uid="todo-3"))
out["uid_any"] = uids(tasks.search(uid="todo-4"))
out["object_by_uid"] = str(tasks.object_by_uid("todo-5").icalendar_component["UID"])
out["summary"] = uids(tasks.search(todo=True, summary="number 2"))
out["category"] = uids(tasks.search(todo=True, category="errands"))
out["category_all"] = uids(tasks.search(todo=True, category="errands", include_completed=True))
# The three queries search(todo=True) sends for pending to-dos, one by one:
# python-caldav filters their merged answer again on the client, which would
# hide a server that matches too much.
for n in (1, 2, 3):
    out["pending%d" % n] = uids(tasks.search(todo=True, category="errands", include_completed=True,
                                             **{"ignore_completed%d" % n: True}))
out["category_home"] = uids(tasks.search(todo=True, category="home"))
out["summary_case"] = uids(tasks.search(todo=True, summary="NUMBER 2"))
out["summary_and_category"] = uids(tasks.search(todo=True, summary="number", category="work"))
out["uid_none"] = uids(tasks.search(uid="todo-99"))

cal = principal.make_calendar(name="Samples", cal_id="samples")
saved = {}
for path in samples:
    with open(path, newline="") as f:
        body = f.read()
    obj = cal.save_event(body) if "BEGIN:VTODO" not in body else None
    if obj is None:
        saved[path.rsplit("/", 1)[-1]] = "todo"
        continue
    obj.load()
    saved[path.rsplit("/", 1)[-1]] = str(obj.icalendar_component["UID"])
out["saved"] = saved
out["event_uids"] = uids(cal.events())
print(json.dumps(out))
`

var uidLine = regexp.MustCompile(`(?m)^UID:(.*?)\r?$`)

func TestPythonCalDAVSearchAndClientShapes(t *testing.T) {
	skipIfShort(t, "the real-client test (python3-caldav searches, client samples, app passwords)")
	requireTools(t, debianPython)
	r := newVdirRig(t)
	if res := r.run(debianPython, "-c", "import caldav"); res.code != 0 {
		requireClient(t, "python3-caldav not installed: apt-get install -y python3-caldav; .ci/run installs it", res.stderr)
	}
	script := filepath.Join(t.TempDir(), "caldav_search.py")
	if err := os.WriteFile(script, []byte(pythonSearchScript), 0o600); err != nil {
		t.Fatal(err)
	}
	samples, err := filepath.Glob("../../calendar/testdata/clients/*.ics")
	if err != nil || len(samples) < 8 {
		t.Fatalf("client samples: %v %v", samples, err)
	}
	wantUIDs := map[string]string{}
	var events []string
	for _, s := range samples {
		abs, _ := filepath.Abs(s)
		b, err := os.ReadFile(abs)
		if err != nil {
			t.Fatal(err)
		}
		// Unfolded first: a long UID (Outlook's) is folded like any line.
		m := uidLine.FindSubmatch(regexp.MustCompile(`\r?\n[ \t]`).ReplaceAll(b, nil))
		if m == nil {
			t.Fatalf("%s has no UID", s)
		}
		if strings.Contains(string(b), "BEGIN:VTODO") {
			wantUIDs[filepath.Base(s)] = "todo"
		} else {
			wantUIDs[filepath.Base(s)] = string(m[1])
			events = append(events, string(m[1]))
		}
	}
	args := []string{script, "main", r.rs.url + "/", r.user, r.password}
	for _, s := range samples {
		abs, _ := filepath.Abs(s)
		args = append(args, abs)
	}
	res := r.run(debianPython, args...)
	if res.code != 0 {
		t.Fatalf("python3-caldav script exited %d:\n%s%s\n--- server log:\n%s", res.code, res.stdout, res.stderr, r.rs.stderr.String())
	}
	var out struct {
		UIDTodo     []string          `json:"uid_todo"`
		UIDAny      []string          `json:"uid_any"`
		ObjectByUID string            `json:"object_by_uid"`
		Summary     []string          `json:"summary"`
		Category    []string          `json:"category"`
		CategoryAll []string          `json:"category_all"`
		Pending1    []string          `json:"pending1"`
		Pending2    []string          `json:"pending2"`
		Pending3    []string          `json:"pending3"`
		Home        []string          `json:"category_home"`
		SummaryCase []string          `json:"summary_case"`
		SummaryCat  []string          `json:"summary_and_category"`
		UIDNone     []string          `json:"uid_none"`
		Saved       map[string]string `json:"saved"`
		EventUIDs   []string          `json:"event_uids"`
	}
	if err := json.Unmarshal([]byte(res.stdout), &out); err != nil {
		t.Fatalf("script output: %v\n%s%s", err, res.stdout, res.stderr)
	}
	check := func(what string, got, want any) {
		t.Helper()
		if g, w := fmt.Sprint(got), fmt.Sprint(want); g != w {
			t.Errorf("%s:\n got  %s\n want %s", what, g, w)
		}
	}
	check("search(todo=True, uid=todo-3)", out.UIDTodo, []string{"todo-3"})
	check("search(uid=todo-4) without a type", out.UIDAny, []string{"todo-4"})
	check("object_by_uid(todo-5)", out.ObjectByUID, "todo-5")
	check("search(summary=number 2)", out.Summary, []string{"todo-2"})
	// python-caldav sends every text-match with i;octet and no match-type
	// (contains). Pending to-dos: todo-7 is completed, todo-9 cancelled,
	// todo-8 has no STATUS.
	check("search(category=errands)", out.Category, []string{"todo-3", "todo-5", "todo-8"})
	check("search(category=errands, include_completed)", out.CategoryAll, []string{"todo-3", "todo-5", "todo-7", "todo-8", "todo-9"})
	// COMPLETED not defined, STATUS negated text-matches COMPLETED and CANCELLED (RFC 4791 §7.8.9).
	check("pending query 1 (negated STATUS)", out.Pending1, []string{"todo-3", "todo-5"})
	// COMPLETED and STATUS not defined.
	check("pending query 2 (STATUS not defined)", out.Pending2, []string{"todo-8"})
	// STATUS contains NEEDS-ACTION.
	check("pending query 3 (STATUS NEEDS-ACTION)", out.Pending3, []string{"todo-3", "todo-5"})
	check("search(category=home)", out.Home, []string{"todo-1", "todo-3", "todo-6"})
	check("search(summary=NUMBER 2) under i;octet", out.SummaryCase, []string{})
	check("search(summary=number, category=work)", out.SummaryCat, []string{"todo-2", "todo-4"})
	check("search(uid=todo-99)", out.UIDNone, []string{})
	check("samples saved and read back", out.Saved, wantUIDs)
	// python-caldav names a new object by its UID, so samples sharing a UID
	// (the minimal ones all use "a") replace each other: one event per UID.
	sort.Strings(events)
	events = slices.Compact(events)
	check("events in the samples calendar", out.EventUIDs, events)

	// An app password signs the library in; once revoked it gets 401.
	add := pimvault(t, "user", "app-password", "add", r.user, "--label", "python-caldav", "--data", r.data)
	token := appToken.FindString(add.stdout)
	if add.code != 0 || token == "" {
		t.Fatalf("app-password add: %s", add)
	}
	id := strings.Fields(strings.TrimPrefix(add.stdout, "app password "))[0]
	signIn := func() string {
		t.Helper()
		res := r.run(debianPython, script, "signin", r.rs.url+"/", r.user, token)
		if res.code != 0 {
			t.Fatalf("sign-in script exited %d:\n%s%s", res.code, res.stdout, res.stderr)
		}
		return strings.TrimSpace(res.stdout)
	}
	if got := signIn(); !strings.Contains(got, `"calendars": 3`) {
		t.Errorf("sign-in with the app password: %s", got)
	}
	if rv := pimvault(t, "user", "app-password", "revoke", r.user, id, "--data", r.data); rv.code != 0 {
		t.Fatalf("revoke: %s", rv)
	}
	if got := signIn(); !strings.Contains(got, `"error": "401"`) {
		t.Errorf("sign-in with the revoked app password: %s, want a 401", got)
	}
}
