package server

import (
	"context"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/emersion/go-ical"
	"github.com/emersion/go-webdav"
	"github.com/emersion/go-webdav/caldav"

	"github.com/pimvault/pimvault/server/internal/dav"
)

// vcal wraps components in a VCALENDAR as a client sends it.
func vcal(components ...string) string {
	return "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//pimvault//test//EN\r\n" + strings.Join(components, "") + "END:VCALENDAR\r\n"
}

// vevent is a VEVENT with the given UID, DTSTART, DTEND and extra lines.
func vevent(uid, start, end string, extra ...string) string {
	s := "BEGIN:VEVENT\r\nUID:" + uid + "\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:" + start + "\r\n"
	if end != "" {
		s += "DTEND:" + end + "\r\n"
	}
	s += "SUMMARY:Event " + uid + "\r\n"
	for _, x := range extra {
		s += x + "\r\n"
	}
	return s + "END:VEVENT\r\n"
}

func vtodo(uid string, extra ...string) string {
	s := "BEGIN:VTODO\r\nUID:" + uid + "\r\nDTSTAMP:20260101T000000Z\r\nSUMMARY:Todo " + uid + "\r\n"
	for _, x := range extra {
		s += x + "\r\n"
	}
	return s + "END:VTODO\r\n"
}

func mustICal(t *testing.T, text string) *ical.Calendar {
	t.Helper()
	cal, err := ical.NewDecoder(strings.NewReader(text)).Decode()
	if err != nil {
		t.Fatalf("test calendar does not parse: %v\n%s", err, text)
	}
	return cal
}

// mkcalendarBody is an RFC 4791 §5.3.1 MKCALENDAR body.
func mkcalendarBody(props string) string {
	return `<?xml version="1.0" encoding="utf-8"?><C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:set><D:prop>` + props + `</D:prop></D:set></C:mkcalendar>`
}

const berlinTZ = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//x//y//EN\r\nBEGIN:VTIMEZONE\r\nTZID:Europe/Berlin\r\n" +
	"BEGIN:STANDARD\r\nDTSTART:19701025T030000\r\nRRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nEND:STANDARD\r\n" +
	"BEGIN:DAYLIGHT\r\nDTSTART:19700329T020000\r\nRRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200\r\nEND:DAYLIGHT\r\n" +
	"END:VTIMEZONE\r\nEND:VCALENDAR\r\n"

func uidsOf(objs []caldav.CalendarObject) []string {
	var out []string
	for _, o := range objs {
		for _, c := range o.Data.Children {
			if c.Name == ical.CompTimezone {
				continue
			}
			if p := c.Props.Get(ical.PropUID); p != nil {
				out = append(out, p.Value)
				break
			}
		}
	}
	sort.Strings(out)
	return out
}

