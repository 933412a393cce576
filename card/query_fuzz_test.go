package card

import (
	"strings"
	"testing"
)

// FuzzTextMatch: for any text-match and any property value, the value's
// texts start with the whole value unescaped and hold no empty component;
// negate-condition inverts the answer exactly; a needle taken from the value
// itself is contained in it under every collation.
func FuzzTextMatch(f *testing.F) {
	f.Add("CATEGORIES", "friends,climbing", "climbing", "i;unicode-casemap", "equals")
	f.Add("N", `Doe\;Jr;John;;;`, "doe;jr", "", "starts-with")
	f.Add("NOTE", `Likes tea, not coffee\; really`+"\n"+`x\N`, "coffee; really", "i;ascii-casemap", "contains")
	f.Add("ORG", "Acme, Inc.;R&D", "r&d", "i;octet", "ends-with")
	f.Add("FN", "Ève Ｆｕｌｌ", "ﬁ", "i;unicode-casemap", "")
	f.Fuzz(func(t *testing.T, name, value, needle, coll, mt string) {
		name = strings.ToUpper(name)
		texts := fieldTexts(name, value)
		if len(texts) == 0 || texts[0] != unescapeRest(value) {
			t.Fatalf("fieldTexts(%q, %q) = %q: the whole value must come first", name, value, texts)
		}
		for _, c := range texts[1:] {
			if c == "" {
				t.Fatalf("fieldTexts(%q, %q) = %q: an empty component", name, value, texts)
			}
		}
		sep := ""
		switch {
		case structuredProps[name]:
			sep = ";"
		case listProps[name]:
			sep = ","
		}
		if sep == "" && len(texts) != 1 {
			t.Fatalf("fieldTexts(%q, %q) = %q: components of a plain property", name, value, texts)
		}
		if sep != "" && !strings.Contains(value, `\`) {
			var want []string
			for _, p := range strings.Split(value, sep) {
				if p != "" {
					want = append(want, p)
				}
			}
			if len(want) == 1 && want[0] == value {
				want = nil
			}
			if strings.Join(texts[1:], "\x00") != strings.Join(want, "\x00") {
				t.Fatalf("fieldTexts(%q, %q) = %q: components are not %q", name, value, texts, want)
			}
		}
		pos, err := compileTextMatch(textMatch{Collation: coll, MatchType: mt, Text: needle})
		if err != nil {
			return
		}
		neg, err := compileTextMatch(textMatch{Collation: coll, MatchType: mt, Text: needle, Negate: "yes"})
		if err != nil {
			t.Fatalf("negate-condition=yes refused where no was accepted: %v", err)
		}
		if pos.match(texts...) == neg.match(texts...) {
			t.Fatalf("negate-condition does not invert %q on %q", needle, texts)
		}
		for _, c := range []string{"i;octet", "i;ascii-casemap", "i;unicode-casemap"} {
			m, err := compileTextMatch(textMatch{Collation: c, Text: texts[len(texts)-1]})
			if err != nil || !m.match(texts...) {
				t.Fatalf("%s: %q does not contain its own component %q (%v)", c, value, texts[len(texts)-1], err)
			}
		}
	})
}
