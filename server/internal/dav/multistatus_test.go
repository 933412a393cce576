package dav

import (
	"bytes"
	"encoding/xml"
	"net/http/httptest"
	"strings"
	"testing"
)

// parses reports whether s is one well-formed XML document.
func parses(s string) error {
	d := xml.NewDecoder(strings.NewReader(s))
	for {
		_, err := d.Token()
		if err != nil {
			if err.Error() == "EOF" {
				return nil
			}
			return err
		}
	}
}

// TestMultistatusNamespacesOnce: a requested namespace is declared once on
// the root however many members and properties use it; another (a dead
// property's) once per response that uses it.
func TestMultistatusNamespacesOnce(t *testing.T) {
	long := "urn:" + strings.Repeat("n", 20000)
	var names []xml.Name
	for i := range 50 {
		names = append(names, xml.Name{Space: long, Local: "p" + string(rune('a'+i%26)) + strings.Repeat("x", i)})
	}
	m := NewMultistatus(nil, nil, names)
	for range 20 {
		m.PropResponse("/x", []PropValue{{Name: xml.Name{Space: "urn:dead", Local: "d"}, Inner: "v"}}, names, false)
	}
	m.buf.WriteString("</D:multistatus>")
	out := m.String()
	if n := strings.Count(out, long); n != 1 {
		t.Fatalf("long namespace written %d times, want 1", n)
	}
	if n := strings.Count(out, `xmlns:R0="urn:dead"`); n != 20 {
		t.Fatalf("dead property namespace declared %d times, want once per response (20)", n)
	}
	if err := parses(out); err != nil {
		t.Fatalf("not XML: %v", err)
	}
}

// TestMultistatusStreams: a large listing is sent as it is built, holding
// about flushAt bytes, and every byte passes the XML 1.0 check.
func TestMultistatusStreams(t *testing.T) {
	rec := httptest.NewRecorder()
	m := NewMultistatus(t.Context(), rec, nil)
	maxPending := 0
	for range 5000 {
		m.PropResponse("/dav/a\x01b", []PropValue{{Name: NameGetETag, Inner: "\"e\uFFFEf\""}, {Name: xml.Name{Space: "urn:z", Local: "v"}, Inner: "x\x0by"}}, nil, false)
		maxPending = max(maxPending, m.buf.Len())
	}
	if !m.Started() || rec.Code != 207 {
		t.Fatalf("not started after 5000 responses (code %d)", rec.Code)
	}
	m.Finish(nil, nil)
	if maxPending > 2*flushAt {
		t.Fatalf("held %d bytes pending, want about %d", maxPending, flushAt)
	}
	body := rec.Body.String()
	if err := parses(body); err != nil {
		t.Fatalf("streamed multistatus is not XML: %v", err)
	}
	// The href is escaped (and cleaned) by XMLEscape; the two values are
	// inner XML, which only the final check sees.
	if m.Replaced() != 2*5000 || strings.Count(body, "\uFFFD") != 3*5000 {
		t.Fatalf("replaced %d, body has %d U+FFFD; want %d and %d", m.Replaced(), strings.Count(body, "\uFFFD"), 2*5000, 3*5000)
	}
}

func TestSanitizeXML(t *testing.T) {
	for in, want := range map[string]string{
		"plain <a>text</a> long enough to take the fast path": "plain <a>text</a> long enough to take the fast path",
		"a\x00b\x1fc\td\ne\rf":                                "a\uFFFDb\uFFFDc\td\ne\rf",
		"x\uFFFEy\uFFFFz\uFFFDw":                              "x\uFFFDy\uFFFDz\uFFFDw",
		"bad \xff utf8 \xed\xa0\x80":                          "bad \uFFFD utf8 \uFFFD\uFFFD\uFFFD",
		"日本語 😀 ok":                                            "日本語 😀 ok",
	} {
		got, _ := SanitizeXML([]byte(in))
		if !bytes.Equal(got, []byte(want)) {
			t.Errorf("SanitizeXML(%q) = %q, want %q", in, got, want)
		}
		if s := sanitizeString(in); s != want {
			t.Errorf("sanitizeString(%q) = %q, want %q", in, s, want)
		}
	}
}