// TestCalDAVClientFlow drives the server with go-webdav's CalDAV client as a
// calendar app does: discovery, MKCALENDAR, PUT, time-range query,
// multiget, sync-collection, collection export.
func TestCalDAVClientFlow(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	hc := webdav.HTTPClientWithBasicAuth(http.DefaultClient, "alice", testPassword)
	wc, err := webdav.NewClient(hc, e.srv.URL+"/dav/")
	if err != nil {
		t.Fatal(err)
	}
	principal, err := wc.FindCurrentUserPrincipal(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cc, err := caldav.NewClient(hc, e.srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	home, err := cc.FindCalendarHomeSet(ctx, principal)
	if err != nil || home != "/dav/calendars/alice/" {
		t.Fatalf("calendar-home-set: got %q, %v", home, err)
	}
	cals, err := cc.FindCalendars(ctx, home)
	if err != nil || len(cals) != 1 || cals[0].Path != "/dav/calendars/alice/calendar/" || cals[0].Name != "Calendar" {
		t.Fatalf("calendars: got %+v, %v; want the default one", cals, err)
	}
	if got := strings.Join(cals[0].SupportedComponentSet, ","); got != "VEVENT,VTODO,VJOURNAL" {
		t.Errorf("default calendar components: got %s", got)
	}
	resp, body := e.do(t, "alice", "OPTIONS", "/dav/calendars/alice/", nil, "")
	if !strings.Contains(resp.Header.Get("DAV"), "calendar-access") {
		t.Errorf("OPTIONS DAV header %q lacks calendar-access", resp.Header.Get("DAV"))
	}

	resp, body = e.do(t, "alice", "MKCALENDAR", "/dav/calendars/alice/office/", nil, mkcalendarBody(
		`<D:displayname>Work</D:displayname><C:calendar-description>Office</C:calendar-description>`+
			`<C:supported-calendar-component-set><C:comp name="VEVENT"/></C:supported-calendar-component-set>`+
			`<C:calendar-timezone>`+dav.XMLEscape(berlinTZ)+`</C:calendar-timezone>`))
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("MKCALENDAR: %d %s", resp.StatusCode, body)
	}
	cals, err = cc.FindCalendars(ctx, home)
	if err != nil || len(cals) != 2 {
		t.Fatalf("calendars after MKCALENDAR: %+v, %v", cals, err)
	}
	for _, c := range cals {
		if c.Path == "/dav/calendars/alice/office/" && (c.Name != "Work" || c.Description != "Office" || strings.Join(c.SupportedComponentSet, ",") != "VEVENT") {
			t.Errorf("work calendar: got %+v", c)
		}
	}

	work := "/dav/calendars/alice/office/"
	objects := map[string]string{
		"single.ics": vcal(vevent("single", "20260310T100000Z", "20260310T110000Z")),
		// Weekly on Mondays 09:00 Berlin from 5 Jan, 10 times (to 9 March),
		// the 2 March instance moved to Tuesday 3 March 11:00 and the 16
		// February one deleted.
		"weekly.ics": vcal(vevent("weekly", "20260105T090000", "20260105T100000", "RRULE:FREQ=WEEKLY;COUNT=10", "EXDATE:20260216T090000") +
			vevent("weekly", "20260303T110000", "20260303T120000", "RECURRENCE-ID:20260302T090000")),
		"april.ics": vcal(vevent("april", "20260415T120000Z", "20260415T130000Z")),
		"allday.ics": vcal("BEGIN:VEVENT\r\nUID:allday\r\nDTSTAMP:20260101T000000Z\r\nDTSTART;VALUE=DATE:20260331\r\n" +
			"DTEND;VALUE=DATE:20260402\r\nSUMMARY:Two days\r\nEND:VEVENT\r\n"),
	}
	// The weekly event's times are floating... give them the calendar's zone.
	objects["weekly.ics"] = strings.ReplaceAll(strings.ReplaceAll(objects["weekly.ics"], "DTSTART:", "DTSTART;TZID=Europe/Berlin:"), "DTEND:", "DTEND;TZID=Europe/Berlin:")
	objects["weekly.ics"] = strings.ReplaceAll(strings.ReplaceAll(objects["weekly.ics"], "EXDATE:", "EXDATE;TZID=Europe/Berlin:"), "RECURRENCE-ID:", "RECURRENCE-ID;TZID=Europe/Berlin:")
	names := []string{"single.ics", "weekly.ics", "april.ics", "allday.ics"}
	var paths []string
	for _, n := range names {
		obj, err := cc.PutCalendarObject(ctx, work+n, mustICal(t, objects[n]))
		if err != nil {
			t.Fatalf("put %s: %v", n, err)
		}
		paths = append(paths, obj.Path)
	}
	// The body is stored exactly as sent.
	for _, n := range []string{"single.ics", "weekly.ics"} {
		_, got := e.do(t, "alice", "GET", work+n, nil, "")
		if !strings.Contains(got, "UID:"+strings.TrimSuffix(n, ".ics")) {
			t.Errorf("GET %s: got %q", n, got)
		}
	}

	mg, err := cc.MultiGetCalendar(ctx, work, &caldav.CalendarMultiGet{Paths: paths[:2],
		CompRequest: caldav.CalendarCompRequest{Name: "VCALENDAR", AllProps: true, AllComps: true}})
	if err != nil || strings.Join(uidsOf(mg), ",") != "single,weekly" {
		t.Fatalf("multiget: got %v, %v", uidsOf(mg), err)
	}

	// sync-collection on a calendar.
	tok := syncTokenOf(t, e, work, "")
	if _, err := cc.PutCalendarObject(ctx, work+"late.ics", mustICal(t, vcal(vevent("late", "20260501T100000Z", "20260501T110000Z")))); err != nil {
		t.Fatal(err)
	}
	if resp, body := e.do(t, "alice", "DELETE", work+"april.ics", nil, ""); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("DELETE: %d %s", resp.StatusCode, body)
	}
	_, body = e.do(t, "alice", "REPORT", work, map[string]string{"Content-Type": "application/xml"}, syncBody(tok))
	if !strings.Contains(body, "late.ics</D:href><D:propstat>") || !strings.Contains(body, "april.ics</D:href><D:status>HTTP/1.1 404") || strings.Contains(body, "single.ics") {
		t.Errorf("incremental sync-collection: got %s", body)
	}

	checkCalendarQueries(t, e, cc, work)
	checkCalendarExport(t, e, work)
}

var syncTokenRE = regexp.MustCompile(`<D:sync-token>([^<]+)</D:sync-token>`)

func syncBody(tok string) string {
	return `<?xml version="1.0"?><D:sync-collection xmlns:D="DAV:"><D:sync-token>` + tok +
		`</D:sync-token><D:sync-level>1</D:sync-level><D:prop><D:getetag/></D:prop></D:sync-collection>`
}

// syncTokenOf runs a sync-collection and returns the new token.
func syncTokenOf(t *testing.T, e *testEnv, path, tok string) string {
	t.Helper()
	resp, body := e.do(t, "alice", "REPORT", path, map[string]string{"Content-Type": "application/xml"}, syncBody(tok))
	m := syncTokenRE.FindStringSubmatch(body)
	if resp.StatusCode != http.StatusMultiStatus || m == nil {
		t.Fatalf("sync-collection: %d %s", resp.StatusCode, body)
	}
	return m[1]
}
