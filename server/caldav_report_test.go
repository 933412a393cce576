package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-ical"
	"github.com/emersion/go-webdav/caldav"

	"github.com/pimvault/pimvault/calendar"
	"github.com/pimvault/pimvault/server/internal/dav"
	"github.com/pimvault/pimvault/storage"
)

// checkCalendarQueries runs time-range queries and an expand over the work
// calendar TestCalDAVClientFlow fills.
func checkCalendarQueries(t *testing.T, e *testEnv, cc *caldav.Client, work string) {
	t.Helper()
	ctx := context.Background()
	march := caldav.CalendarQuery{
		CompRequest: caldav.CalendarCompRequest{Name: "VCALENDAR", AllProps: true, AllComps: true},
		CompFilter: caldav.CompFilter{Name: "VCALENDAR", Comps: []caldav.CompFilter{{Name: "VEVENT",
			Start: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), End: time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)}}},
	}
	got, err := cc.QueryCalendar(ctx, work, &march)
	if err != nil {
		t.Fatalf("calendar-query: %v", err)
	}
	if u := strings.Join(uidsOf(got), ","); u != "allday,single,weekly" {
		t.Errorf("March query: got UIDs %s, want allday,single,weekly", u)
	}
	// Windows holding only the deleted instance (16 February, 09:00 Berlin
	// = 08:00 UTC) or only the moved instance's original time: nothing.
	for _, at := range []time.Time{time.Date(2026, 2, 16, 8, 0, 0, 0, time.UTC), time.Date(2026, 3, 2, 8, 0, 0, 0, time.UTC)} {
		q := march
		q.CompFilter.Comps = []caldav.CompFilter{{Name: "VEVENT", Start: at.Add(-30 * time.Minute), End: at.Add(90 * time.Minute)}}
		if got, err := cc.QueryCalendar(ctx, work, &q); err != nil || len(got) != 0 {
			t.Errorf("query over the instance of %v: got %v, %v; want nothing", q.CompFilter.Comps[0].Start, uidsOf(got), err)
		}
	}
	// expand: the March instances of the weekly event, in UTC, overrides applied.
	resp, body := e.do(t, "alice", "REPORT", work, map[string]string{"Depth": "1"},
		`<C:calendar-query `+calQueryNS+`><D:prop><C:calendar-data><C:expand start="20260301T000000Z" end="20260401T000000Z"/></C:calendar-data></D:prop>`+
			`<C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:prop-filter name="UID"><C:text-match collation="i;octet" match-type="equals">weekly</C:text-match></C:prop-filter>`+
			`<C:time-range start="20260301T000000Z" end="20260401T000000Z"/></C:comp-filter></C:comp-filter></C:filter></C:calendar-query>`)
	if resp.StatusCode != http.StatusMultiStatus {
		t.Fatalf("expand: %d %s", resp.StatusCode, body)
	}
	data := regexp.MustCompile(`(?s)<CAL:calendar-data>(.*?)</CAL:calendar-data>`).FindAllStringSubmatch(body, -1)
	if len(data) != 1 {
		t.Fatalf("expand: want one object, got %d:\n%s", len(data), body)
	}
	expanded := mustICal(t, strings.ReplaceAll(data[0][1], "&#13;", "\r"))
	var inst []string
	for _, c := range expanded.Children {
		if c.Name != ical.CompEvent {
			t.Errorf("expand left a %s in", c.Name)
			continue
		}
		if c.Props.Get(ical.PropRecurrenceRule) != nil {
			t.Errorf("an expanded instance keeps its RRULE")
		}
		rid, start := c.Props.Get(ical.PropRecurrenceID), c.Props.Get(ical.PropDateTimeStart)
		if rid == nil || start == nil {
			t.Fatalf("expanded instance without RECURRENCE-ID or DTSTART:\n%s", data[0][1])
		}
		inst = append(inst, rid.Value+"→"+start.Value)
	}
	sort.Strings(inst)
	if got, want := strings.Join(inst, " "), "20260302T080000Z→20260303T100000Z 20260309T080000Z→20260309T080000Z"; got != want {
		t.Errorf("expanded March instances:\n got  %s\n want %s", got, want)
	}

}

