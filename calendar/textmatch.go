package calendar

import (
	"fmt"
	"strings"
	"unicode"

	"github.com/emersion/go-ical"
)

// Collations (RFC 4790 §9.2, §9.3; RFC 5051).
const (
	collASCII   = "i;ascii-casemap"
	collOctet   = "i;octet"
	collUnicode = "i;unicode-casemap"
)

func (tm *TextMatch) validate() error {
	switch tm.Collation {
	case "", collASCII, collOctet, collUnicode:
	default:
		return fmt.Errorf("%w: %q", ErrUnsupportedCollation, tm.Collation)
	}
	switch tm.MatchType {
	case "", "contains", "equals", "starts-with", "ends-with":
	default:
		return fmt.Errorf("%w: text-match match-type %q", ErrBadFilter, tm.MatchType)
	}
	return nil
}

// matches applies a text-match (RFC 4791 §9.7.5) to one value: a substring match by
// default, under the collation, negated by negate-condition.
func (tm *TextMatch) matches(value string) bool {
	text := tm.Text
	switch tm.Collation {
	case collOctet:
	case collUnicode:
		value, text = unicodeFold(value), unicodeFold(text)
	default:
		value, text = asciiFold(value), asciiFold(text)
	}
	var ok bool
	switch tm.MatchType {
	case "equals":
		ok = value == text
	case "starts-with":
		ok = strings.HasPrefix(value, text)
	case "ends-with":
		ok = strings.HasSuffix(value, text)
	default:
		ok = strings.Contains(value, text)
	}
	return ok != tm.Negate
}

// asciiFold maps A-Z to a-z and leaves every other byte alone (i;ascii-casemap).
func asciiFold(s string) string {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if 'A' <= b[j] && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// unicodeFold approximates i;unicode-casemap (RFC 5051) with Unicode simple case folding
// (no decomposition); invalid UTF-8 sequences become U+FFFD.
func unicodeFold(s string) string {
	return strings.Map(func(r rune) rune {
		// The smallest rune of the fold orbit is a stable representative.
		min := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			if f < min {
				min = f
			}
		}
		return min
	}, s)
}

// propText is the value a text-match sees: TEXT values unescaped (RFC 5545 §3.3.11),
// anything else as written.
func propText(p *ical.Prop) string {
	if vt := p.ValueType(); (vt != ical.ValueText && vt != ical.ValueDefault) || !strings.Contains(p.Value, `\`) {
		return p.Value
	}
	var b strings.Builder
	for i := 0; i < len(p.Value); i++ {
		c := p.Value[i]
		if c == '\\' && i+1 < len(p.Value) {
			i++
			switch p.Value[i] {
			case 'n', 'N':
				c = '\n'
			default:
				c = p.Value[i]
			}
		}
		b.WriteByte(c)
	}
	return b.String()
}
