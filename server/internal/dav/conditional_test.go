package dav

import (
	"slices"
	"strings"
	"testing"
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
