package server

import (
	"net/http"
	"strings"
	"testing"

	"github.com/pimvault/pimvault/storage"
)

const standup = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\n" +
	"BEGIN:VEVENT\r\nUID:su-1\r\nDTSTAMP:20261201T000000Z\r\nDTSTART:20261210T090000Z\r\nDTEND:20261210T091500Z\r\nRRULE:FREQ=DAILY;COUNT=5\r\nSUMMARY:Standup\r\n" +
	"ORGANIZER:mailto:alice@example.org\r\nATTENDEE;PARTSTAT=ACCEPTED:mailto:alice@example.org\r\nATTENDEE:mailto:bob@example.org\r\nATTENDEE:mailto:carol@example.org\r\nEND:VEVENT\r\n" +
	"BEGIN:VEVENT\r\nUID:su-1\r\nDTSTAMP:20261201T000000Z\r\nRECURRENCE-ID:20261212T090000Z\r\nDTSTART:20261212T100000Z\r\nDTEND:20261212T101500Z\r\nSUMMARY:Standup (late)\r\n" +
	"ORGANIZER:mailto:alice@example.org\r\nATTENDEE;PARTSTAT=ACCEPTED:mailto:alice@example.org\r\nATTENDEE:mailto:bob@example.org\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"

// TestScheduleRecurrence: copies carry the overrides each attendee is
// invited to, a reply for one instance lands on that instance of the
// organizer's copy, and an instance cancelled by the organizer disappears
// from the attendee's copy only for that instance.
func TestScheduleRecurrence(t *testing.T) {
	e := newScheduleEnv(t)
	if resp, _ := e.do(t, "alice", "PUT", "/dav/calendars/alice/calendar/su.ics", nil, standup); resp.StatusCode != http.StatusCreated {
		t.Fatalf("PUT: %d", resp.StatusCode)
	}
	_, bob := e.copyOf(t, "bob", "su-1")
	if !strings.Contains(bob, "RECURRENCE-ID:20261212T090000Z") || strings.Contains(bob, "EXDATE") {
		t.Fatalf("bob's copy lacks the override he is invited to:\n%s", bob)
	}
	_, carol := e.copyOf(t, "carol", "su-1")
	if strings.Contains(carol, "RECURRENCE-ID") || !strings.Contains(carol, "EXDATE:20261212T090000Z") {
		t.Fatalf("carol's copy should exclude the instance she is not invited to:\n%s", carol)
	}
	// Carol declines only the 11th: her client adds an override.
	name, _ := e.copyOf(t, "carol", "su-1")
	ov := "BEGIN:VEVENT\r\nUID:su-1\r\nDTSTAMP:20261201T000000Z\r\nRECURRENCE-ID:20261211T090000Z\r\nDTSTART:20261211T090000Z\r\nDTEND:20261211T091500Z\r\nSUMMARY:Standup\r\n" +
		"ORGANIZER:mailto:alice@example.org\r\nATTENDEE;PARTSTAT=DECLINED:mailto:carol@example.org\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
	declined := strings.Replace(carol, "END:VCALENDAR\r\n", ov, 1)
	if resp, msg := e.do(t, "carol", "PUT", "/dav/calendars/carol/calendar/"+name, nil, declined); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("carol's PUT: %d %s", resp.StatusCode, msg)
	}
	_, org := e.do(t, "alice", "GET", "/dav/calendars/alice/calendar/su.ics", nil, "")
	org = unfold(org)
	i := strings.Index(org, "RECURRENCE-ID:20261211T090000Z")
	if i < 0 {
		t.Fatalf("no override for the 11th in the organizer's copy:\n%s", org)
	}
	inst := org[strings.LastIndex(org[:i], "BEGIN:VEVENT"):]
	inst = inst[:strings.Index(inst, "END:VEVENT")]
	if !strings.Contains(attendeeLine(inst, "carol@example.org"), "PARTSTAT=DECLINED") {
		t.Errorf("the 11th of the organizer's copy:\n%s", inst)
	}
	master := org[:strings.Index(org, "END:VEVENT")]
	if strings.Contains(attendeeLine(master, "carol@example.org"), "DECLINED") {
		t.Errorf("carol's answer for one instance changed the series:\n%s", master)
	}
	// Alice cancels the 13th: an EXDATE. Bob's copy loses that instance only.
	cancelled := strings.Replace(org, "RRULE:FREQ=DAILY;COUNT=5\r\n", "RRULE:FREQ=DAILY;COUNT=5\r\nEXDATE:20261213T090000Z\r\n", 1)
	if resp, _ := e.do(t, "alice", "PUT", "/dav/calendars/alice/calendar/su.ics", nil, cancelled); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("cancel one instance: %d", resp.StatusCode)
	}
	_, bob = e.copyOf(t, "bob", "su-1")
	if !strings.Contains(bob, "EXDATE:20261213T090000Z") || !strings.Contains(bob, "RRULE:FREQ=DAILY;COUNT=5") || strings.Contains(bob, "STATUS:CANCELLED") {
		t.Errorf("bob's copy after one instance was cancelled:\n%s", bob)
	}
}

