package server

import (
	"encoding/xml"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pimvault/pimvault/calendar"
)

// doWithin is e.do with a client timeout: a PUT that never answers fails the test
// instead of hanging it.
func (e *testEnv) doWithin(t *testing.T, d time.Duration, method, path string, hdr map[string]string, body string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth("alice", testPassword)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := (&http.Client{Timeout: d}).Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// TestCalDAVRecurrenceWithinLimits: a rule that never occurs (the PUT never answered,
// one core spinning) and one too costly per instance are refused at once with
// valid-calendar-data and a message naming the problem; characters XML cannot carry are
// refused; an event with an instance every second for ever does not make the expand and
// free-busy reports of its calendar fail.
func TestCalDAVRecurrenceWithinLimits(t *testing.T) {
	e := newTestEnv(t)
	cal := "/dav/calendars/alice/calendar/"
	ct := map[string]string{"Content-Type": "text/calendar"}
	// (the first request creates alice's default collections)
	e.do(t, "alice", "PROPFIND", cal, map[string]string{"Depth": "0"}, "")
	head := e.store.Head()
	for _, tt := range []struct{ name, line, msg string }{
		{"never", "RRULE:FREQ=HOURLY;INTERVAL=2;BYHOUR=1", "never occurs"},
		{"in-vtimezone", "", "never occurs"},
		{"costly", "RRULE:FREQ=SECONDLY;INTERVAL=7;BYHOUR=1;BYMINUTE=0;BYSECOND=0", "steps to find its next instance"},
		{"control", "DESCRIPTION:a\x01b\x1bc", "U+0001"},
		{"nonchar", "SUMMARY:\uFFFE", "U+FFFE"},
	} {
		body := vcal(vevent(tt.name, "20260101T000000Z", "20260101T010000Z", tt.line))
		if tt.name == "in-vtimezone" {
			body = vcal("BEGIN:VTIMEZONE\r\nTZID:Custom\r\nBEGIN:STANDARD\r\nDTSTART:19701025T030000\r\nRRULE:FREQ=HOURLY;INTERVAL=2;BYHOUR=2\r\n"+
				"TZOFFSETFROM:+0200\r\nTZOFFSETTO:+0100\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n",
				strings.Replace(vevent(tt.name, "20260101T000000", ""), "DTSTART:", "DTSTART;TZID=Custom:", 1))
		}
		start := time.Now()
		resp, rbody := e.doWithin(t, 20*time.Second, "PUT", cal+tt.name+".ics", ct, body)
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(rbody, "valid-calendar-data") || !strings.Contains(rbody, tt.msg) {
			t.Errorf("PUT %s: %d %.300s; want 403 valid-calendar-data saying %q", tt.name, resp.StatusCode, rbody, tt.msg)
		}
		t.Logf("PUT %s: %d in %v", tt.name, resp.StatusCode, time.Since(start))
	}
	if e.store.Head() != head {
		t.Errorf("refused PUTs changed the store")
	}

	for name, body := range map[string]string{
		"storm.ics":   vcal(vevent("storm", "20260101T000000Z", "20260101T000001Z", "RRULE:FREQ=SECONDLY")),
		"meeting.ics": vcal(vevent("meeting", "20260302T100000Z", "20260302T110000Z")),
	} {
		if resp, rbody := e.doWithin(t, 20*time.Second, "PUT", cal+name, ct, body); resp.StatusCode != http.StatusCreated {
			t.Fatalf("PUT %s: %d %s", name, resp.StatusCode, rbody)
		}
	}
	year := `<C:time-range start="20260101T000000Z" end="20270101T000000Z"/>`
	start := time.Now()
	resp, body := e.doWithin(t, 30*time.Second, "REPORT", cal, map[string]string{"Depth": "1"},
		`<C:calendar-query `+calQueryNS+`><D:prop><C:calendar-data><C:expand start="20260101T000000Z" end="20270101T000000Z"/></C:calendar-data></D:prop>`+
			`<C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT">`+year+`</C:comp-filter></C:comp-filter></C:filter></C:calendar-query>`)
	if resp.StatusCode != http.StatusMultiStatus {
		t.Fatalf("expand over a year with an every-second event: %d %.500s", resp.StatusCode, body)
	}
	var ms struct {
		Responses []struct {
			Href string `xml:"href"`
			Data string `xml:"propstat>prop>calendar-data"`
		} `xml:"response"`
	}
	if err := xml.Unmarshal([]byte(body), &ms); err != nil {
		t.Fatalf("multistatus is not XML: %v", err)
	}
	got := map[string]int{}
	for _, r := range ms.Responses {
		got[r.Href[strings.LastIndex(r.Href, "/")+1:]] = strings.Count(r.Data, "BEGIN:VEVENT")
	}
	if got["storm.ics"] != calendar.MaxInstances || got["meeting.ics"] != 1 {
		t.Errorf("expanded instances per object: %v; want storm.ics truncated at %d, meeting.ics 1", got, calendar.MaxInstances)
	}
	t.Logf("expand REPORT: %d bytes in %v", len(body), time.Since(start))

	start = time.Now()
	resp, body = e.doWithin(t, 30*time.Second, "REPORT", cal, map[string]string{"Depth": "1"},
		`<C:free-busy-query xmlns:C="urn:ietf:params:xml:ns:caldav">`+year+`</C:free-busy-query>`)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "FREEBUSY:20260101T000000Z/20270101T000000Z") {
		t.Errorf("free-busy over a year with an every-second event: %d %.500s", resp.StatusCode, body)
	}
	t.Logf("free-busy REPORT in %v", time.Since(start))
}
