package card

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/emersion/go-vcard"
)

// The vCards of testdata/clients, as the clients named in its README write
// them, all validate: 3.0 and 4.0 are stored byte for byte (Info.Body nil),
// 2.1 exports are rewritten as 3.0 with their names decoded and a UID made
// when they have none. The cmd/pimvault test saves the same files through
// vdirsyncer and the device library against the real binary.
func TestClientSamples(t *testing.T) {
	want := map[string]struct{ version, uid, fn string }{
		"ios_contact.vcf":                {"3.0", "6B29FC40-CA47-1067-B31D-00DD010662DA", "Anna Lindqvist"},
		"macos_group.vcf":                {"3.0", "A1F2C3D4-0000-4B6E-8C1D-7E5F00112233", "Family"},
		"davx5_contact.vcf":              {"4.0", "8f3a1b2c-4d5e-4f60-9a7b-0c1d2e3f4a5b", "Jürgen Müller"},
		"thunderbird_contact.vcf":        {"4.0", "d1e2f3a4-b5c6-4789-9abc-def012345678", "Marie Dupont"},
		"cardbook_contact.vcf":           {"3.0", "0c6d2f3e-91a4-4b8f-a1f2-33e5d7c9b801", "Dott. Paolo Rossi"},
		"evolution_contact.vcf":          {"3.0", "pas-id-65A1B2C3D4E5F600", "Jana Novak"},
		"outlook_caldavsynchronizer.vcf": {"3.0", "9b1f4e2a-6c3d-4e8f-b0a1-2c3d4e5f6a7b", "John Q. Smith"},
		"outlook_export_v21.vcf":         {"2.1", "", "Jane Smith"},
		"android_export_v21.vcf":         {"2.1", "", "Björn Åberg"},
	}
	files, err := filepath.Glob("testdata/clients/*.vcf")
	if err != nil || len(files) != len(want) {
		t.Fatalf("samples %v (%v), want the %d the README lists", files, err, len(want))
	}
	for _, f := range files {
		w, ok := want[filepath.Base(f)]
		if !ok {
			t.Errorf("%s is not in this test's list (nor, probably, in the README)", f)
			continue
		}
		body, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		info, err := Validate(body)
		if err != nil {
			t.Errorf("%s: refused: %v", f, err)
			continue
		}
		stored := body
		if w.version == "2.1" {
			if info.Body == nil || info.Version != "3.0" || len(info.Fixed) == 0 {
				t.Errorf("%s: a 2.1 card not rewritten: %+v", f, info)
				continue
			}
			stored = info.Body
		} else if info.Body != nil || info.Version != w.version {
			t.Errorf("%s: version %s, rewritten %v; want %s stored as sent", f, info.Version, info.Body != nil, w.version)
		}
		c, err := vcard.NewDecoder(bytes.NewReader(stored)).Decode()
		if err != nil {
			t.Fatalf("%s: the stored card does not parse: %v", f, err)
		}
		if got := c.PreferredValue(vcard.FieldFormattedName); got != w.fn {
			t.Errorf("%s: FN %q, want %q", f, got, w.fn)
		}
		if w.uid != "" && info.UID != w.uid {
			t.Errorf("%s: UID %q, want %q", f, info.UID, w.uid)
		}
		if info.UID == "" || c.Value(vcard.FieldUID) != info.UID {
			t.Errorf("%s: UID %q, stored card's %q", f, info.UID, c.Value(vcard.FieldUID))
		}
	}
}