func TestScheduleFreeBusyAndProps(t *testing.T) {
	e := newScheduleEnv(t)
	if resp, _ := e.do(t, "bob", "PUT", "/dav/calendars/bob/calendar/busy.ics", nil, event("busy", "mailto:bob@example.org")); resp.StatusCode != http.StatusCreated {
		t.Fatal("bob's event")
	}
	req := "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//EN\r\nMETHOD:REQUEST\r\nBEGIN:VFREEBUSY\r\nUID:fb-1\r\nDTSTAMP:20261201T000000Z\r\n" +
		"DTSTART:20261210T000000Z\r\nDTEND:20261211T000000Z\r\nORGANIZER:mailto:alice@example.org\r\nATTENDEE:mailto:bob@example.org\r\nATTENDEE:mailto:nobody@example.org\r\nEND:VFREEBUSY\r\nEND:VCALENDAR\r\n"
	resp, body := e.do(t, "alice", "POST", "/dav/calendars/alice/outbox/", map[string]string{"Content-Type": "text/calendar"}, req)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "2.0;Success") || !strings.Contains(body, "FREEBUSY:20261210T100000Z/20261210T110000Z") ||
		!strings.Contains(body, "3.7;Invalid calendar user") || !strings.Contains(body, "METHOD:REPLY") {
		t.Fatalf("free-busy POST: %d\n%s", resp.StatusCode, body)
	}
	spoof := strings.Replace(req, "ORGANIZER:mailto:alice@example.org", "ORGANIZER:mailto:bob@example.org", 1)
	if resp, body := e.do(t, "alice", "POST", "/dav/calendars/alice/outbox/", nil, spoof); resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "organizer-allowed") {
		t.Errorf("free-busy as bob: %d %s", resp.StatusCode, body)
	}
	if resp, _ := e.do(t, "alice", "POST", "/dav/calendars/alice/calendar/", nil, req); resp.StatusCode != http.StatusUnsupportedMediaType {
		t.Errorf("POST to a calendar: %d", resp.StatusCode)
	}
	// Discovery as clients do it.
	_, body = e.do(t, "bob", "PROPFIND", "/dav/principals/bob/", map[string]string{"Depth": "0"},
		`<D:propfind xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><C:schedule-inbox-URL/><C:schedule-outbox-URL/><C:calendar-user-address-set/></D:prop></D:propfind>`)
	for _, want := range []string{"/dav/calendars/bob/inbox/", "/dav/calendars/bob/outbox/", "mailto:bob@example.org", "/dav/principals/bob/"} {
		if !strings.Contains(body, want) {
			t.Errorf("bob's principal lacks %s:\n%s", want, body)
		}
	}
	_, body = e.do(t, "carol", "PROPFIND", "/dav/principals/carol/", map[string]string{"Depth": "0"},
		`<D:propfind xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><C:calendar-user-address-set/></D:prop></D:propfind>`)
	if !strings.Contains(body, "mailto:carol@example.org") {
		t.Errorf("carol's address from the mail domain:\n%s", body)
	}
	_, body = e.do(t, "bob", "PROPFIND", "/dav/calendars/bob/inbox/", map[string]string{"Depth": "0"},
		`<D:propfind xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><D:resourcetype/><C:schedule-default-calendar-URL/></D:prop></D:propfind>`)
	if !strings.Contains(body, "schedule-inbox") || !strings.Contains(body, "/dav/calendars/bob/calendar/") {
		t.Errorf("bob's inbox:\n%s", body)
	}
	_, body = e.do(t, "bob", "PROPFIND", "/dav/calendars/bob/", map[string]string{"Depth": "1"}, "")
	if !strings.Contains(body, "/dav/calendars/bob/inbox/") || !strings.Contains(body, "/dav/calendars/bob/outbox/") {
		t.Errorf("bob's calendar home does not list the inbox and outbox:\n%s", body)
	}
}

