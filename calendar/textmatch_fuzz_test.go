package calendar

import (
	"strings"
	"testing"

	"github.com/emersion/go-ical"
)

// FuzzTextMatch: for any property value and text-match, the texts a match
// sees start with the whole value unescaped, list properties add exactly
// their comma-separated elements, negate-condition inverts the answer, and a
// value contains its own last text under every collation.
func FuzzTextMatch(f *testing.F) {
	f.Add("CATEGORIES", `Travel,Family\, friends`, "family, friends", "i;unicode-casemap", "equals")
	f.Add("SUMMARY", `Bring the book\; and cake\nSecond`, "cake\nsecond", "", "")
	f.Add("RESOURCES", "projector,,room", "room", "i;octet", "ends-with")
	f.Add("DTSTART", `2026\,0101`, "2026", "i;ascii-casemap", "starts-with")
	f.Fuzz(func(t *testing.T, name, value, needle, coll, mt string) {
		p := ical.NewProp(strings.ToUpper(name))
		p.Value = value
		var texts []string
		propTexts(p, func(s string) bool { texts = append(texts, s); return false })
		whole := value
		if vt := p.ValueType(); vt == ical.ValueText || vt == ical.ValueDefault {
			whole = unescapeText(value)
		}
		if len(texts) == 0 || texts[0] != whole {
			t.Fatalf("propTexts(%s:%q) = %q: the whole value must come first", p.Name, value, texts)
		}
		if !listProps[p.Name] && len(texts) != 1 {
			t.Fatalf("propTexts(%s:%q) = %q: elements of a single value", p.Name, value, texts)
		}
		if listProps[p.Name] && !strings.Contains(value, `\`) && strings.Contains(value, ",") &&
			strings.Join(texts[1:], ",") != value {
			t.Fatalf("propTexts(%s:%q) = %q: elements are not the list", p.Name, value, texts)
		}
		tm := TextMatch{Text: needle, Collation: coll, MatchType: mt}
		if tm.validate() != nil {
			return
		}
		neg := tm
		neg.Negate = true
		if tm.matchesProp(p) == neg.matchesProp(p) || tm.matchesProp(p) != tm.matches(texts...) {
			t.Fatalf("negate-condition does not invert %q on %q", needle, texts)
		}
		for _, c := range []string{"i;octet", "i;ascii-casemap", "i;unicode-casemap"} {
			own := TextMatch{Text: texts[len(texts)-1], Collation: c}
			if !own.matchesProp(p) {
				t.Fatalf("%s: %q does not contain its own text %q", c, value, own.Text)
			}
		}
	})
}
