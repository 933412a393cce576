package server

import (
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/pimvault/pimvault/server/internal/dav"
)

// condElement is how writeError spells a precondition element.
func condElement(ns, cond string) string {
	return `xmlns:X="` + ns + `"><X:` + cond
}

// TestCalDAVPreconditions checks the status and the precondition element of
// every refused calendar write, and that a refused write changes nothing.
func TestCalDAVPreconditions(t *testing.T) {
	e := newTestEnv(t)
	cal := "/dav/calendars/alice/calendar/"
	events := "/dav/calendars/alice/events/"
	ct := map[string]string{"Content-Type": "text/calendar; charset=utf-8"}
	if resp, body := e.do(t, "alice", "MKCALENDAR", events, nil, mkcalendarBody(
		`<C:supported-calendar-component-set><C:comp name="VEVENT"/></C:supported-calendar-component-set>`)); resp.StatusCode != http.StatusCreated {
		t.Fatalf("MKCALENDAR: %d %s", resp.StatusCode, body)
	}
	if resp, body := e.do(t, "alice", "PUT", cal+"taken.ics", ct, vcal(vevent("taken", "20260101T100000Z", "20260101T110000Z"))); resp.StatusCode != http.StatusCreated {
		t.Fatalf("PUT: %d %s", resp.StatusCode, body)
	}
	if resp, body := e.do(t, "alice", "PUT", cal+"todo.ics", ct, vcal(vtodo("todo"))); resp.StatusCode != http.StatusCreated {
		t.Fatalf("PUT: %d %s", resp.StatusCode, body)
	}
	if resp, body := e.do(t, "alice", "PUT", "/dav/addressbooks/alice/contacts/mine.vcf", nil, testCard("mine", "Me")); resp.StatusCode != http.StatusCreated {
		t.Fatalf("PUT: %d %s", resp.StatusCode, body)
	}
	ev := vevent("e1", "20260101T100000Z", "20260101T110000Z")
	runPreconditionCases(t, e, []preconditionCase{
		{"not iCalendar", "PUT", cal + "a.ics", ct, "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nthis is not\r\n", 403, dav.NSCalDAV, "valid-calendar-data"},
		{"vCard", "PUT", cal + "a.ics", ct, testCard("x", "X"), 403, dav.NSCalDAV, "valid-calendar-data"},
		{"two UIDs", "PUT", cal + "a.ics", ct, vcal(ev, vevent("e2", "20260102T100000Z", "20260102T110000Z")), 403, dav.NSCalDAV, "valid-calendar-object-resource"},
		{"event and todo", "PUT", cal + "a.ics", ct, vcal(ev, vtodo("e1")), 403, dav.NSCalDAV, "valid-calendar-object-resource"},
		{"todo into an events-only calendar", "PUT", events + "t.ics", ct, vcal(vtodo("t1")), 403, dav.NSCalDAV, "supported-calendar-component"},
		{"UID used by another object", "PUT", cal + "b.ics", ct, vcal(vevent("taken", "20260101T100000Z", "20260101T110000Z")), 403, dav.NSCalDAV, "no-uid-conflict"},
		{"overwrite with another UID", "PUT", cal + "taken.ics", ct, vcal(vevent("other", "20260101T100000Z", "20260101T110000Z")), 403, dav.NSCalDAV, "no-uid-conflict"},
		{"vCard overwrite with another UID", "PUT", "/dav/addressbooks/alice/contacts/mine.vcf", nil, testCard("someone-else", "X"), 403, dav.NSCardDAV, "no-uid-conflict"},
		{"too large", "PUT", cal + "a.ics", ct, vcal(vevent("big", "20260101T100000Z", "", "DESCRIPTION:"+strings.Repeat("x", 11<<20))), 403, dav.NSCalDAV, "max-resource-size"},
		{"not text/calendar", "PUT", cal + "a.ics", map[string]string{"Content-Type": "text/vcard"}, vcal(ev), 403, dav.NSCalDAV, "supported-calendar-data"},
		{"MOVE of a to-do into an events-only calendar", "MOVE", cal + "todo.ics", map[string]string{"Destination": events + "todo.ics"}, "", 403, dav.NSCalDAV, "supported-calendar-component"},
		{"COPY of a to-do into an events-only calendar", "COPY", cal + "todo.ics", map[string]string{"Destination": events + "todo.ics"}, "", 403, dav.NSCalDAV, "supported-calendar-component"},
		{"PUT into a missing calendar", "PUT", "/dav/calendars/alice/nope/a.ics", ct, vcal(ev), 409, "", ""},
		{"MKCALENDAR twice", "MKCALENDAR", events, nil, "", 403, dav.NSDAV, "resource-must-be-null"},
		{"MKCALENDAR twice, with a bad body", "MKCALENDAR", events, nil, mkcalendarBody(`<D:getetag>x</D:getetag>`), 403, dav.NSDAV, "resource-must-be-null"},
		{"MKCALENDAR setting a protected property", "MKCALENDAR", "/dav/calendars/alice/prot/", nil, mkcalendarBody(`<D:getetag>x</D:getetag><D:displayname>New</D:displayname>`), 207, dav.NSDAV, "cannot-modify-protected-property"},
		{"MKCALENDAR inside a calendar", "MKCALENDAR", events + "inner/", nil, "", 403, dav.NSCalDAV, "calendar-collection-location-ok"},
		{"MKCOL inside a calendar", "MKCOL", events + "inner/", nil, "", 403, dav.NSCalDAV, "calendar-collection-location-ok"},
		{"MKCALENDAR of VCARDs", "MKCALENDAR", "/dav/calendars/alice/cards/", nil, mkcalendarBody(
			`<C:supported-calendar-component-set><C:comp name="VCARD"/></C:supported-calendar-component-set>`), 403, dav.NSCalDAV, "supported-calendar-component"},
		{"MKCALENDAR with a bad time zone", "MKCALENDAR", "/dav/calendars/alice/tz/", nil, mkcalendarBody(
			`<C:calendar-timezone>` + dav.XMLEscape(vcal(ev)) + `</C:calendar-timezone>`), 403, dav.NSCalDAV, "valid-calendar-data"},
		{"MKCALENDAR in the address book home", "MKCALENDAR", "/dav/addressbooks/alice/x/", nil, "", 403, dav.NSDAV, "resource-must-be-null"},
		{"MKCOL of an address book among calendars", "MKCOL", "/dav/calendars/alice/book/", nil,
			`<D:mkcol xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:set><D:prop><D:resourcetype><D:collection/><C:addressbook/></D:resourcetype></D:prop></D:set></D:mkcol>`, 403, dav.NSDAV, "valid-resourcetype"},
		{"PROPPATCH of a bad time zone", "PROPPATCH", cal, nil,
			`<D:propertyupdate xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:set><D:prop><C:calendar-timezone>BEGIN:VCALENDAR</C:calendar-timezone></D:prop></D:set></D:propertyupdate>`, 403, dav.NSCalDAV, "valid-calendar-data"},
		{"PROPPATCH of the component set", "PROPPATCH", cal, nil,
			`<D:propertyupdate xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:set><D:prop><C:supported-calendar-component-set><C:comp name="VTODO"/></C:supported-calendar-component-set></D:prop></D:set></D:propertyupdate>`, 207, dav.NSDAV, "cannot-modify-protected-property"},
	})
	// no-uid-conflict names the resource that holds the UID.
	_, body := e.do(t, "alice", "PUT", cal+"b.ics", ct, vcal(vevent("taken", "20260101T100000Z", "20260101T110000Z")))
	if want := `<X:no-uid-conflict><D:href>/dav/calendars/alice/calendar/taken.ics</D:href></X:no-uid-conflict>`; !strings.Contains(body, want) {
		t.Errorf("no-uid-conflict body lacks %s:\n%s", want, body)
	}
	// A MKCALENDAR that sets a protected property is a 207 (RFC 4791 §5.3.1.1):
	// that property 403, the others 424, and no calendar.
	_, body = e.do(t, "alice", "MKCALENDAR", "/dav/calendars/alice/prot/", nil, mkcalendarBody(`<D:getetag>x</D:getetag><D:displayname>New</D:displayname>`))
	if !regexp.MustCompile(`<D:getetag/></D:prop><D:status>HTTP/1.1 403 Forbidden</D:status>`).MatchString(body) ||
		!regexp.MustCompile(`<D:displayname/></D:prop><D:status>HTTP/1.1 424 Failed Dependency</D:status>`).MatchString(body) {
		t.Errorf("MKCALENDAR with a protected property:\n%s", body)
	}
	if resp, _ := e.do(t, "alice", "PROPFIND", "/dav/calendars/alice/prot/", map[string]string{"Depth": "0"}, ""); resp.StatusCode != http.StatusNotFound {
		t.Errorf("the refused MKCALENDAR left a calendar: %d", resp.StatusCode)
	}
	// Overwriting with another UID names the target itself and says how to go on;
	// the same UID (a changed event) is still accepted.
	_, body = e.do(t, "alice", "PUT", cal+"taken.ics", ct, vcal(vevent("other", "20260101T100000Z", "20260101T110000Z")))
	if want := `<X:no-uid-conflict><D:href>/dav/calendars/alice/calendar/taken.ics</D:href></X:no-uid-conflict>`; !strings.Contains(body, want) || !strings.Contains(body, "delete it first") {
		t.Errorf("no-uid-conflict on overwrite: %s", body)
	}
	if resp, body := e.do(t, "alice", "PUT", cal+"taken.ics", ct, vcal(vevent("taken", "20260101T120000Z", "20260101T130000Z"))); resp.StatusCode != http.StatusNoContent {
		t.Errorf("PUT of a changed event with its UID: %d %s", resp.StatusCode, body)
	}
}

