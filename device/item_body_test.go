package device

import (
	"bytes"
	"errors"
	"testing"
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
