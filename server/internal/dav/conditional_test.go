package dav

import (
	"slices"
	"strings"
	"testing"

	"github.com/pimvault/pimvault/storage"
)

func TestParseETagList(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{`"a"`, []string{"a"}},
		{` "a" , W/"b",, "c"`, []string{"a", "b", "c"}},
		{`"a", b`, nil},
		{`"a"b"`, nil},
		{`"`, nil},
		{``, nil},
	}
	for _, tc := range tests {
		if got := ParseETagList(tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("parseETagList(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// FuzzParseETagList: any header parses without panicking into unquoted ETags.
func FuzzParseETagList(f *testing.F) {
	for _, s := range []string{`"a"`, `W/"a", "b"`, `"a", b`, `*`, `""`, `,,`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		for _, e := range ParseETagList(h) {
			if strings.Contains(e, `"`) {
				t.Fatalf("parseETagList(%q) gave %q", h, e)
			}
		}
	})
}

// FuzzSetIfMatch: any If-Match header becomes "*", one unquoted ETag or a
// list of them, without panicking; a list holds every entry.
func FuzzSetIfMatch(f *testing.F) {
	for _, s := range []string{`"a"`, `"old", "current"`, `W/"a", "b"`, `*`, `abc`, `"a", b`, ``} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		var c storage.Change
		SetIfMatch(&c, h)
		if c.IfMatch != "" && len(c.IfMatchETags) > 0 {
			t.Fatalf("%q set both IfMatch %q and a list %q", h, c.IfMatch, c.IfMatchETags)
		}
		if n := len(ParseETagList(h)); n > 1 && len(c.IfMatchETags) != n {
			t.Fatalf("%q: list of %d, want %d", h, len(c.IfMatchETags), n)
		}
	})
}