// preconditionCase is one refused request: its status and precondition.
type preconditionCase struct {
	name, method, path string
	hdr                map[string]string
	body               string
	status             int
	ns, cond           string
}

// runPreconditionCases sends each request as alice and checks the status,
// the precondition element and that the store did not change.
func runPreconditionCases(t *testing.T, e *testEnv, tests []preconditionCase) {
	t.Helper()
	e.do(t, "alice", "OPTIONS", "/dav/", nil, "") // signs in: the default collections exist from here on
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := e.store.Head()
			resp, body := e.do(t, "alice", tt.method, tt.path, tt.hdr, tt.body)
			if resp.StatusCode != tt.status {
				t.Fatalf("status: got %d, want %d\n%s", resp.StatusCode, tt.status, body)
			}
			if tt.cond != "" && !strings.Contains(body, condElement(tt.ns, tt.cond)) && !strings.Contains(body, "<D:"+tt.cond+"/>") {
				t.Errorf("body lacks the %s precondition:\n%s", tt.cond, body)
			}
			if after := e.store.Head(); after != before {
				t.Errorf("a refused request changed the store: head %d → %d", before, after)
			}
		})
	}
}

// TestCalendarProperties checks PROPPATCH and PROPFIND of the calendar
// properties clients set and read.
func TestCalendarProperties(t *testing.T) {
	e := newTestEnv(t)
	cal := "/dav/calendars/alice/calendar/"
	resp, body := e.do(t, "alice", "PROPPATCH", cal, nil,
		`<D:propertyupdate xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav" xmlns:A="http://apple.com/ns/ical/"><D:set><D:prop>`+
			`<D:displayname>Home</D:displayname><C:calendar-description>Family things</C:calendar-description>`+
			`<A:calendar-color>#00FF00FF</A:calendar-color><A:calendar-order>3</A:calendar-order>`+
			`<C:calendar-timezone>`+dav.XMLEscape(berlinTZ)+`</C:calendar-timezone><C:schedule-calendar-transp><C:transparent/></C:schedule-calendar-transp>`+
			`</D:prop></D:set></D:propertyupdate>`)
	if resp.StatusCode != http.StatusMultiStatus || strings.Contains(body, "403") {
		t.Fatalf("PROPPATCH: %d %s", resp.StatusCode, body)
	}
	resp, body = e.do(t, "alice", "PROPFIND", cal, map[string]string{"Depth": "0"},
		`<D:propfind xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav" xmlns:A="http://apple.com/ns/ical/" xmlns:CS="http://calendarserver.org/ns/"><D:prop>`+
			`<D:resourcetype/><D:displayname/><C:calendar-description/><A:calendar-color/><A:calendar-order/><C:calendar-timezone/>`+
			`<C:supported-calendar-component-set/><C:supported-calendar-data/><C:max-resource-size/><C:min-date-time/><C:max-date-time/>`+
			`<C:schedule-calendar-transp/><D:supported-report-set/><CS:getctag/><D:sync-token/></D:prop></D:propfind>`)
	if resp.StatusCode != http.StatusMultiStatus {
		t.Fatalf("PROPFIND: %d %s", resp.StatusCode, body)
	}
	for _, want := range []string{
		"<D:resourcetype><D:collection/><CAL:calendar/></D:resourcetype>",
		"<D:displayname>Home</D:displayname>",
		">Family things</",
		">#00FF00FF</",
		">3</",
		"TZID:Europe/Berlin",
		`<CAL:supported-calendar-component-set><comp xmlns="urn:ietf:params:xml:ns:caldav" name="VEVENT"></comp><comp xmlns="urn:ietf:params:xml:ns:caldav" name="VTODO"></comp><comp xmlns="urn:ietf:params:xml:ns:caldav" name="VJOURNAL"></comp></CAL:supported-calendar-component-set>`,
		`<CAL:calendar-data content-type="text/calendar" version="2.0"/>`,
		"<CAL:max-resource-size>10485760</CAL:max-resource-size>",
		"<CAL:min-date-time>19000101T000000Z</CAL:min-date-time>",
		"<CAL:max-date-time>99991231T000000Z</CAL:max-date-time>",
		"transparent",
		"<CAL:calendar-query/>", "<CAL:calendar-multiget/>", "<CAL:free-busy-query/>", "<D:sync-collection/>",
		"<CS:getctag>data:,pv2-",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("PROPFIND lacks %s", want)
		}
	}
	if strings.Contains(body, "404 Not Found") {
		t.Errorf("PROPFIND has missing properties:\n%s", body)
	}
	// The principal advertises the calendar home.
	_, body = e.do(t, "alice", "PROPFIND", "/dav/principals/alice/", map[string]string{"Depth": "0"},
		`<D:propfind xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><C:calendar-home-set/></D:prop></D:propfind>`)
	if !strings.Contains(body, "<CAL:calendar-home-set><D:href>/dav/calendars/alice/</D:href></CAL:calendar-home-set>") {
		t.Errorf("principal calendar-home-set: %s", body)
	}
	// Extended MKCOL (RFC 5689) creates a calendar too.
	resp, body = e.do(t, "alice", "MKCOL", "/dav/calendars/alice/ext/", nil,
		`<D:mkcol xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:set><D:prop><D:resourcetype><D:collection/><C:calendar/></D:resourcetype><D:displayname>Ext</D:displayname></D:prop></D:set></D:mkcol>`)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("extended MKCOL: %d %s", resp.StatusCode, body)
	}
	_, body = e.do(t, "alice", "PROPFIND", "/dav/calendars/alice/ext/", map[string]string{"Depth": "0"},
		`<D:propfind xmlns:D="DAV:"><D:prop><D:resourcetype/><D:displayname/></D:prop></D:propfind>`)
	if !strings.Contains(body, "<CAL:calendar/>") || !strings.Contains(body, "<D:displayname>Ext</D:displayname>") {
		t.Errorf("extended MKCOL calendar: %s", body)
	}
}
