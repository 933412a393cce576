package server

import (
	"net/http"
	"strings"
	"testing"

	"github.com/pimvault/pimvault/birthday"
	"github.com/pimvault/pimvault/storage"
)

func cardWith(uid, fn string, lines ...string) string {
	return "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:" + uid + "\r\nFN:" + fn + "\r\nN:" + fn + ";;;;\r\n" + strings.Join(lines, "\r\n") + "\r\nEND:VCARD\r\n"
}

func (e *testEnv) birthdays(t *testing.T, user string) []string {
	t.Helper()
	var out []string
	err := e.store.Objects(user, birthday.Collection, true, func(o storage.Object) error {
		out = append(out, unfold(string(o.Body)))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestBirthdayCalendar: enabling fills the calendar from the address books;
// card changes, deletions and moves keep it up to date; clients cannot
// write it; disabling deletes it.
func TestBirthdayCalendar(t *testing.T) {
	e := newTestEnv(t)
	book := "/dav/addressbooks/alice/contacts/"
	e.do(t, "alice", "PUT", book+"ada.vcf", nil, cardWith("ada", "Ada", "BDAY:1815-12-10"))
	e.do(t, "alice", "PUT", book+"bo.vcf", nil, cardWith("bo", "Bo", "BDAY:1990-04-01", "X-ANNIVERSARY:2015-06-20"))
	e.do(t, "alice", "PUT", book+"cy.vcf", nil, cardWith("cy", "Cy"))
	if resp, body := e.do(t, "alice", "POST", "/api/birthdays", jsonHdr, `{"enabled":true}`); resp.StatusCode != http.StatusOK {
		t.Fatalf("enable: %d %s", resp.StatusCode, body)
	}
	got := strings.Join(e.birthdays(t, "alice"), "")
	for _, want := range []string{"SUMMARY:Ada (birthday)", "DTSTART;VALUE=DATE:19721210", "SUMMARY:Bo (birthday)", "DESCRIPTION:Born 1990", "SUMMARY:Bo (anniversary)"} {
		if !strings.Contains(got, want) {
			t.Errorf("birthday calendar lacks %q:\n%s", want, got)
		}
	}
	if n := len(e.birthdays(t, "alice")); n != 3 {
		t.Fatalf("%d events, want 3", n)
	}
	// Card changes follow.
	e.do(t, "alice", "PUT", book+"cy.vcf", nil, cardWith("cy", "Cy", "BDAY:--0704"))
	e.do(t, "alice", "PUT", book+"bo.vcf", nil, cardWith("bo", "Bo", "BDAY:1990-04-02"))
	e.do(t, "alice", "DELETE", book+"ada.vcf", nil, "")
	got = strings.Join(e.birthdays(t, "alice"), "")
	if strings.Contains(got, "Ada") || strings.Contains(got, "anniversary") || !strings.Contains(got, "19900402") || !strings.Contains(got, "SUMMARY:Cy (birthday)") {
		t.Errorf("after the card changes:\n%s", got)
	}
	// An unchanged card is recorded (a client's PUT moves the token) but
	// rewrites no birthday.
	head := e.store.Head()
	e.do(t, "alice", "PUT", book+"bo.vcf", nil, cardWith("bo", "Bo", "BDAY:1990-04-02"))
	if e.store.Head() != head+1 {
		t.Errorf("an unchanged card wrote %d records, want 1 (the card)", e.store.Head()-head)
	}
	// Clients read it and cannot write it.
	cal := "/dav/calendars/alice/" + birthday.Collection + "/"
	_, body := e.do(t, "alice", "PROPFIND", cal, map[string]string{"Depth": "0"}, `<D:propfind xmlns:D="DAV:"><D:prop><D:current-user-privilege-set/></D:prop></D:propfind>`)
	if strings.Contains(body, "write") || !strings.Contains(body, "<D:read/>") {
		t.Errorf("privileges of the birthday calendar:\n%s", body)
	}
	if resp, body := e.do(t, "alice", "PUT", cal+"x.ics", nil, event("x", "mailto:alice@example.org")); resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "need-privileges") {
		t.Errorf("PUT into the birthday calendar: %d %s", resp.StatusCode, body)
	}
	var name string
	e.store.Objects("alice", birthday.Collection, false, func(o storage.Object) error { name = o.Name; return nil })
	if resp, _ := e.do(t, "alice", "DELETE", cal+name, nil, ""); resp.StatusCode != http.StatusForbidden {
		t.Errorf("DELETE in the birthday calendar: %d", resp.StatusCode)
	}
	if resp, _ := e.do(t, "alice", "POST", "/api/birthdays", jsonHdr, `{"enabled":false}`); resp.StatusCode != http.StatusOK {
		t.Fatal("disable")
	}
	if _, err := e.store.Collection("alice", birthday.Collection); err == nil {
		t.Error("the birthday calendar is still there")
	}
	// With it off, cards write nothing else.
	head = e.store.Head()
	e.do(t, "alice", "PUT", book+"dee.vcf", nil, cardWith("dee", "Dee", "BDAY:2001-01-01"))
	if e.store.Head() != head+1 {
		t.Errorf("a card PUT without the birthday calendar wrote %d records", e.store.Head()-head)
	}
	// A calendar of the user named "birthdays" is not taken over.
	e.do(t, "bob", "MKCALENDAR", "/dav/calendars/bob/birthdays/", nil, "")
	if resp, _ := e.do(t, "bob", "POST", "/api/birthdays", jsonHdr, `{"enabled":true}`); resp.StatusCode != http.StatusConflict {
		t.Errorf("enabling over bob's own calendar named birthdays: %d", resp.StatusCode)
	}
}
