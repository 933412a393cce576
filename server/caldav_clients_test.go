package server

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// hrefsOf lists the hrefs of a multistatus body, sorted.
func hrefsOf(body string) []string {
	out := hrefs(body)
	sort.Strings(out)
	return out
}

// A prop-filter text-match on UID inside comp-filter VTODO (what python-caldav's
// search(todo=True, uid=...) sends) matches only the todo with that UID; the
// default match-type is contains, so "todo-1" also matches "todo-10", and
// equals does not.
func TestCalendarQueryTextMatchUID(t *testing.T) {
	e := newTestEnv(t)
	if resp, body := e.do(t, "alice", "MKCALENDAR", "/dav/calendars/alice/tasks/", nil, ""); resp.StatusCode != http.StatusCreated {
		t.Fatalf("MKCALENDAR: %d %s", resp.StatusCode, body)
	}
	for _, uid := range []string{"todo-1", "todo-2", "todo-3", "todo-4", "todo-5", "todo-10"} {
		resp, body := e.do(t, "alice", "PUT", "/dav/calendars/alice/tasks/"+uid+".ics",
			map[string]string{"Content-Type": "text/calendar"}, vcal(vtodo(uid, "STATUS:NEEDS-ACTION", "CATEGORIES:home,errands")))
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("PUT %s: %d %s", uid, resp.StatusCode, body)
		}
	}
	query := func(filters string) []string {
		t.Helper()
		resp, body := e.do(t, "alice", "REPORT", "/dav/calendars/alice/tasks/", map[string]string{"Depth": "1"},
			`<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:getetag/></D:prop>`+
				`<C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VTODO">`+filters+
				`</C:comp-filter></C:comp-filter></C:filter></C:calendar-query>`)
		if resp.StatusCode != http.StatusMultiStatus {
			t.Fatalf("calendar-query: %d %s", resp.StatusCode, body)
		}
		return hrefsOf(body)
	}
	h := func(uids ...string) string {
		var out []string
		for _, u := range uids {
			out = append(out, "/dav/calendars/alice/tasks/"+u+".ics")
		}
		sort.Strings(out)
		return strings.Join(out, " ")
	}
	tests := []struct{ filter, want string }{
		{`<C:prop-filter name="UID"><C:text-match>todo-3</C:text-match></C:prop-filter>`, h("todo-3")},
		{`<C:prop-filter name="UID"><C:text-match collation="i;octet">todo-1</C:text-match></C:prop-filter>`, h("todo-1", "todo-10")},
		{`<C:prop-filter name="UID"><C:text-match match-type="equals">todo-1</C:text-match></C:prop-filter>`, h("todo-1")},
		{`<C:prop-filter name="UID"><C:text-match negate-condition="yes">todo-1</C:text-match></C:prop-filter>`, h("todo-2", "todo-3", "todo-4", "todo-5")},
		// python-caldav's todo search adds these before the UID filter.
		{`<C:prop-filter name="COMPLETED"><C:is-not-defined/></C:prop-filter>` +
			`<C:prop-filter name="STATUS"><C:text-match negate-condition="yes">COMPLETED</C:text-match></C:prop-filter>` +
			`<C:prop-filter name="STATUS"><C:text-match negate-condition="yes">CANCELLED</C:text-match></C:prop-filter>` +
			`<C:prop-filter name="UID"><C:text-match>todo-5</C:text-match></C:prop-filter>`, h("todo-5")},
		{`<C:prop-filter name="CATEGORIES"><C:text-match>ERRANDS</C:text-match></C:prop-filter>` +
			`<C:prop-filter name="UID"><C:text-match>todo-4</C:text-match></C:prop-filter>`, h("todo-4")},
	}
	// object_by_uid without a component type puts the prop-filter directly under
	// VCALENDAR: answered from the components.
	resp, body := e.do(t, "alice", "REPORT", "/dav/calendars/alice/tasks/", map[string]string{"Depth": "1"},
		`<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:getetag/></D:prop>`+
			`<C:filter><C:comp-filter name="VCALENDAR"><C:prop-filter name="UID"><C:text-match>todo-2</C:text-match></C:prop-filter>`+
			`</C:comp-filter></C:filter></C:calendar-query>`)
	if got := strings.Join(hrefsOf(body), " "); resp.StatusCode != http.StatusMultiStatus || got != h("todo-2") {
		t.Errorf("VCALENDAR-level UID filter: %d %s, want %s", resp.StatusCode, got, h("todo-2"))
	}
	for i, tt := range tests {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			if got := strings.Join(query(tt.filter), " "); got != tt.want {
				t.Errorf("filter %s\n got %s\nwant %s", tt.filter, got, tt.want)
			}
		})
	}
}

// The shapes of calendar/testdata/clients are stored over PUT; one the validator
// completed (no VERSION or PRODID, a METHOD removed) is answered without an
// ETag and read back completed, the others byte for byte with their ETag.
func TestPutClientShapes(t *testing.T) {
	e := newTestEnv(t)
	if resp, body := e.do(t, "alice", "MKCALENDAR", "/dav/calendars/alice/c/", nil, ""); resp.StatusCode != http.StatusCreated {
		t.Fatalf("MKCALENDAR: %d %s", resp.StatusCode, body)
	}
	files, err := filepath.Glob("../calendar/testdata/clients/*.ics")
	if err != nil || len(files) < 5 {
		t.Fatalf("client samples: %v %v", files, err)
	}
	for i, f := range files {
		sent, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		completed := !strings.Contains(string(sent), "VERSION:") || !strings.Contains(string(sent), "PRODID:") ||
			strings.Contains(string(sent), "\nMETHOD:")
		// Every sample gets its own UID so they can share one calendar.
		body := regexp.MustCompile(`(?m)^UID:.*$`).ReplaceAllString(string(sent), fmt.Sprintf("UID:client-%d", i))
		path := fmt.Sprintf("/dav/calendars/alice/c/%d.ics", i)
		resp, msg := e.do(t, "alice", "PUT", path, map[string]string{"Content-Type": "text/calendar; charset=utf-8"}, body)
		if resp.StatusCode != http.StatusCreated {
			t.Errorf("PUT %s: %d %s", filepath.Base(f), resp.StatusCode, msg)
			continue
		}
		if got := resp.Header.Get("ETag"); (got == "") != completed {
			t.Errorf("PUT %s: ETag %q, completed %v", filepath.Base(f), got, completed)
		}
		resp, got := e.do(t, "alice", "GET", path, nil, "")
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d", path, resp.StatusCode)
		}
		switch {
		case !completed && got != body:
			t.Errorf("GET %s: stored body differs from the one sent:\n%s", filepath.Base(f), got)
		case completed && (!strings.Contains(got, "VERSION:2.0") || !strings.Contains(got, "PRODID:") || strings.Contains(got, "\nMETHOD:")):
			t.Errorf("GET %s: not completed:\n%s", filepath.Base(f), got)
		}
	}
}