// checkCalendarExport checks GET of the work calendar.
func checkCalendarExport(t *testing.T, e *testEnv, work string) {
	t.Helper()
	// GET of the calendar: one iCalendar file with every object.
	resp, body := e.do(t, "alice", "GET", work, nil, "")
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/calendar") {
		t.Fatalf("GET calendar: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	exported := mustICal(t, body)
	uids := map[string]int{}
	for _, c := range exported.Children {
		if p := c.Props.Get(ical.PropUID); p != nil {
			uids[p.Value]++
		}
	}
	if len(uids) != 4 || uids["weekly"] != 2 || strings.Count(body, "BEGIN:VCALENDAR") != 1 {
		t.Errorf("export: got UIDs %v in\n%s", uids, body)
	}
}

// TestCalDAVQueryPreconditions: malformed or unsupported reports are refused
// with the precondition RFC 4791 names.
func TestCalDAVQueryPreconditions(t *testing.T) {
	e := newTestEnv(t)
	cal := "/dav/calendars/alice/calendar/"
	runPreconditionCases(t, e, []preconditionCase{
		{"query without VCALENDAR", "REPORT", cal, nil,
			`<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:getetag/></D:prop><C:filter><C:comp-filter name="VEVENT"/></C:filter></C:calendar-query>`, 403, dav.NSCalDAV, "valid-filter"},
		{"query with a local time-range", "REPORT", cal, nil,
			`<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:time-range start="20260101T000000"/></C:comp-filter></C:comp-filter></C:filter></C:calendar-query>`, 403, dav.NSCalDAV, "valid-filter"},
		{"query with an unknown collation", "REPORT", cal, nil,
			`<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:prop-filter name="SUMMARY"><C:text-match collation="i;klingon">x</C:text-match></C:prop-filter></C:comp-filter></C:comp-filter></C:filter></C:calendar-query>`, 403, dav.NSCalDAV, "supported-collation"},
		{"expand without an end", "REPORT", cal, nil,
			`<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><C:calendar-data><C:expand start="20260101T000000Z"/></C:calendar-data></D:prop><C:filter><C:comp-filter name="VCALENDAR"/></C:filter></C:calendar-query>`, 403, dav.NSCalDAV, "valid-filter"},
		{"calendar report on an address book", "REPORT", "/dav/addressbooks/alice/contacts/", nil,
			`<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><C:filter><C:comp-filter name="VCALENDAR"/></C:filter></C:calendar-query>`, 403, dav.NSDAV, "supported-report"},
	})
}

// TestCalDAVHostileQueries: reports over objects built to be expensive get a
// bounded, clear answer.
func TestCalDAVHostileQueries(t *testing.T) {
	e := newTestEnv(t)
	cal := "/dav/calendars/alice/calendar/"
	ct := map[string]string{"Content-Type": "text/calendar"}
	// Partial calendar-data leaves a 5 MiB DESCRIPTION out of the answer.
	big := vcal(vevent("big", "20260301T100000Z", "20260301T110000Z", "DESCRIPTION:"+strings.Repeat("lorem ipsum ", 5<<20/12)))
	if resp, body := e.do(t, "alice", "PUT", cal+"big.ics", ct, big); resp.StatusCode != http.StatusCreated {
		t.Fatalf("PUT of a 5 MiB event: %d %.300s", resp.StatusCode, body)
	}
	resp, body := e.do(t, "alice", "REPORT", cal, map[string]string{"Depth": "1"},
		`<C:calendar-query `+calQueryNS+`><D:prop><C:calendar-data><C:comp name="VCALENDAR"><C:prop name="VERSION"/><C:comp name="VEVENT"><C:prop name="SUMMARY"/><C:prop name="UID"/></C:comp></C:comp></C:calendar-data></D:prop>`+
			`<C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:time-range start="20260301T000000Z" end="20260302T000000Z"/></C:comp-filter></C:comp-filter></C:filter></C:calendar-query>`)
	if resp.StatusCode != http.StatusMultiStatus || !strings.Contains(body, "SUMMARY:Event big") || strings.Contains(body, "lorem") {
		t.Errorf("partial calendar-data of the big event: %d %.500s", resp.StatusCode, body)
	}

	// Every second, for ever: stored (its span is open-ended), and queries
	// over it get a bounded answer, not millions of instances.
	resp, body = e.do(t, "alice", "PUT", cal+"storm.ics", ct, vcal(vevent("storm", "20260101T000000Z", "20260101T000001Z", "RRULE:FREQ=SECONDLY")))
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("PUT of an every-second event: %d %s", resp.StatusCode, body)
	}
	yearFilter := `<C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:time-range start="20300101T000000Z" end="20310101T000000Z"/></C:comp-filter></C:comp-filter></C:filter>`
	resp, body = e.do(t, "alice", "REPORT", cal, map[string]string{"Depth": "1"},
		`<C:calendar-query `+calQueryNS+`><D:prop><D:getetag/></D:prop>`+yearFilter+`</C:calendar-query>`)
	switch {
	case resp.StatusCode == http.StatusMultiStatus && strings.Contains(body, "storm.ics"):
	case resp.StatusCode == http.StatusForbidden && strings.Contains(body, "max-instances"):
	default:
		t.Errorf("query over a year of an every-second event: %d %.500s", resp.StatusCode, body)
	}
	resp, body = e.do(t, "alice", "REPORT", cal, map[string]string{"Depth": "1"},
		`<C:calendar-query `+calQueryNS+`><D:prop><C:calendar-data><C:expand start="20300101T000000Z" end="20310101T000000Z"/></C:calendar-data></D:prop>`+yearFilter+`</C:calendar-query>`)
	// Expanded to its first instances in the range, not refused (one such event must not
	// fail every expand of its calendar).
	if n := strings.Count(body, "BEGIN:VEVENT"); resp.StatusCode != http.StatusMultiStatus || n < calendar.MaxInstances-10 || n > calendar.MaxInstances {
		t.Errorf("expand over a year of an every-second event: %d, %d instances; want 207 with at most %d", resp.StatusCode, n, calendar.MaxInstances)
	}

}

