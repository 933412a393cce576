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

// matcher prepares the text-match's needle; ok is false for a text-match
// that did not validate, which then matches nothing.
func (tm *TextMatch) matcher() (m collation.Matcher, ok bool) {
	c, err := collation.Parse(tm.Collation, collation.ASCIICasemap)
	if err != nil {
		return m, false
	}
	mt, err := collation.ParseMatchType(tm.MatchType)
	if err != nil {
		return m, false
	}
	return collation.NewMatcher(c, mt, tm.Text), true
}

// matches applies a text-match (RFC 4791 §9.7.5) to the values of one
// parameter: the condition holds when one of them matches under the collation
// and match type (a substring match by default), and negate-condition inverts
// the answer for the parameter as a whole.
func (tm *TextMatch) matches(values ...string) bool {
	m, ok := tm.matcher()
	if !ok {
		return false
	}
	found := false
	for _, v := range values {
		if m.Match(v) {
			found = true
			break
		}
	}
	return found != tm.Negate
}

// matchesProp applies a text-match to a property: it holds when one of the
// texts propTexts gives matches, and negate-condition inverts the answer.
func (tm *TextMatch) matchesProp(p *ical.Prop) bool {
	m, ok := tm.matcher()
	if !ok {
		return false
	}
	return propTexts(p, m.Match) != tm.Negate
}

// listProps are the TEXT properties whose value is a comma-separated list
// (RFC 5545 §3.8.1.2 CATEGORIES, §3.8.1.10 RESOURCES).
var listProps = map[string]bool{ical.PropCategories: true, ical.PropResources: true}

// propTexts calls yield with what a text-match sees of a property, until
// yield returns true, and reports whether it did: the value, TEXT values
// unescaped (RFC 5545 §3.3.11), and for CATEGORIES and RESOURCES each element
// of the list after it, so "CATEGORIES:a,b" equals "b" and contains "a,b".
func propTexts(p *ical.Prop, yield func(string) bool) bool {
	if vt := p.ValueType(); vt != ical.ValueText && vt != ical.ValueDefault {
		return yield(p.Value)
	}
	if yield(unescapeText(p.Value)) {
		return true
	}
	if !listProps[strings.ToUpper(p.Name)] || !strings.Contains(p.Value, ",") {
		return false
	}
	start := 0
	for i := 0; i < len(p.Value); i++ {
		switch p.Value[i] {
		case '\\':
			i++
		case ',':
			if yield(unescapeText(p.Value[start:i])) {
				return true
			}
			start = i + 1
		}
	}
	return yield(unescapeText(p.Value[start:]))
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
