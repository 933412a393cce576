package calendar

import (
	"errors"
	"testing"

	"github.com/emersion/go-ical"
)

func TestParseMessage(t *testing.T) {
	ok := "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nMETHOD:REPLY\r\nBEGIN:VEVENT\r\nUID:a\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:a\r\nRECURRENCE-ID:20260101T000000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
	if _, err := ParseMessage([]byte(ok)); err != nil {
		t.Fatal(err)
	}
	for name, body := range map[string]string{
		"no METHOD":     "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:a\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
		"two UIDs":      "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nMETHOD:REPLY\r\nBEGIN:VEVENT\r\nUID:a\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:b\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
		"no component":  "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nMETHOD:REPLY\r\nEND:VCALENDAR\r\n",
		"wrong version": "BEGIN:VCALENDAR\r\nVERSION:1.0\r\nMETHOD:REPLY\r\nBEGIN:VEVENT\r\nUID:a\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
		"not iCalendar": "hello",
	} {
		if _, err := ParseMessage([]byte(body)); !errors.Is(err, ErrInvalidData) && !errors.Is(err, ErrInvalidObject) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func FuzzParseMessage(f *testing.F) {
	f.Add([]byte("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nMETHOD:REQUEST\r\nBEGIN:VFREEBUSY\r\nUID:f\r\nDTSTART:20261210T000000Z\r\nEND:VFREEBUSY\r\nEND:VCALENDAR\r\n"))
	f.Add([]byte("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nMETHOD:REPLY\r\nBEGIN:VEVENT\r\nUID:a\r\nATTENDEE;PARTSTAT=ACCEPTED:mailto:x@y.z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		cal, err := ParseMessage(body)
		if err != nil {
			if !errors.Is(err, ErrInvalidData) && !errors.Is(err, ErrInvalidObject) {
				t.Fatalf("error wraps no sentinel: %v", err)
			}
			return
		}
		if cal.Props.Get(ical.PropMethod) == nil {
			t.Fatal("accepted a message without METHOD")
		}
	})
}
