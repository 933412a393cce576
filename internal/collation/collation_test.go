package collation

import (
	"errors"
	"testing"
	"unicode/utf8"
)

// The answers below were derived by hand from RFC 4790, RFC 5051 and the
// UnicodeData.txt lines quoted next to them (fields: code; name; …; field 5
// decomposition; …; field 12 uppercase; field 13 lowercase; field 14
// titlecase). RFC 5051 prepares each character as titlecase mapping, then
// full decomposition, and compares the results as octets.
func TestMatchHandDerived(t *testing.T) {
	const (
		u = UnicodeCasemap
		a = ASCIICasemap
		o = Octet
	)
	cases := []struct {
		why           string
		c             Collation
		mt            MatchType
		value, needle string
		want          bool
	}{
		// 00DF;LATIN SMALL LETTER SHARP S;Ll;0;L;;;;;N;;;;; — no simple
		// mappings, no decomposition: ß stays ß. The full mapping to "SS" is
		// in SpecialCasing.txt, which RFC 5051 does not use.
		{"ß is not SS", u, Equals, "ß", "SS", false},
		{"ß is not ss", u, Equals, "ß", "ss", false},
		{"STRASSE does not contain ß", u, Contains, "STRASSE", "ß", false},
		{"ß equals itself", u, Equals, "Straße", "STRAßE", true},
		// 1E9E;LATIN CAPITAL LETTER SHARP S;Lu;…;;;00DF; — only a lowercase
		// mapping, so ẞ stays ẞ and ß stays ß: different.
		{"ß is not ẞ", u, Equals, "ß", "ẞ", false},

		// FB01;LATIN SMALL LIGATURE FI;Ll;0;L;<compat> 0066 0069;…;;; — no
		// titlecase, so the compatibility decomposition "fi" (lower case) is
		// the result and is not titlecased again. "fi" typed as letters
		// becomes "FI". So the ligature equals only itself.
		{"ﬁ is not fi", u, Equals, "ﬁ", "fi", false},
		{"ﬁ is not FI", u, Equals, "ﬁ", "FI", false},
		{"ﬁle does not contain F", u, Contains, "ﬁle", "f", false},
		{"ﬁ equals ﬁ", u, Equals, "ﬁ", "ﬁ", true},
		{"ﬁle contains le", u, Contains, "ﬁle", "LE", true},

		// 212B;ANGSTROM SIGN;Lu;0;L;00C5;…;;;00E5; — no titlecase,
		// decomposes to 00C5, which decomposes to 0041 030A.
		// 00C5;…;Lu;0;L;0041 030A;…;;;00E5; — the same 0041 030A.
		// 00E5;…;Ll;0;L;0061 030A;…;00C5;;00C5 — titlecase 00C5, then 0041 030A.
		{"Å (Angstrom) is Å", u, Equals, "\u212B", "\u00C5", true},
		{"Å (Angstrom) is å", u, Equals, "\u212B", "\u00E5", true},
		{"Å is a + combining ring", u, Equals, "\u00C5", "a\u030A", true},
		{"Å contains A", u, Contains, "\u212B", "A", true},
		{"Å is not A", u, Equals, "\u00C5", "A", false},
		{"octet: Angstrom is not Å", o, Equals, "\u212B", "\u00C5", false},

		// 0131;LATIN SMALL LETTER DOTLESS I;Ll;…;0049;;0049 — titlecase I.
		// 0130;LATIN CAPITAL LETTER I WITH DOT ABOVE;Lu;0;L;0049 0307;…;;0069; —
		// no titlecase, decomposes to I + U+0307.
		{"ı is I", u, Equals, "ı", "I", true},
		{"ı is i", u, Equals, "ı", "i", true},
		{"İ is not I", u, Equals, "İ", "I", false},
		{"İ is i + combining dot", u, Equals, "İ", "i\u0307", true},
		{"İstanbul starts with i", u, StartsWith, "İstanbul", "i", true},
		{"ascii-casemap leaves ı alone", a, Equals, "ı", "I", false},
		{"ascii-casemap: i is I", a, Equals, "i", "I", true},

		// 03C2;GREEK SMALL LETTER FINAL SIGMA;Ll;…;03A3;;03A3 and
		// 03C3;GREEK SMALL LETTER SIGMA;Ll;…;03A3;;03A3: both titlecase to Σ.
		{"ς is σ", u, Equals, "ς", "σ", true},
		{"ς is Σ", u, Equals, "ς", "Σ", true},
		{"ΟΔΟΣ is οδος", u, Equals, "ΟΔΟΣ", "οδος", true},
		{"ascii-casemap: ς is not σ", a, Equals, "ς", "σ", false},
		// 00B5;MICRO SIGN;Ll;0;L;<compat> 03BC;…;039C;;039C — titlecase first
		// (039C, no decomposition), so µ is Greek capital mu, like μ (03BC,
		// titlecase 039C).
		{"µ is μ", u, Equals, "µ", "μ", true},

		// 00E9;LATIN SMALL LETTER E WITH ACUTE;Ll;0;L;0065 0301;…;00C9;;00C9 —
		// titlecase 00C9 (0045 0301), so é is E + U+0301, as e + U+0301 is.
		{"é is e + combining acute", u, Equals, "é", "e\u0301", true},
		{"é is E + combining acute", u, Equals, "é", "E\u0301", true},
		{"é is not e", u, Equals, "é", "e", false},
		{"café contains cafe (decomposed)", u, Contains, "café", "CAFE", true},
		{"é starts with e", u, StartsWith, "é", "e", true},
		{"café does not end with e", u, EndsWith, "café", "e", false},
		{"ascii-casemap: é is not e + acute", a, Equals, "é", "e\u0301", false},
		{"octet: é is not e + acute", o, Equals, "é", "e\u0301", false},
		// No reordering across characters: a + dot below (ccc 220) + acute
		// (ccc 230) differs from a + acute + dot below, each character having
		// no decomposition. 1EA1 (0061 0323; titlecase 1EA0 = 0041 0323)
		// followed by U+0301 is the first.
		{"marks keep their order", u, Equals, "a\u0323\u0301", "a\u0301\u0323", false},
		{"ạ + acute is a + dot below + acute", u, Equals, "\u1EA1\u0301", "A\u0323\u0301", true},

		// FF21;FULLWIDTH LATIN CAPITAL LETTER A;Lu;0;L;<wide> 0041;…;;;FF41; and
		// FF41;FULLWIDTH LATIN SMALL LETTER A;Ll;0;L;<wide> 0061;…;FF21;;FF21 —
		// titlecase FF21, then <wide> 0041.
		{"fullwidth ＡＢＣ is abc", u, Equals, "ＡＢＣ", "abc", true},
		{"fullwidth ａｂｃ is ABC", u, Equals, "ａｂｃ", "ABC", true},
		{"ascii-casemap: fullwidth is not abc", a, Equals, "ＡＢＣ", "ABC", false},
		// 217B;SMALL ROMAN NUMERAL TWELVE;Nl;…;<compat> 0078 0069 0069;…;216B;;216B —
		// titlecase 216B (<compat> 0058 0049 0049).
		{"ⅻ is XII", u, Equals, "ⅻ", "xii", true},
		// 212A;KELVIN SIGN;Lu;0;L;004B;…;;;006B; — decomposes to K.
		{"Kelvin sign is k", u, Equals, "\u212A", "k", true},

		// RFC 5051's example: 01C4 (DŽ) titlecases to 01C5 (Dž), which
		// decomposes to 0044 017E and on to 0044 007A 030C: the z stays lower
		// case. Typed as D + ž, ž (017E; titlecase 017D = 005A 030C) is
		// titlecased first: 0044 005A 030C, which differs.
		{"Ǆ is not D + ž", u, Equals, "\u01C4", "D\u017E", false},
		{"Ǆ is not D + Ž", u, Equals, "\u01C4", "D\u017D", false},
		{"Ǆ is D + z + caron", u, Equals, "\u01C4", "D\u007A\u030C", false},
		{"ǆ is ǅ", u, Equals, "\u01C6", "\u01C5", true},
		{"Ǆ is ǅ", u, Equals, "\u01C4", "\u01C5", true},

		// Hangul syllables decompose as NFKD does: D55C is 1112 1161 11AB.
		{"한 is its jamo", u, Equals, "\uD55C", "\u1112\u1161\u11AB", true},

		// RFC 4790 §4.2.2: the empty string is a substring, prefix and suffix
		// of every string; equals needs the empty value.
		{"empty needle contained", u, Contains, "abc", "", true},
		{"empty needle prefix", a, StartsWith, "abc", "", true},
		{"empty needle suffix", o, EndsWith, "abc", "", true},
		{"empty needle in empty value", o, Contains, "", "", true},
		{"empty needle does not equal a value", u, Equals, "abc", "", false},
		{"empty needle equals empty value", a, Equals, "", "", true},
		{"needle longer than value", u, Contains, "ab", "abc", false},

		// Plain ASCII under each collation.
		{"ascii-casemap folds letters", a, Equals, "Hello World", "hELLO wORLD", true},
		{"octet keeps case", o, Equals, "Hello", "hello", false},
		{"octet equals", o, Equals, "Hello", "Hello", true},
		{"unicode-casemap folds ASCII", u, EndsWith, "Meeting", "ING", true},
		{"ascii-casemap leaves @ and [ apart", a, Equals, "@", "`", false},

		// Invalid UTF-8 is compared as binary: a stray byte matches only
		// itself, never U+FFFD or another stray byte.
		{"invalid byte equals itself", u, Equals, "\xff", "\xff", true},
		{"invalid bytes differ", u, Equals, "\xff", "\xfe", false},
		{"invalid byte is not U+FFFD", u, Equals, "\xff", "\uFFFD", false},
		{"invalid byte inside a value", u, Contains, "a\xffb", "A\xff", true},
	}
	for _, tc := range cases {
		got := tc.c.Match(tc.mt, tc.value, tc.needle)
		if got != tc.want {
			t.Errorf("%s: %s %s(%q, %q) = %v, want %v (prepared %+q, %+q)", tc.why, tc.c, tc.mt,
				tc.value, tc.needle, got, tc.want, tc.c.Prepare(tc.value), tc.c.Prepare(tc.needle))
		}
		if m := NewMatcher(tc.c, tc.mt, tc.needle); m.Match(tc.value) != tc.want {
			t.Errorf("%s: Matcher disagrees with Match", tc.why)
		}
	}
}

