package calendar

import (
	"fmt"
	"strings"

	"github.com/emersion/go-ical"

	"github.com/pimvault/pimvault/internal/collation"
)

// validate checks the collation (RFC 4791 §9.7.5: i;ascii-casemap when none is
// named) and the match type.
func (tm *TextMatch) validate() error {
	if _, err := collation.Parse(tm.Collation, collation.ASCIICasemap); err != nil {
		return fmt.Errorf("%w %q (supported: %s)", ErrUnsupportedCollation, tm.Collation, collation.Names)
	}
	if _, err := collation.ParseMatchType(tm.MatchType); err != nil {
		return fmt.Errorf("%w: text-match %v", ErrBadFilter, err)
	}
	return nil
}

// matches applies a text-match (RFC 4791 §9.7.5) to the values one property or
// parameter shows it: the condition holds when one of them matches under the
// collation and match type (a substring match by default), and negate-condition
// inverts the answer for the property as a whole. A filter that did not
// validate matches nothing.
func (tm *TextMatch) matches(values ...string) bool {
	c, err := collation.Parse(tm.Collation, collation.ASCIICasemap)
	if err != nil {
		return false
	}
	mt, err := collation.ParseMatchType(tm.MatchType)
	if err != nil {
		return false
	}
	m := collation.NewMatcher(c, mt, tm.Text)
	ok := false
	for _, v := range values {
		if m.Match(v) {
			ok = true
			break
		}
	}
	return ok != tm.Negate
}

// listProps are the TEXT properties whose value is a comma-separated list
// (RFC 5545 §3.8.1.2 CATEGORIES, §3.8.1.10 RESOURCES).
var listProps = map[string]bool{ical.PropCategories: true, ical.PropResources: true}

// propTexts is what a text-match sees of a property: its value, TEXT values
// unescaped (RFC 5545 §3.3.11), and for CATEGORIES and RESOURCES each element
// of the list as well, so "CATEGORIES:a,b" equals "b" and contains "a,b".
func propTexts(p *ical.Prop) []string {
	if vt := p.ValueType(); vt != ical.ValueText && vt != ical.ValueDefault {
		return []string{p.Value}
	}
	whole := unescapeText(p.Value)
	if !listProps[strings.ToUpper(p.Name)] || !strings.Contains(p.Value, ",") {
		return []string{whole}
	}
	out := []string{whole}
	start := 0
	for i := 0; i < len(p.Value); i++ {
		switch p.Value[i] {
		case '\\':
			i++
		case ',':
			out = append(out, unescapeText(p.Value[start:i]))
			start = i + 1
		}
	}
	return append(out, unescapeText(p.Value[start:]))
}

// unescapeText undoes RFC 5545 §3.3.11 escapes: \n or \N is a line break,
// a backslash before any other character stands for that character.
func unescapeText(v string) string {
	if !strings.Contains(v, `\`) {
		return v
	}
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == '\\' && i+1 < len(v) {
			i++
			switch v[i] {
			case 'n', 'N':
				c = '\n'
			default:
				c = v[i]
			}
		}
		b.WriteByte(c)
	}
	return b.String()
}
