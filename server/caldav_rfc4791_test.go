package server

import (
	"fmt"
	"net/http"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// TestRFC4791AppendixB stores the example calendar of RFC 4791 Appendix B
// (the calendar package's test vectors) over HTTP and sends the RFC's
// example reports (§7.8.1–§7.8.9, §7.9.1, §7.10.1) as XML: each answers
// with the resources the RFC gives.
func TestRFC4791AppendixB(t *testing.T) {
	e := newTestEnv(t)
	cal := "/dav/calendars/alice/rfc/"
	if resp, body := e.do(t, "alice", "MKCALENDAR", cal, nil, mkcalendarBody(`<C:supported-calendar-component-set>`+
		`<C:comp name="VEVENT"/><C:comp name="VTODO"/><C:comp name="VJOURNAL"/><C:comp name="VFREEBUSY"/></C:supported-calendar-component-set>`)); resp.StatusCode != http.StatusCreated {
		t.Fatalf("MKCALENDAR: %d %s", resp.StatusCode, body)
	}
	for i := 1; i <= 8; i++ {
		name := fmt.Sprintf("abcd%d.ics", i)
		body, err := os.ReadFile("../calendar/testdata/rfc4791/" + name)
		if err != nil {
			t.Fatal(err)
		}
		if resp, msg := e.do(t, "alice", "PUT", cal+name, map[string]string{"Content-Type": "text/calendar"}, string(body)); resp.StatusCode != http.StatusCreated {
			t.Fatalf("PUT %s: %d %s", name, resp.StatusCode, msg)
		}
	}
	const ns = `xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"`
	query := func(prop, filter string) string {
		return `<?xml version="1.0" encoding="utf-8"?><C:calendar-query ` + ns + `><D:prop>` + prop + `</D:prop><C:filter>` + filter + `</C:filter></C:calendar-query>`
	}
	events := func(inner string) string {
		return `<C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT">` + inner + `</C:comp-filter></C:comp-filter>`
	}
	tests := []struct {
		section, body string
		want          []string
	}{
		{"7.8.1 expand", query(`<D:getetag/><C:calendar-data><C:comp name="VCALENDAR"><C:prop name="VERSION"/><C:comp name="VEVENT"><C:prop name="SUMMARY"/><C:prop name="UID"/><C:prop name="DTSTART"/><C:prop name="DTEND"/><C:prop name="DURATION"/><C:prop name="RRULE"/><C:prop name="RDATE"/><C:prop name="EXRULE"/><C:prop name="EXDATE"/><C:prop name="RECURRENCE-ID"/></C:comp><C:comp name="VTIMEZONE"/></C:comp>`+
			`<C:expand start="20060103T000000Z" end="20060105T000000Z"/></C:calendar-data>`,
			events(`<C:time-range start="20060103T000000Z" end="20060105T000000Z"/>`)), []string{"abcd2.ics", "abcd3.ics"}},
		{"7.8.2 limit-recurrence-set", query(`<C:calendar-data><C:limit-recurrence-set start="20060103T000000Z" end="20060105T000000Z"/></C:calendar-data>`,
			events(`<C:time-range start="20060103T000000Z" end="20060105T000000Z"/>`)), []string{"abcd2.ics", "abcd3.ics"}},
		{"7.8.3 limit-recurrence-set, other range", query(`<C:calendar-data><C:limit-recurrence-set start="20060104T000000Z" end="20060105T000000Z"/></C:calendar-data>`,
			events(`<C:time-range start="20060104T000000Z" end="20060105T000000Z"/>`)), []string{"abcd2.ics", "abcd3.ics"}},
		{"7.8.4 stored free busy", query(`<C:calendar-data><C:limit-freebusy-set start="20060102T000000Z" end="20060103T000000Z"/></C:calendar-data>`,
			`<C:comp-filter name="VCALENDAR"><C:comp-filter name="VFREEBUSY"><C:time-range start="20060102T000000Z" end="20060103T000000Z"/></C:comp-filter></C:comp-filter>`), []string{"abcd8.ics"}},
		{"7.8.5 to-dos by alarm", query(`<C:calendar-data/>`,
			`<C:comp-filter name="VCALENDAR"><C:comp-filter name="VTODO"><C:comp-filter name="VALARM"><C:time-range start="20060106T100000Z" end="20060107T100000Z"/></C:comp-filter></C:comp-filter></C:comp-filter>`), []string{"abcd5.ics"}},
		{"7.8.6 event by UID", query(`<D:getetag/><C:calendar-data/>`,
			events(`<C:prop-filter name="UID"><C:text-match collation="i;octet">DC6C50A017428C5216A2F1CD@example.com</C:text-match></C:prop-filter>`)), []string{"abcd3.ics"}},
		{"7.8.7 events by PARTSTAT", query(`<D:getetag/><C:calendar-data/>`,
			events(`<C:prop-filter name="ATTENDEE"><C:text-match collation="i;ascii-casemap">mailto:lisa@example.com</C:text-match><C:param-filter name="PARTSTAT"><C:text-match collation="i;ascii-casemap">NEEDS-ACTION</C:text-match></C:param-filter></C:prop-filter>`)), []string{"abcd3.ics"}},
		{"7.8.8 events only", query(`<D:getetag/><C:calendar-data/>`, events(``)), []string{"abcd1.ics", "abcd2.ics", "abcd3.ics"}},
		{"7.8.9 pending to-dos", query(`<D:getetag/><C:calendar-data/>`,
			`<C:comp-filter name="VCALENDAR"><C:comp-filter name="VTODO"><C:prop-filter name="COMPLETED"><C:is-not-defined/></C:prop-filter><C:prop-filter name="STATUS"><C:text-match negate-condition="yes">CANCELLED</C:text-match></C:prop-filter></C:comp-filter></C:comp-filter>`), []string{"abcd4.ics", "abcd5.ics"}},
	}
	hrefRE := regexp.MustCompile(`<D:href>` + regexp.QuoteMeta(cal) + `([^<]+)</D:href><D:propstat>`)
	for _, tt := range tests {
		t.Run(tt.section, func(t *testing.T) {
			resp, body := e.do(t, "alice", "REPORT", cal, map[string]string{"Depth": "1", "Content-Type": "application/xml"}, tt.body)
			if resp.StatusCode != http.StatusMultiStatus {
				t.Fatalf("%d %s", resp.StatusCode, body)
			}
			var got []string
			for _, m := range hrefRE.FindAllStringSubmatch(body, -1) {
				got = append(got, m[1])
			}
			sort.Strings(got)
			if strings.Join(got, " ") != strings.Join(tt.want, " ") {
				t.Errorf("got %v, want %v\n%s", got, tt.want, body)
			}
			if strings.Contains(body, "404 Not Found") {
				t.Errorf("a requested property is missing:\n%s", body)
			}
			switch tt.section {
			case "7.8.1 expand":
				if strings.Contains(body, "RRULE") || strings.Count(body, "RECURRENCE-ID") != 2 || strings.Contains(body, "BEGIN:VTIMEZONE") {
					t.Errorf("expanded answer: want two instances of Event #2 with RECURRENCE-ID, no RRULE, no VTIMEZONE:\n%s", body)
				}
			case "7.8.2 limit-recurrence-set":
				if !strings.Contains(body, "RRULE:FREQ=DAILY;COUNT=5") || strings.Count(body, "RECURRENCE-ID") != 1 || strings.Contains(body, "Event #2 bis bis") {
					t.Errorf("limited answer: want the master with its RRULE and the Jan 4 override, not the Jan 6 one:\n%s", body)
				}
			case "7.8.4 stored free busy":
				if !strings.Contains(body, "FREEBUSY") || strings.Contains(body, "20060104T") {
					t.Errorf("limit-freebusy-set: want only Jan 2 periods:\n%s", body)
				}
			}
		})
	}

	// A to-do with no time at all matches every time range (RFC 4791 §9.9):
	// the span index returns it for any range, here one far from the others.
	nodate := "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//x//y//EN\r\nBEGIN:VTODO\r\nUID:nodate\r\nDTSTAMP:20060101T000000Z\r\nSUMMARY:Some day\r\nEND:VTODO\r\nEND:VCALENDAR\r\n"
	if resp, msg := e.do(t, "alice", "PUT", cal+"nodate.ics", map[string]string{"Content-Type": "text/calendar"}, nodate); resp.StatusCode != http.StatusCreated {
		t.Fatalf("PUT nodate.ics: %d %s", resp.StatusCode, msg)
	}
	_, body := e.do(t, "alice", "REPORT", cal, map[string]string{"Depth": "1"}, query(`<D:getetag/>`,
		`<C:comp-filter name="VCALENDAR"><C:comp-filter name="VTODO"><C:time-range start="20300101T000000Z" end="20300102T000000Z"/></C:comp-filter></C:comp-filter>`))
	if got := hrefRE.FindAllStringSubmatch(body, -1); len(got) != 1 || got[0][1] != "nodate.ics" {
		t.Errorf("to-dos in 2030: got %v, want nodate.ics only\n%s", got, body)
	}

	// GET of the calendar: one file, US/Eastern (in four objects) once.
	resp, body := e.do(t, "alice", "GET", cal, nil, "")
	exported := mustICal(t, body)
	uids := map[string]bool{}
	for _, c := range exported.Children {
		if p := c.Props.Get("UID"); p != nil {
			uids[p.Value] = true
		}
	}
	if resp.StatusCode != http.StatusOK || len(uids) != 9 || strings.Count(body, "BEGIN:VTIMEZONE") != 1 || strings.Count(body, "TZID:US/Eastern") != 1 {
		t.Errorf("export: %d, %d UIDs, %d VTIMEZONEs, want 200, 9, 1:\n%s", resp.StatusCode, len(uids), strings.Count(body, "BEGIN:VTIMEZONE"), body)
	}

	// §7.9.1: calendar-multiget of an existing and a missing resource.
	resp, body = e.do(t, "alice", "REPORT", cal, map[string]string{"Depth": "1"},
		`<?xml version="1.0" encoding="utf-8"?><C:calendar-multiget `+ns+`><D:prop><D:getetag/><C:calendar-data/></D:prop>`+
			`<D:href>`+cal+`abcd1.ics</D:href><D:href>`+cal+`mtg1.ics</D:href></C:calendar-multiget>`)
	if resp.StatusCode != http.StatusMultiStatus || !strings.Contains(body, "abcd1.ics</D:href><D:propstat>") ||
		!strings.Contains(body, "mtg1.ics</D:href><D:status>HTTP/1.1 404 Not Found") || !strings.Contains(body, "SUMMARY:Event #1") {
		t.Errorf("7.9.1 multiget: %d %s", resp.StatusCode, body)
	}

	// §7.10.1: free-busy over Jan 4 14:00Z – Jan 5 22:00Z.
	resp, body = e.do(t, "alice", "REPORT", cal, map[string]string{"Depth": "1"},
		`<?xml version="1.0" encoding="utf-8"?><C:free-busy-query xmlns:C="urn:ietf:params:xml:ns:caldav"><C:time-range start="20060104T140000Z" end="20060105T220000Z"/></C:free-busy-query>`)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/calendar") {
		t.Fatalf("7.10.1 free-busy-query: %d %s %s", resp.StatusCode, resp.Header.Get("Content-Type"), body)
	}
	fb := mustICal(t, body)
	if len(fb.Children) != 1 || fb.Children[0].Name != "VFREEBUSY" {
		t.Fatalf("free-busy answer: want one VFREEBUSY:\n%s", body)
	}
	var periods []string
	for _, p := range fb.Children[0].Props.Values("FREEBUSY") {
		for _, v := range strings.Split(p.Value, ",") {
			start, end, err := parsePeriod(v)
			if err != nil {
				t.Fatalf("period %q: %v", v, err)
			}
			typ := p.Params.Get("FBTYPE")
			if typ == "" {
				typ = "BUSY"
			}
			periods = append(periods, typ+" "+start.Format(icalUTC)+"/"+end.Format(icalUTC))
		}
	}
	sort.Strings(periods)
	want := []string{
		"BUSY 20060104T190000Z/20060104T200000Z",
		"BUSY 20060105T170000Z/20060105T180000Z",
		"BUSY-TENTATIVE 20060104T150000Z/20060104T160000Z",
		"BUSY-UNAVAILABLE 20060105T100000Z/20060105T120000Z",
	}
	if strings.Join(periods, "\n") != strings.Join(want, "\n") {
		t.Errorf("free-busy periods:\n got\n%s\n want\n%s", strings.Join(periods, "\n"), strings.Join(want, "\n"))
	}
}