// TestScheduleNoPingPong: an attendee re-saving their copy unchanged, and
// the organizer re-saving theirs, send nothing: deliveries never cause
// further deliveries.
func TestScheduleNoPingPong(t *testing.T) {
	e := newScheduleEnv(t)
	body := event("pp", "mailto:alice@example.org", "ATTENDEE:mailto:bob@example.org", "ATTENDEE:mailto:carol@example.org")
	if resp, _ := e.do(t, "alice", "PUT", "/dav/calendars/alice/calendar/pp.ics", nil, body); resp.StatusCode != http.StatusCreated {
		t.Fatal("PUT")
	}
	name, cp := e.copyOf(t, "bob", "pp")
	_, org := e.do(t, "alice", "GET", "/dav/calendars/alice/calendar/pp.ics", nil, "")
	head := e.store.Head()
	if resp, _ := e.do(t, "bob", "PUT", "/dav/calendars/bob/calendar/"+name, nil, cp); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("bob's re-save: %d", resp.StatusCode)
	}
	if resp, _ := e.do(t, "alice", "PUT", "/dav/calendars/alice/calendar/pp.ics", nil, org); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("alice's re-save: %d", resp.StatusCode)
	}
	if got := e.store.Head() - head; got != 2 {
		t.Errorf("unchanged re-saves wrote %d records, want 2 (the re-saves themselves, no delivery)", got)
	}
	if n := len(e.inbox(t, "alice")); n != 0 {
		t.Errorf("alice's inbox holds %d messages", n)
	}
	if n := len(e.inbox(t, "bob")); n != 1 {
		t.Errorf("bob's inbox holds %d messages, want the one invitation", n)
	}
}

// TestScheduleFromOtherCalendarUppercaseMailto: an organizer who writes the
// scheme in upper case (MAILTO:, as CalDAVTester's data does) and PUTs into a
// calendar other than the default one still invites the attendee: the
// invitation reaches the attendee's inbox and moves its CTag, and removing
// it moves the CTag again.
func TestScheduleFromOtherCalendarUppercaseMailto(t *testing.T) {
	e := newScheduleEnv(t)
	ctag := func() string {
		t.Helper()
		_, b := e.do(t, "alice", "PROPFIND", "/dav/calendars/alice/inbox/", map[string]string{"Depth": "0"},
			`<D:propfind xmlns:D="DAV:" xmlns:CS="http://calendarserver.org/ns/"><D:prop><CS:getctag/></D:prop></D:propfind>`)
		i := strings.Index(b, "getctag>")
		if i < 0 {
			t.Fatalf("no getctag on the inbox:\n%s", b)
		}
		return b[i : i+strings.Index(b[i:], "<")]
	}
	if resp, b := e.do(t, "bob", "MKCALENDAR", "/dav/calendars/bob/projects/", nil, ""); resp.StatusCode != http.StatusCreated {
		t.Fatalf("MKCALENDAR: %d %s", resp.StatusCode, b)
	}
	before := ctag()
	body := event("up-1", "MAILTO:Bob@Example.org", "ATTENDEE:MAILTO:bob@example.org", "ATTENDEE;CN=Alice:mailto:alice@example.org")
	if resp, b := e.do(t, "bob", "PUT", "/dav/calendars/bob/projects/up-1.ics", map[string]string{"Content-Type": "text/calendar"}, body); resp.StatusCode != http.StatusCreated {
		t.Fatalf("organizer PUT: %d %s", resp.StatusCode, b)
	}
	_, org := e.do(t, "bob", "GET", "/dav/calendars/bob/projects/up-1.ics", nil, "")
	if l := attendeeLine(org, "alice@example.org"); !strings.Contains(l, "SCHEDULE-STATUS=1.2") {
		t.Fatalf("organizer's ATTENDEE alice: %q", l)
	}
	in := e.inbox(t, "alice")
	if len(in) != 1 || !strings.Contains(in[0], "METHOD:REQUEST") {
		t.Fatalf("alice's inbox: %q", in)
	}
	delivered := ctag()
	if delivered == before {
		t.Fatalf("inbox CTag did not move with the delivery: %s", before)
	}
	var name string
	_, list := e.do(t, "alice", "PROPFIND", "/dav/calendars/alice/inbox/", map[string]string{"Depth": "1"}, "")
	for _, h := range strings.Split(list, "<D:href>") {
		if j := strings.Index(h, ".ics</D:href>"); j >= 0 {
			name = h[strings.LastIndex(h[:j], "/")+1 : j+4]
		}
	}
	if name == "" {
		t.Fatalf("no object listed in alice's inbox:\n%s", list)
	}
	if resp, b := e.do(t, "alice", "DELETE", "/dav/calendars/alice/inbox/"+name, nil, ""); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("DELETE inbox item: %d %s", resp.StatusCode, b)
	}
	if after := ctag(); after == delivered || after == before {
		t.Fatalf("inbox CTag after the delete: %s (before %s, after delivery %s)", after, before, delivered)
	}
}

