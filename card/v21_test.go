package card

import (
	"errors"
	"strings"
	"testing"

	"bytes"
	"github.com/emersion/go-vcard"
)

// vCard 2.1 from old phones is rewritten as 3.0: quoted-printable and charsets
// decoded, bare types made TYPE=, FN and UID added when missing; the result
// validates as 3.0 and a 3.0 card is never touched.
func TestUpgrade21(t *testing.T) {
	tests := []struct {
		name, body string
		want       map[string]string // property -> value in the stored card
		wantTypes  string            // TEL's TYPE parameter
	}{
		{"nokia quoted-printable UTF-8",
			"BEGIN:VCARD\r\nVERSION:2.1\r\nN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:M=C3=BCller;Hans;;;\r\nFN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:Hans M=C3=BCller\r\n" +
				"TEL;CELL;PREF:+49 170 1234567\r\nNOTE;ENCODING=QUOTED-PRINTABLE:first line=0D=0Asecond =\r\nline\r\nUID:nokia-1\r\nEND:VCARD\r\n",
			map[string]string{"FN": "Hans Müller", "UID": "nokia-1", "NOTE": "first line\nsecond line", "VERSION": "3.0"}, "CELL,PREF"},
		{"latin-1 without FN or UID",
			"BEGIN:VCARD\nVERSION:2.1\nN;CHARSET=ISO-8859-1:Gr\xfcn;Anna\nTEL;HOME;VOICE:0301234\nEND:VCARD\n",
			map[string]string{"FN": "Anna Grün", "N": "Grün;Anna", "VERSION": "3.0"}, "HOME,VOICE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			info, err := Validate([]byte(tt.body))
			if err != nil {
				t.Fatalf("Validate: %v", err)
			}
			if info.Version != "3.0" || info.Body == nil || len(info.Fixed) == 0 {
				t.Fatalf("info %+v", info)
			}
			if again, err := Validate(info.Body); err != nil || again.Body != nil {
				t.Fatalf("the rewritten card is not a plain 3.0 card: %v %+v\n%s", err, again, info.Body)
			}
			c, err := vcard.NewDecoder(bytes.NewReader(info.Body)).Decode()
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range tt.want {
				if got := c.Value(k); got != v {
					t.Errorf("%s = %q, want %q\n%s", k, got, v, info.Body)
				}
			}
			if got := c.Get("TEL").Params.Get("TYPE"); got != tt.wantTypes && strings.Join(c.Get("TEL").Params["TYPE"], ",") != tt.wantTypes {
				t.Errorf("TEL TYPE = %q, want %q", c.Get("TEL").Params["TYPE"], tt.wantTypes)
			}
			if info.UID == "" || c.Value("UID") != info.UID {
				t.Errorf("UID %q vs %q", info.UID, c.Value("UID"))
			}
			if strings.Contains(tt.body, "\r\n") != strings.Contains(string(info.Body), "\r\n") {
				t.Errorf("line endings changed:\n%q", info.Body)
			}
		})
	}
	// Same card twice: the same UID.
	a, _ := Validate([]byte(tests[1].body))
	b, _ := Validate([]byte(tests[1].body))
	if a.UID != b.UID {
		t.Errorf("the added UID is not stable: %q %q", a.UID, b.UID)
	}
	// A charset pimvault does not know is refused, not guessed.
	_, err := Validate([]byte("BEGIN:VCARD\r\nVERSION:2.1\r\nN;CHARSET=SHIFT_JIS:x;y\r\nUID:j\r\nEND:VCARD\r\n"))
	if !errors.Is(err, ErrUnsupportedVersion) || !strings.Contains(err.Error(), "SHIFT_JIS") {
		t.Errorf("unknown charset: %v", err)
	}
	// A 3.0 card is stored as sent.
	info, err := Validate([]byte("BEGIN:VCARD\r\nVERSION:3.0\r\nFN:x\r\nN:x;;;;\r\nUID:u\r\nEND:VCARD\r\n"))
	if err != nil || info.Body != nil || info.Fixed != nil {
		t.Errorf("3.0 card: %+v %v", info, err)
	}
}