// FuzzCalendarQuery feeds arbitrary bodies to the calendar-query decoder: it
// never panics, and what it accepts is a VCALENDAR filter.
func FuzzCalendarQuery(f *testing.F) {
	for _, seed := range []string{
		`<C:calendar-query ` + calQueryNS + `><D:prop><D:getetag/></D:prop><C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:time-range start="20060104T000000Z" end="20060105T000000Z"/></C:comp-filter></C:comp-filter></C:filter></C:calendar-query>`,
		`<C:calendar-query ` + calQueryNS + `><D:prop><C:calendar-data><C:comp name="VCALENDAR"><C:allprop/><C:comp name="VEVENT"><C:prop name="UID" novalue="yes"/></C:comp></C:comp><C:expand start="20060103T000000Z" end="20060105T000000Z"/></C:calendar-data></D:prop><C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VTODO"><C:prop-filter name="COMPLETED"><C:is-not-defined/></C:prop-filter><C:prop-filter name="STATUS"><C:text-match negate-condition="yes">CANCELLED</C:text-match></C:prop-filter></C:comp-filter></C:comp-filter></C:filter></C:calendar-query>`,
		`<C:calendar-query ` + calQueryNS + `><C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:prop-filter name="ATTENDEE"><C:text-match collation="i;ascii-casemap">mailto:lisa@example.com</C:text-match><C:param-filter name="PARTSTAT"><C:text-match collation="i;ascii-casemap">NEEDS-ACTION</C:text-match></C:param-filter></C:prop-filter></C:comp-filter></C:comp-filter></C:filter></C:calendar-query>`,
		`<C:calendar-query ` + calQueryNS + `><C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:comp-filter name="VALARM"><C:time-range start="20060106T100000Z" end="20060107T100000Z"/></C:comp-filter></C:comp-filter></C:comp-filter></C:filter><C:timezone>BEGIN:VCALENDAR</C:timezone></C:calendar-query>`,
		`<C:calendar-query ` + calQueryNS + `><C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:time-range end="1"/></C:comp-filter></C:comp-filter></C:filter></C:calendar-query>`,
		`<C:calendar-query ` + calQueryNS + `/>`,
		`<x/>`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		if len(body) > dav.MaxXMLBytes || dav.CheckXML(body) != nil {
			return // readXMLBody refuses these first
		}
		q, filter, err := parseCalendarQuery(body)
		if err != nil {
			var de *dav.Error
			if !errors.As(err, &de) && dav.ToError(err).Status >= 500 {
				t.Fatalf("error without a client status: %v", err)
			}
			return
		}
		if q == nil || filter.Name != "VCALENDAR" {
			t.Fatalf("accepted a filter whose top is %q", filter.Name)
		}
		if tr, ok := indexRange(filter); ok && !tr.Start.IsZero() && !tr.End.IsZero() && !tr.Start.Before(tr.End) {
			t.Fatalf("accepted an empty time range %v", tr)
		}
	})
}