// TestScheduleExdateReorderSendsNothing: excluding two instances at once
// sends the attendee a CANCEL of both instances and an updated REQUEST
// carrying both EXDATEs; PUTting the same EXDATEs in another order is no
// change and sends nothing.
func TestScheduleExdateReorderSendsNothing(t *testing.T) {
	e := newScheduleEnv(t)
	put := func(exdates ...string) {
		t.Helper()
		extra := append([]string{"RRULE:FREQ=DAILY;COUNT=5", "ATTENDEE;PARTSTAT=ACCEPTED:mailto:alice@example.org", "ATTENDEE:mailto:bob@example.org"}, exdates...)
		if resp, b := e.do(t, "alice", "PUT", "/dav/calendars/alice/calendar/ex-1.ics", map[string]string{"Content-Type": "text/calendar"}, event("ex-1", "mailto:alice@example.org", extra...)); resp.StatusCode >= 300 {
			t.Fatalf("organizer PUT: %d %s", resp.StatusCode, b)
		}
	}
	drain := func() []string {
		t.Helper()
		in := e.inbox(t, "bob")
		// The names first: a DELETE inside the listing would wait for the
		// write lock the listing's read transaction keeps from it.
		var names []string
		err := e.store.Objects("bob", inboxName, false, func(o storage.Object) error {
			names = append(names, o.Name)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range names {
			if resp, b := e.do(t, "bob", "DELETE", "/dav/calendars/bob/inbox/"+n, nil, ""); resp.StatusCode != http.StatusNoContent {
				t.Fatalf("DELETE %s: %d %s", n, resp.StatusCode, b)
			}
		}
		return in
	}
	put()
	if in := drain(); len(in) != 1 || !strings.Contains(in[0], "METHOD:REQUEST") {
		t.Fatalf("bob's inbox after the invitation: %q", in)
	}
	put("EXDATE:20261211T100000Z", "EXDATE:20261212T100000Z")
	in := drain()
	var request, cancel string
	for _, m := range in {
		if strings.Contains(m, "METHOD:REQUEST") {
			request = m
		}
		if strings.Contains(m, "METHOD:CANCEL") {
			cancel = m
		}
	}
	if len(in) != 2 || !strings.Contains(request, "EXDATE:20261211T100000Z") || !strings.Contains(request, "EXDATE:20261212T100000Z") ||
		strings.Count(cancel, "BEGIN:VEVENT") != 2 || !strings.Contains(cancel, "RECURRENCE-ID:20261211T100000Z") ||
		!strings.Contains(cancel, "RECURRENCE-ID:20261212T100000Z") || strings.Count(cancel, "STATUS:CANCELLED") != 2 {
		t.Fatalf("bob's inbox after two EXDATEs (want a CANCEL of both instances and a REQUEST of the series): %q", in)
	}
	_, cp := e.copyOf(t, "bob", "ex-1")
	if strings.Count(cp, "EXDATE:20261211T100000Z") != 1 || strings.Count(cp, "EXDATE:20261212T100000Z") != 1 || strings.Contains(cp, "STATUS:CANCELLED") {
		t.Fatalf("bob's copy after two EXDATEs (each once, the series not cancelled):\n%s", cp)
	}
	put("EXDATE:20261212T100000Z", "EXDATE:20261211T100000Z")
	if in := e.inbox(t, "bob"); len(in) != 0 {
		t.Fatalf("reordering the EXDATEs scheduled something: %q", in)
	}
}