// The prepared forms RFC 5051 gives or implies, spelled out.
func TestPrepareUnicodeCasemap(t *testing.T) {
	for in, want := range map[string]string{
		"\u01C4":     "D\u007A\u030C", // RFC 5051's own example
		"\u00E9":     "E\u0301",
		"\uFB01":     "fi",
		"ß":          "ß",
		"\u212B":     "A\u030A",
		"ı":          "I",
		"İ":          "I\u0307",
		"ｂ":          "B",
		"mixed Ünï":  "MIXED U\u0308NI\u0308",
		"\xffa\xc3":  "\xffA\xc3",
		"":           "",
		"\u00BD":     "1\u20442", // VULGAR FRACTION ONE HALF: <fraction> 0031 2044 0032
		"tab\tstays": "TAB\tSTAYS",
		"\u0345":     "\u0399", // COMBINING GREEK YPOGEGRAMMENI: titlecase 0399
		// 1F80 (1F00 0345) titlecases to 1F88 (1F08 0345 = 0391 0313 0345);
		// the ypogegrammeni from the decomposition is not titlecased again.
		"\u1F80":      "\u0391\u0313\u0345",
		"line\nbreak": "LINE\nBREAK",
	} {
		if got := UnicodeCasemap.Prepare(in); got != want {
			t.Errorf("Prepare(%+q) = %+q, want %+q", in, got, want)
		}
	}
}

