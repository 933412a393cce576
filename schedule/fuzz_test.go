package schedule

import (
	"strings"
	"testing"

	"github.com/pimvault/pimvault/calendar"
)

// FuzzITIP runs an organizer's object and an attendee's reply through every
// step: nothing may panic, limits hold, a refused reply leaves the
// organizer's copy as it was, and every copy and message encodes.
func FuzzITIP(f *testing.F) {
	f.Add([]byte(strings.ReplaceAll(meeting, "\n", "\r\n")), []byte(strings.ReplaceAll(`BEGIN:VCALENDAR
VERSION:2.0
PRODID:x
METHOD:REPLY
BEGIN:VEVENT
UID:m1
DTSTAMP:20261201T000000Z
RECURRENCE-ID:20261211T100000Z
ORGANIZER:mailto:alice@example.org
ATTENDEE;PARTSTAT=DECLINED:mailto:bob@example.org
END:VEVENT
END:VCALENDAR
`, "\n", "\r\n")))
	f.Add([]byte("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\nBEGIN:VTODO\r\nUID:t\r\nORGANIZER:mailto:a@b.c\r\nATTENDEE:mailto:bob@example.org\r\nATTENDEE:MAILTO:BOB@example.org\r\nEND:VTODO\r\nEND:VCALENDAR\r\n"), []byte("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nMETHOD:REPLY\r\nBEGIN:VTODO\r\nUID:t\r\nATTENDEE;PARTSTAT=ACCEPTED:mailto:bob@example.org\r\nEND:VTODO\r\nEND:VCALENDAR\r\n"))
	f.Add([]byte(strings.ReplaceAll(meeting, "\n", "\r\n")), []byte(strings.ReplaceAll(strings.Replace(meeting, "END:VEVENT", "EXDATE:20261211T100000Z\nSEQUENCE:0\nEND:VEVENT", 1), "\n", "\r\n")))
	f.Fuzz(func(t *testing.T, objBody, replyBody []byte) {
		if len(objBody) > 64<<10 || len(replyBody) > 64<<10 {
			return
		}
		obj, err := calendar.Parse(objBody, nil)
		if err != nil {
			return
		}
		info, err := Inspect(obj.Cal)
		if err != nil {
			return
		}
		msgs, err := OrganizerMessages(nil, obj.Cal, func(a string) bool { return a == info.Organizer }, now)
		if err != nil {
			return
		}
		if len(msgs) > MaxRecipients {
			t.Fatalf("%d messages", len(msgs))
		}
		for _, m := range msgs {
			if m.Copy != nil {
				if _, err := Encode(m.Copy, now); err != nil {
					t.Logf("copy does not encode: %v", err)
				}
			}
		}
		if len(msgs) > 0 && msgs[0].Copy != nil {
			if r, err := ReplyMessage(msgs[0].Copy, msgs[0].Copy, msgs[0].Recipient, now); err != nil || r != nil {
				t.Fatalf("an unchanged copy replied: %v %v", r, err)
			}
		}
		// The second input as a new version of the first: the organizer's
		// and the attendee's steps of a change must not panic, and hold the
		// recipient limit.
		if prev, err := calendar.Parse(objBody, nil); err == nil {
			if next, err := calendar.Parse(replyBody, nil); err == nil {
				own := func(a string) bool { return a == info.Organizer }
				Reschedule(prev.Cal, next.Cal, own)
				KeepAnswers(prev.Cal, next.Cal, own)
				if ms, err := OrganizerMessages(prev.Cal, next.Cal, own, now); err == nil && recipients(ms) > MaxRecipients {
					t.Fatalf("%d recipients", recipients(ms))
				}
				for _, a := range info.Attendees {
					_, _ = ReplyMessage(prev.Cal, next.Cal, a, now)
				}
			}
		}
		reply, err := calendar.ParseMessage(replyBody)
		if err != nil {
			return
		}
		for _, sender := range append([]string{"mailto:bob@example.org"}, info.Attendees...) {
			before := canon(obj.Cal)
			changed, err := ApplyReply(obj.Cal, reply, sender)
			if err != nil && canon(obj.Cal) != before {
				t.Fatalf("a refused reply (%v) changed the object", err)
			}
			if !changed && canon(obj.Cal) != before {
				t.Fatal("ApplyReply changed the object and said it did not")
			}
		}
	})
}