// TestCalDAVConcurrentQueries runs expanding queries while events are put
// and deleted (under -race: the parsed-object cache and the read paths are
// shared); every answer is a well-formed 207 naming only stored objects.
func TestCalDAVConcurrentQueries(t *testing.T) {
	e := newTestEnv(t)
	cal := "/dav/calendars/alice/calendar/"
	ct := map[string]string{"Content-Type": "text/calendar"}
	for i := 0; i < 20; i++ {
		uid := fmt.Sprintf("w%d", i)
		if resp, body := e.do(t, "alice", "PUT", cal+uid+".ics", ct, vcal(vevent(uid, "20260302T090000Z", "20260302T100000Z", "RRULE:FREQ=WEEKLY;COUNT=10"))); resp.StatusCode != http.StatusCreated {
			t.Fatalf("PUT: %d %s", resp.StatusCode, body)
		}
	}
	q := `<C:calendar-query ` + calQueryNS + `><D:prop><D:getetag/><C:calendar-data><C:expand start="20260301T000000Z" end="20260401T000000Z"/></C:calendar-data></D:prop>` +
		`<C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:time-range start="20260301T000000Z" end="20260401T000000Z"/></C:comp-filter></C:comp-filter></C:filter></C:calendar-query>`
	var wg sync.WaitGroup
	errs := make(chan string, 100)
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 10; i++ {
				resp, body := e.do(t, "alice", "REPORT", cal, map[string]string{"Depth": "1"}, q)
				if resp.StatusCode != http.StatusMultiStatus || strings.Contains(body, "404 Not Found") || strings.Count(body, "RRULE") != 0 {
					errs <- fmt.Sprintf("REPORT: %d %.300s", resp.StatusCode, body)
					return
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < 20; i++ {
			uid := fmt.Sprintf("n%d", i)
			e.do(t, "alice", "PUT", cal+uid+".ics", ct, vcal(vevent(uid, "20260310T090000Z", "20260310T100000Z", "RRULE:FREQ=DAILY;COUNT=5")))
			e.do(t, "alice", "DELETE", cal+fmt.Sprintf("w%d", i)+".ics", nil, "")
		}
	}()
	wg.Wait()
	close(errs)
	for msg := range errs {
		t.Error(msg)
	}
}

// TestCalDAVQueriesOlderObjects: an object stored under laxer rules than
// calendar.Parse applies now (here one with an X- component, written straight to
// the store) still answers queries and expands; it does not vanish.
func TestCalDAVQueriesOlderObjects(t *testing.T) {
	e := newTestEnv(t)
	cal := "/dav/calendars/alice/calendar/"
	e.do(t, "alice", "OPTIONS", "/dav/", nil, "") // signs in: the default calendar exists
	body := "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//old//EN\r\nBEGIN:X-OLD\r\nX-A:1\r\nEND:X-OLD\r\nBEGIN:VEVENT\r\nUID:old\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20260302T090000Z\r\n" +
		"DTEND:20260302T100000Z\r\nRRULE:FREQ=WEEKLY;COUNT=3\r\nSUMMARY:Old\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
	if _, err := calendar.Parse([]byte(body), nil); err == nil {
		t.Fatalf("Parse accepts the object; the test needs one it refuses")
	}
	start, end := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC).Unix(), time.Date(2026, 3, 16, 10, 0, 0, 0, time.UTC).Unix()
	if _, err := e.store.Commit(context.Background(), storage.Change{Op: storage.OpPut, Principal: "alice", Collection: "calendar",
		Name: "old.ics", Body: []byte(body), Meta: storage.ObjectMeta{UID: "old", Component: "VEVENT", Span: &storage.Span{Start: start, End: end}}}); err != nil {
		t.Fatal(err)
	}
	resp, got := e.do(t, "alice", "REPORT", cal, map[string]string{"Depth": "1"},
		`<C:calendar-query `+calQueryNS+`><D:prop><C:calendar-data><C:expand start="20260301T000000Z" end="20260401T000000Z"/></C:calendar-data></D:prop>`+
			`<C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:time-range start="20260309T000000Z" end="20260310T000000Z"/></C:comp-filter></C:comp-filter></C:filter></C:calendar-query>`)
	if resp.StatusCode != http.StatusMultiStatus || !strings.Contains(got, "old.ics") || strings.Count(got, "RECURRENCE-ID") != 3 {
		t.Errorf("query over an older object: %d\n%s", resp.StatusCode, got)
	}
}
