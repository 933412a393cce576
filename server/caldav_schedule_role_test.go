package server

import (
	"net/http"
	"strings"
	"testing"
)

// TestScheduleRoleChangeRefused: the organizer cannot drop the ORGANIZER
// while attendees remain, and an attendee cannot drop their own ATTENDEE
// from their copy while keeping the meeting; both get 403 with the CalDAV
// condition, and neither stored object changes.
func TestScheduleRoleChangeRefused(t *testing.T) {
	e := newScheduleEnv(t)
	body := event("role-1", "mailto:alice@example.org", "ATTENDEE;PARTSTAT=ACCEPTED:mailto:alice@example.org", "ATTENDEE:mailto:bob@example.org")
	if resp, b := e.do(t, "alice", "PUT", "/dav/calendars/alice/calendar/role-1.ics", map[string]string{"Content-Type": "text/calendar"}, body); resp.StatusCode != http.StatusCreated {
		t.Fatalf("organizer PUT: %d %s", resp.StatusCode, b)
	}
	_, before := e.do(t, "alice", "GET", "/dav/calendars/alice/calendar/role-1.ics", nil, "")
	noOrganizer := strings.Replace(body, "ORGANIZER:mailto:alice@example.org\r\n", "", 1)
	resp, b := e.do(t, "alice", "PUT", "/dav/calendars/alice/calendar/role-1.ics", nil, noOrganizer)
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(b, "organizer-allowed") {
		t.Fatalf("organizer PUT without ORGANIZER: %d %s", resp.StatusCode, b)
	}
	if _, after := e.do(t, "alice", "GET", "/dav/calendars/alice/calendar/role-1.ics", nil, ""); after != before {
		t.Fatalf("the refused PUT changed the organizer's copy:\n%s", after)
	}
	name, cp := e.copyOf(t, "bob", "role-1")
	var kept []string
	for _, l := range strings.Split(cp, "\r\n") {
		if !strings.HasPrefix(l, "ATTENDEE") || !strings.Contains(strings.ToLower(l), "bob@example.org") {
			kept = append(kept, l)
		}
	}
	resp, b = e.do(t, "bob", "PUT", "/dav/calendars/bob/calendar/"+name, nil, strings.Join(kept, "\r\n"))
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(b, "valid-attendee-change") {
		t.Fatalf("attendee PUT without their ATTENDEE: %d %s", resp.StatusCode, b)
	}
	if _, after := e.copyOf(t, "bob", "role-1"); after != cp {
		t.Fatalf("the refused PUT changed bob's copy:\n%s", after)
	}
	// Dropping the attendees with the organizer is how the organizer
	// cancels by editing: allowed, and bob's copy is cancelled.
	var plain []string
	for _, l := range strings.Split(noOrganizer, "\r\n") {
		if !strings.HasPrefix(l, "ATTENDEE") {
			plain = append(plain, l)
		}
	}
	if resp, b := e.do(t, "alice", "PUT", "/dav/calendars/alice/calendar/role-1.ics", nil, strings.Join(plain, "\r\n")); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("organizer PUT without ORGANIZER and attendees: %d %s", resp.StatusCode, b)
	}
	if _, cp := e.copyOf(t, "bob", "role-1"); !strings.Contains(cp, "STATUS:CANCELLED") {
		t.Fatalf("bob's copy after the organizer dropped the attendees:\n%s", cp)
	}
}

