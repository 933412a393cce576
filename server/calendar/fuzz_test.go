package calendar

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/emersion/go-ical"
)

func addTestdataSeeds(f *testing.F) {
	for _, dir := range []string{"valid", "invalid", "rfc4791"} {
		files, _ := filepath.Glob(filepath.Join("testdata", dir, "*.ics"))
		for _, file := range files {
			b, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
}

// FuzzParse: Parse never panics or hangs, and whatever it accepts re-encodes and parses
// again to the same object.
func FuzzParse(f *testing.F) {
	addTestdataSeeds(f)
	f.Add([]byte("BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART;TZID=\"a\r\n"))
	f.Add([]byte("BEGIN:VCALENDAR\r\nX;A=\"b\"c:d\r\nEND:VCALENDAR\r\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		obj, err := Parse(body, nil)
		if err != nil {
			return
		}
		var buf bytes.Buffer
		if err := ical.NewEncoder(&buf).Encode(obj.Cal); err != nil {
			t.Fatalf("accepted object does not encode: %v", err)
		}
		again, err := Parse(buf.Bytes(), nil)
		if err != nil {
			t.Fatalf("re-encoded object does not parse: %v\n%s", err, buf.Bytes())
		}
		if again.UID != obj.UID || again.Component != obj.Component || again.HasSpan != obj.HasSpan ||
			!again.Start.Equal(obj.Start) || !again.End.Equal(obj.End) {
			t.Fatalf("round trip changed the object: %+v vs %+v", again, obj)
		}
	})
}
