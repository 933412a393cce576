package birthday

import (
	"strings"
	"testing"

	"github.com/pimvault/pimvault/calendar"
)

func card(lines ...string) []byte {
	return []byte("BEGIN:VCARD\r\nVERSION:4.0\r\nUID:c1\r\nFN:Ada, Countess\r\n" + strings.Join(lines, "\r\n") + "\r\nEND:VCARD\r\n")
}

func TestEvents(t *testing.T) {
	for _, tc := range []struct {
		name  string
		lines []string
		want  []string // substrings of the event bodies, in order
	}{
		{"full date", []string{"BDAY:1980-05-17"}, []string{"DTSTART;VALUE=DATE:19800517", "RRULE:FREQ=YEARLY\r\n", "SUMMARY:Ada\\, Countess (birthday)", "DESCRIPTION:Born 1980"}},
		{"basic form with time", []string{"BDAY:19800517T120000Z"}, []string{"DTSTART;VALUE=DATE:19800517"}},
		{"no year", []string{"BDAY:--0517"}, []string{"DTSTART;VALUE=DATE:19720517"}},
		{"Apple's omitted year", []string{"BDAY;X-APPLE-OMIT-YEAR=1604:1604-05-17"}, []string{"DTSTART;VALUE=DATE:19720517"}},
		{"leap day", []string{"BDAY:2000-02-29"}, []string{"DTSTART;VALUE=DATE:20000229", "BYMONTH=2;BYMONTHDAY=-1"}},
		{"anniversary too", []string{"BDAY:1980-05-17", "ANNIVERSARY:20050611"}, []string{"19800517", "DTSTART;VALUE=DATE:20050611", "(anniversary)", "Since 2005"}},
	} {
		evs, err := Events("contacts", card(tc.lines...))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		all := ""
		for _, e := range evs {
			all += string(e.Body)
			obj, err := calendar.Parse(e.Body, nil)
			if err != nil {
				t.Fatalf("%s: the event does not validate: %v\n%s", tc.name, err, e.Body)
			}
			if obj.UID != e.UID || e.Name != e.UID+".ics" {
				t.Errorf("%s: uid %q name %q", tc.name, obj.UID, e.Name)
			}
		}
		at := 0
		for _, w := range tc.want {
			i := strings.Index(all[at:], w)
			if i < 0 {
				t.Errorf("%s: %q missing or out of order in\n%s", tc.name, w, all)
				break
			}
			at += i
		}
		if tc.name == "no year" && strings.Contains(all, "DESCRIPTION") {
			t.Errorf("a date without a year has a year in its description")
		}
	}
	for _, bad := range []string{"BDAY:1980-02-30", "BDAY;VALUE=text:circa 1800", "BDAY:1980", "BDAY:--13-01", "BDAY:x"} {
		if evs, err := Events("contacts", card(bad)); err != nil || len(evs) != 0 {
			t.Errorf("%s: %d events, %v", bad, len(evs), err)
		}
	}
	a, _ := Events("a", card("BDAY:1980-05-17"))
	b, _ := Events("b", card("BDAY:1980-05-17"))
	if a[0].Name == b[0].Name {
		t.Error("one UID in two address books gives one event name")
	}
	again, _ := Events("a", card("BDAY:1980-05-17"))
	if string(again[0].Body) != string(a[0].Body) {
		t.Error("the same card gives different bytes")
	}
}

func FuzzEvents(f *testing.F) {
	f.Add(card("BDAY:1980-05-17", "ANNIVERSARY:--0611"))
	f.Add(card("BDAY;X-APPLE-OMIT-YEAR=1604:1604-02-29"))
	f.Fuzz(func(t *testing.T, body []byte) {
		evs, err := Events("c", body)
		if err != nil {
			return
		}
		if len(evs) > 2 {
			t.Fatalf("%d events", len(evs))
		}
		for _, e := range evs {
			if _, err := calendar.Parse(e.Body, nil); err != nil {
				t.Fatalf("event does not validate: %v\n%s", err, e.Body)
			}
		}
	})
}