// TestScheduleAttendeeCopyNeedsInvitation: an attendee may store their own
// copy of a meeting whose organizer on this server invited them (here: bob
// puts back the copy he deleted), and of a meeting organized elsewhere; a
// copy claiming an invitation a local organizer never sent is refused.
func TestScheduleAttendeeCopyNeedsInvitation(t *testing.T) {
	e := newScheduleEnv(t)
	body := event("inv-2", "mailto:alice@example.org", "ATTENDEE;PARTSTAT=ACCEPTED:mailto:alice@example.org", "ATTENDEE:mailto:bob@example.org")
	if resp, b := e.do(t, "alice", "PUT", "/dav/calendars/alice/calendar/inv-2.ics", map[string]string{"Content-Type": "text/calendar"}, body); resp.StatusCode != http.StatusCreated {
		t.Fatalf("organizer PUT: %d %s", resp.StatusCode, b)
	}
	name, cp := e.copyOf(t, "bob", "inv-2")
	if resp, b := e.do(t, "bob", "DELETE", "/dav/calendars/bob/calendar/"+name, nil, ""); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("attendee DELETE: %d %s", resp.StatusCode, b)
	}
	if resp, b := e.do(t, "bob", "PUT", "/dav/calendars/bob/calendar/back.ics", nil, cp); resp.StatusCode != http.StatusCreated {
		t.Fatalf("bob puts his copy back: %d %s", resp.StatusCode, b)
	}
	outside := event("ext-2", "mailto:someone@elsewhere.test", "ATTENDEE:mailto:someone@elsewhere.test", "ATTENDEE;PARTSTAT=ACCEPTED:mailto:bob@example.org")
	if resp, b := e.do(t, "bob", "PUT", "/dav/calendars/bob/calendar/ext-2.ics", nil, outside); resp.StatusCode != http.StatusCreated {
		t.Fatalf("copy of an outside meeting: %d %s", resp.StatusCode, b)
	}
	never := event("never-2", "mailto:alice@example.org", "ATTENDEE:mailto:alice@example.org", "ATTENDEE;PARTSTAT=ACCEPTED:mailto:bob@example.org")
	resp, b := e.do(t, "bob", "PUT", "/dav/calendars/bob/calendar/never-2.ics", nil, never)
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(b, "attendee-allowed") {
		t.Fatalf("copy of a meeting alice never organized: %d %s", resp.StatusCode, b)
	}
	if resp, _ := e.do(t, "bob", "GET", "/dav/calendars/bob/calendar/never-2.ics", nil, ""); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("the refused copy was stored: %d", resp.StatusCode)
	}
}

// TestScheduleOrphanedInstanceRefused: an organizer's new meeting made of an
// override alone (RECURRENCE-ID, no master) is refused and nobody is
// messaged; the same instance added to an existing series is fine.
func TestScheduleOrphanedInstanceRefused(t *testing.T) {
	e := newScheduleEnv(t)
	orphan := event("orph-1", "mailto:alice@example.org", "RECURRENCE-ID:20261210T100000Z", "ATTENDEE;PARTSTAT=ACCEPTED:mailto:alice@example.org", "ATTENDEE:mailto:bob@example.org")
	resp, b := e.do(t, "alice", "PUT", "/dav/calendars/alice/calendar/orph-1.ics", map[string]string{"Content-Type": "text/calendar"}, orphan)
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(b, "organizer-allowed") {
		t.Fatalf("orphaned instance: %d %s", resp.StatusCode, b)
	}
	if resp, _ := e.do(t, "alice", "GET", "/dav/calendars/alice/calendar/orph-1.ics", nil, ""); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("the refused object was stored: %d", resp.StatusCode)
	}
	if in := e.inbox(t, "bob"); len(in) != 0 {
		t.Fatalf("the refused object messaged bob: %q", in)
	}
	series := event("orph-1", "mailto:alice@example.org", "RRULE:FREQ=DAILY;COUNT=3", "ATTENDEE;PARTSTAT=ACCEPTED:mailto:alice@example.org", "ATTENDEE:mailto:bob@example.org")
	withOverride := strings.TrimSuffix(series, "END:VCALENDAR\r\n") + orphan[strings.Index(orphan, "BEGIN:VEVENT"):]
	if resp, b := e.do(t, "alice", "PUT", "/dav/calendars/alice/calendar/orph-1.ics", nil, withOverride); resp.StatusCode != http.StatusCreated {
		t.Fatalf("series with the override: %d %s\n%s", resp.StatusCode, b, withOverride)
	}
}
