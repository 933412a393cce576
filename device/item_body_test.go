package device

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/pimvault/pimvault/calendar"
	cardpkg "github.com/pimvault/pimvault/card"
)

func TestParseUID(t *testing.T) {
	tests := []struct {
		name string
		kind Kind
		body string
		want string
		bad  bool
	}{
		{"vcard", AddressBook, "BEGIN:VCARD\r\nVERSION:4.0\r\nUID:abc\r\nEND:VCARD\r\n", "abc", false},
		{"folded uid", AddressBook, "BEGIN:VCARD\r\nUID:ab\r\n c\r\nEND:VCARD\r\n", "abc", false},
		{"grouped, params, lowercase", AddressBook, "begin:vcard\nitem1.uid;VALUE=text:u-1\nend:vcard\n", "u-1", false},
		{"calendar with override", Calendar, "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:e1\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:e1\r\nRECURRENCE-ID:20260101T000000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n", "e1", false},
		{"two uids", Calendar, "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:e1\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:e2\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n", "", true},
		{"no uid", AddressBook, "BEGIN:VCARD\r\nFN:x\r\nEND:VCARD\r\n", "", true},
		{"empty uid", AddressBook, "BEGIN:VCARD\r\nUID:\r\nEND:VCARD\r\n", "", true},
		{"wrong kind", Calendar, "BEGIN:VCARD\r\nUID:a\r\nEND:VCARD\r\n", "", true},
		{"no end", AddressBook, "BEGIN:VCARD\r\nUID:a\r\n", "", true},
		{"empty", AddressBook, "", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseUID(tt.kind, []byte(tt.body))
			if tt.bad {
				if !errors.Is(err, ErrBadBody) {
					t.Fatalf("ParseUID = %q, %v; want ErrBadBody", got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseUID = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestReplaceUIDKeepsOtherBytes(t *testing.T) {
	in := []byte("BEGIN:VCARD\r\nVERSION:3.0\r\nUID;X=1:old-\r\n uid\r\nNOTE:line\\nUID:not a uid\r\nEND:VCARD\r\n")
	want := []byte("BEGIN:VCARD\r\nVERSION:3.0\r\nUID;X=1:new\r\nNOTE:line\\nUID:not a uid\r\nEND:VCARD\r\n")
	if got := ReplaceUID(in, "new"); !bytes.Equal(got, want) {
		t.Fatalf("ReplaceUID:\n%q\nwant\n%q", got, want)
	}
}

func FuzzReplaceUID(f *testing.F) {
	f.Add([]byte("BEGIN:VCARD\r\nUID:a\r\nEND:VCARD\r\n"), "b")
	f.Add([]byte("BEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:x\n y\nEND:VEVENT\nEND:VCALENDAR"), "z-1")
	f.Add([]byte("UID:\n\n:\r\n\tUID"), "q")
	f.Fuzz(func(t *testing.T, body []byte, uid string) {
		for _, k := range []Kind{AddressBook, Calendar} {
			if _, err := ParseUID(k, body); err != nil && !errors.Is(err, ErrBadBody) {
				t.Fatalf("ParseUID error does not wrap ErrBadBody: %v", err)
			}
		}
		if uid == "" || bytes.ContainsAny([]byte(uid), "\r\n") || uid[0] == ' ' || uid[0] == '\t' {
			return
		}
		out := ReplaceUID(body, uid)
		for _, k := range []Kind{AddressBook, Calendar} {
			if old, err := ParseUID(k, body); err == nil && old != "" {
				if got, err := ParseUID(k, out); err != nil || got != uid {
					t.Fatalf("after ReplaceUID(%q): ParseUID = %q, %v; want %q", uid, got, err, uid)
				}
			}
		}
	})
}

// TestValidateBodyRefusesWhatPUTRefuses: a local add or edit goes through
// the server's validators (card.Validate, calendar.Parse and CheckDates),
// so the vCards and events a PUT refuses are refused on the device too,
// with the validator's sentinel under ErrBadBody.
func TestValidateBodyRefusesWhatPUTRefuses(t *testing.T) {
	card := func(version, uid, fn string) []byte {
		return []byte("BEGIN:VCARD\r\nVERSION:" + version + "\r\nUID:" + uid + "\r\nFN:" + fn + "\r\nEND:VCARD\r\n")
	}
	event := func(start string) []byte {
		return []byte("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\nBEGIN:VEVENT\r\nUID:e1\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:" +
			start + "\r\nSUMMARY:x\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
	}
	cases := []struct {
		name string
		kind Kind
		body []byte
		want error // nil: accepted
	}{
		{"vCard 3.0", AddressBook, card("3.0", "a", "A"), nil},
		{"VERSION:9.0", AddressBook, card("9.0", "a", "A"), cardpkg.ErrUnsupportedVersion},
		{"control character", AddressBook, card("3.0", "a", "A\x01"), cardpkg.ErrInvalidData},
		{"2000-byte UID", AddressBook, card("3.0", strings.Repeat("u", 2000), "A"), cardpkg.ErrInvalidData},
		{"event", Calendar, event("20260301T100000Z"), nil},
		{"event before 1900", Calendar, event("18500301T100000Z"), calendar.ErrBeforeMinDate},
	}
	for _, tc := range cases {
		uid, err := ValidateBody(tc.kind, tc.body)
		switch {
		case tc.want == nil && (err != nil || uid == ""):
			t.Errorf("%s: %q %v, want accepted", tc.name, uid, err)
		case tc.want != nil && (!errors.Is(err, ErrBadBody) || !errors.Is(err, tc.want)):
			t.Errorf("%s: %v, want ErrBadBody and %v", tc.name, err, tc.want)
		}
	}
}
