package collation

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzCollation checks the invariants every collation keeps, on any input:
// preparation maps characters one by one (so it distributes over
// concatenation of valid UTF-8) and settles after two rounds; equals implies
// contains, starts-with and ends-with and is symmetric; a string contains,
// starts and ends its own pieces; a Matcher agrees with Match; i;octet equals
// only equal strings and i;ascii-casemap ignores ASCII case only.
func FuzzCollation(f *testing.F) {
	for _, s := range [][2]string{
		{"ß", "SS"}, {"ﬁle", "FI"}, {"\u212B", "\u00E5"}, {"ı", "İ"}, {"ς", "Σ"},
		{"é", "e\u0301"}, {"ＡＢＣ", "abc"}, {"", ""}, {"\xff", "\uFFFD"}, {"\u01C4", "Dž"},
		{"a\u0323\u0301", "\u1EA1\u0301"}, {"한", "\u1112\u1161\u11AB"}, {"Hello", "hELLO"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, x, y string) {
		xy := x + y
		for _, c := range Supported {
			px, py := c.Prepare(x), c.Prepare(y)
			if utf8.ValidString(x) != utf8.ValidString(px) {
				t.Fatalf("%s: Prepare(%+q) = %+q changes UTF-8 validity", c, x, px)
			}
			if (c != UnicodeCasemap || utf8.ValidString(x) && utf8.ValidString(y)) && c.Prepare(xy) != px+py {
				t.Fatalf("%s: Prepare(%+q) != Prepare(%+q)+Prepare(%+q)", c, xy, x, y)
			}
			if two := c.Prepare(px); c.Prepare(two) != two {
				t.Fatalf("%s: preparing %+q does not settle after two rounds", c, x)
			}
			eq := c.Match(Equals, x, y)
			if eq != c.Match(Equals, y, x) {
				t.Fatalf("%s: equals(%+q, %+q) is not symmetric", c, x, y)
			}
			if eq && !(c.Match(Contains, x, y) && c.Match(StartsWith, x, y) && c.Match(EndsWith, x, y)) {
				t.Fatalf("%s: equals(%+q, %+q) without contains, starts-with or ends-with", c, x, y)
			}
			if c.Match(StartsWith, x, y) || c.Match(EndsWith, x, y) {
				if !c.Match(Contains, x, y) {
					t.Fatalf("%s: starts-with or ends-with(%+q, %+q) without contains", c, x, y)
				}
			}
			if c != UnicodeCasemap || utf8.ValidString(x) && utf8.ValidString(y) {
				if !c.Match(StartsWith, xy, x) || !c.Match(EndsWith, xy, y) || !c.Match(Contains, xy, x) ||
					!c.Match(Contains, xy, y) || !c.Match(Contains, x+y+x, y) {
					t.Fatalf("%s: %+q does not contain, start or end with its pieces %+q, %+q", c, xy, x, y)
				}
			}
			if !c.Match(Contains, x, "") || !c.Match(Equals, x, x) {
				t.Fatalf("%s: %+q lacks the empty needle or itself", c, x)
			}
			for _, mt := range []MatchType{Equals, Contains, StartsWith, EndsWith} {
				if NewMatcher(c, mt, y).Match(x) != c.Match(mt, x, y) {
					t.Fatalf("%s %s: Matcher and Match disagree on %+q, %+q", c, mt, x, y)
				}
			}
		}
		if Octet.Match(Equals, x, y) != (x == y) {
			t.Fatalf("i;octet equals(%+q, %+q) != (x == y)", x, y)
		}
		up := strings.Map(func(r rune) rune {
			if 'a' <= r && r <= 'z' {
				return r - 'a' + 'A'
			}
			return r
		}, x)
		if utf8.ValidString(x) && (!ASCIICasemap.Match(Equals, x, up) || !UnicodeCasemap.Match(Equals, x, up)) {
			t.Fatalf("%+q and %+q differ only in ASCII case", x, up)
		}
		if ASCIICasemap.Match(Equals, x, y) && len(x) != len(y) {
			t.Fatalf("i;ascii-casemap equals(%+q, %+q) with different lengths", x, y)
		}
	})
}