func TestParse(t *testing.T) {
	for name, want := range map[string]Collation{
		"": ASCIICasemap, "i;octet": Octet, "i;ascii-casemap": ASCIICasemap, "i;unicode-casemap": UnicodeCasemap,
	} {
		if got, err := Parse(name, ASCIICasemap); err != nil || got != want {
			t.Errorf("Parse(%q) = %q, %v; want %q", name, got, err, want)
		}
	}
	for _, bad := range []string{"i;basic", "I;OCTET", "i;octet ", "default"} {
		if _, err := Parse(bad, Octet); !errors.Is(err, ErrUnsupported) {
			t.Errorf("Parse(%q): %v, want ErrUnsupported", bad, err)
		}
	}
	if got, err := ParseMatchType(""); err != nil || got != Contains {
		t.Errorf("ParseMatchType(\"\") = %q, %v", got, err)
	}
	for _, bad := range []string{"regex", "Equals", "prefix"} {
		if _, err := ParseMatchType(bad); !errors.Is(err, ErrMatchType) {
			t.Errorf("ParseMatchType(%q): %v, want ErrMatchType", bad, err)
		}
	}
}

// TestCasemapSettles checks every code point: preparing a prepared
// character a second time may still change it (RFC 5051 does not titlecase
// a decomposition, so "ﬁ" becomes "fi" and then "FI"), but a third time
// changes nothing. Preparation maps characters one by one, so what holds for
// each code point holds for every valid string.
func TestCasemapSettles(t *testing.T) {
	if testing.Short() {
		t.Skip("walks all of Unicode; skipped with -short")
	}
	for r := rune(0); r <= utf8.MaxRune; r++ {
		if !utf8.ValidRune(r) {
			continue
		}
		two := UnicodeCasemap.Prepare(UnicodeCasemap.Prepare(string(r)))
		if three := UnicodeCasemap.Prepare(two); three != two {
			t.Errorf("U+%04X: twice %+q, three times %+q", r, two, three)
		}
	}
}
