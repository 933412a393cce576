package dav

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzParseDestination: any Destination is a path of this server, a 502
// for another origin, or a 400/404; never a panic, and never a path when
// the URI names another host.
func FuzzParseDestination(f *testing.F) {
	for _, s := range []string{
		"/dav/addressbooks/alice/contacts/a.vcf", "http://example.com/dav/files/alice/x", "http://evil/dav/files/alice/x",
		"https://example.com:443/dav/files/alice/x", "http://example.com:80/dav/", "//evil/dav/files/alice/x",
		"http://user@example.com/dav/", "mailto:x", "", "%zz", "http://[::1]:80/dav/", "HTTP://EXAMPLE.COM/dav/files/alice/a",
	} {
		f.Add(s, "")
	}
	f.Add("http://proxy.example/dav/files/alice/x", "https")
	f.Fuzz(func(t *testing.T, dest, proto string) {
		r := httptest.NewRequest("COPY", "http://example.com/dav/files/alice/src", nil)
		r.Header.Set("Destination", dest)
		if proto != "" {
			r.Header.Set("X-Forwarded-Proto", proto)
		}
		_, err := ParseDestination(r)
		if err == nil {
			return
		}
		var de *Error
		if !errors.As(err, &de) || (de.Status != http.StatusBadRequest && de.Status != http.StatusNotFound && de.Status != http.StatusBadGateway) {
			t.Fatalf("ParseDestination(%q): %v", dest, err)
		}
	})
}

// FuzzSanitizeXML: the output holds only characters XML 1.0 allows, and
// clean input comes back unchanged.
func FuzzSanitizeXML(f *testing.F) {
	for _, s := range []string{"plain", "a\x00b", "\uFFFE\uFFFF", "\xed\xa0\x80", "日本\r\n\t", "\xff\xfe", strings.Repeat("abcdefgh", 5) + "\x01"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		out, n := SanitizeXML(in)
		if i, _ := forbiddenAt(out); i >= 0 || !utf8.Valid(out) {
			t.Fatalf("SanitizeXML(%q) = %q still holds a forbidden character at %d", in, out, i)
		}
		if n == 0 && string(out) != string(in) {
			t.Fatalf("clean input changed: %q → %q", in, out)
		}
		if s := sanitizeString(string(in)); s != string(out) {
			t.Fatalf("sanitizeString and SanitizeXML differ on %q", in)
		}
	})
}
