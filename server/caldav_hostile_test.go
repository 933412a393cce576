package server

import (
	"net/http"
	"strings"
	"testing"
)

const calQueryNS = `xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"`

// TestCalDAVHostileInputs: inputs built to exhaust the server get a bounded,
// clear answer and leave the store as it was.
func TestCalDAVHostileInputs(t *testing.T) {
	e := newTestEnv(t)
	cal := "/dav/calendars/alice/calendar/"
	ct := map[string]string{"Content-Type": "text/calendar"}

	// A 5 MiB DESCRIPTION is under the 10 MiB limit: stored exactly and served back.
	big := vcal(vevent("big", "20260301T100000Z", "20260301T110000Z", "DESCRIPTION:"+strings.Repeat("lorem ipsum ", 5<<20/12)))
	if resp, body := e.do(t, "alice", "PUT", cal+"big.ics", ct, big); resp.StatusCode != http.StatusCreated {
		t.Fatalf("PUT of a 5 MiB event: %d %.300s", resp.StatusCode, body)
	}
	if _, body := e.do(t, "alice", "GET", cal+"big.ics", nil, ""); body != big {
		t.Errorf("GET of the 5 MiB event: got %d bytes, want the %d sent", len(body), len(big))
	}
	// Components nested 100,000 deep.
	deep := strings.Repeat("BEGIN:X-NEST\r\n", 100000) + strings.Repeat("END:X-NEST\r\n", 100000)
	resp, body := e.do(t, "alice", "PUT", cal+"deep.ics", ct, vcal("BEGIN:VEVENT\r\nUID:deep\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:20260101T100000Z\r\n"+deep+"END:VEVENT\r\n"))
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "valid-calendar") {
		t.Errorf("deeply nested components: %d %.300s", resp.StatusCode, body)
	}
	// A time zone that exists nowhere.
	resp, body = e.do(t, "alice", "PUT", cal+"mars.ics", ct, vcal(vevent("mars", "20260101T100000", "", "X-DUMMY:1")))
	if resp.StatusCode != http.StatusCreated {
		t.Errorf("floating event: %d %s", resp.StatusCode, body) // floating times are fine
	}
	head := e.store.Head()
	resp, body = e.do(t, "alice", "PUT", cal+"mars2.ics", ct, strings.Replace(vcal(vevent("mars2", "20260101T100000", "")), "DTSTART:", "DTSTART;TZID=Mars/Olympus_Mons:", 1))
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "valid-calendar") {
		t.Errorf("unknown TZID: %d %s", resp.StatusCode, body)
	}
	if e.store.Head() != head {
		t.Errorf("refused PUTs changed the store")
	}

	// Every second, for ever: stored, its span open-ended.
	resp, body = e.do(t, "alice", "PUT", cal+"storm.ics", ct, vcal(vevent("storm", "20260101T000000Z", "20260101T000001Z", "RRULE:FREQ=SECONDLY")))
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("PUT of an every-second event: %d %s", resp.StatusCode, body)
	}
	// A filter nested past the XML depth limit.
	nested := strings.Repeat(`<C:comp-filter name="VEVENT">`, 40) + strings.Repeat(`</C:comp-filter>`, 40)
	resp, _ = e.do(t, "alice", "REPORT", cal, nil, `<C:calendar-query `+calQueryNS+`><C:filter><C:comp-filter name="VCALENDAR">`+nested+`</C:comp-filter></C:filter></C:calendar-query>`)
	if resp.StatusCode != http.StatusBadRequest && resp.StatusCode != http.StatusForbidden {
		t.Errorf("deeply nested filter: %d", resp.StatusCode)
	}
	// Another user's calendar does not exist for alice.
	if resp, _ := e.do(t, "alice", "PUT", "/dav/calendars/bob/calendar/x.ics", ct, vcal(vevent("x", "20260101T100000Z", ""))); resp.StatusCode != http.StatusNotFound {
		t.Errorf("PUT into bob's calendar as alice: %d", resp.StatusCode)
	}
}
