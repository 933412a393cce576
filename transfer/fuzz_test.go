package transfer

import (
	"testing"
)

func FuzzParseVCards(f *testing.F) {
	f.Add([]byte(twoCards))
	f.Add([]byte("BEGIN:VCARD\r\nVERSION:4.0\r\nUID:x\r\nFN:y\r\n folded\r\nEND:VCARD"))
	f.Add([]byte("END:VCARD\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		items, err := ParseVCards("f.vcf", data)
		if err != nil {
			return
		}
		for _, it := range items {
			if it.UID == "" || len(it.Body) == 0 {
				t.Fatalf("accepted item without UID or body: %+v", it)
			}
			if again, err := ParseVCards("g.vcf", it.Body); err != nil || len(again) != 1 {
				t.Fatalf("an accepted card does not parse alone: %v", err)
			}
		}
	})
}

func FuzzParseCalendar(f *testing.F) {
	f.Add([]byte("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:1\r\nDTSTAMP:20260101T000000Z\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:2\r\nDTSTAMP:20260101T000000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"))
	f.Add([]byte("BEGIN:VCALENDAR\r\nBEGIN:VTODO\r\nUID:t\r\nEND:VTODO\r\nEND:VCALENDAR"))
	f.Fuzz(func(t *testing.T, data []byte) {
		items, err := ParseCalendar("f.ics", data)
		if err != nil {
			return
		}
		for _, it := range items {
			if it.UID == "" || it.Component == "" {
				t.Fatalf("accepted item without UID or component: %+v", it)
			}
			if again, err := ParseCalendar("g.ics", it.Body); err != nil || len(again) != 1 || again[0].UID != it.UID {
				t.Fatalf("an accepted object does not parse alone to one UID: %v", err)
			}
		}
	})
}
