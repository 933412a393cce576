package card

import (
	"strings"

	"github.com/emersion/go-vcard"
	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// FilterXML is CARDDAV:filter (RFC 6352 §10.5), as a request carries it.
type FilterXML struct {
	Test  string       `xml:"test,attr"`
	Props []propFilter `xml:"urn:ietf:params:xml:ns:carddav prop-filter"`
}

// propFilter is CARDDAV:prop-filter (RFC 6352 §10.5.1).
type propFilter struct {
	Name         string        `xml:"name,attr"`
	Test         string        `xml:"test,attr"`
	IsNotDefined *struct{}     `xml:"urn:ietf:params:xml:ns:carddav is-not-defined"`
	TextMatches  []textMatch   `xml:"urn:ietf:params:xml:ns:carddav text-match"`
	Params       []paramFilter `xml:"urn:ietf:params:xml:ns:carddav param-filter"`
}

// paramFilter is CARDDAV:param-filter (RFC 6352 §10.5.2).
type paramFilter struct {
	Name         string     `xml:"name,attr"`
	IsNotDefined *struct{}  `xml:"urn:ietf:params:xml:ns:carddav is-not-defined"`
	TextMatch    *textMatch `xml:"urn:ietf:params:xml:ns:carddav text-match"`
}

// textMatch is CARDDAV:text-match (RFC 6352 §10.5.4).
type textMatch struct {
	Collation string `xml:"collation,attr"`
	MatchType string `xml:"match-type,attr"`
	Negate    string `xml:"negate-condition,attr"`
	Text      string `xml:",chardata"`
}

var unicodeFold = cases.Fold()

// compiled text-match: the folded needle and how to compare.
type matcher struct {
	needle string
	fold   func(string) string
	kind   string
	negate bool
}

func compileTextMatch(tm textMatch) (*matcher, error) {
	m := &matcher{kind: tm.MatchType, negate: tm.Negate == "yes"}
	switch tm.Negate {
	case "", "no", "yes":
	default:
		return nil, fail(ErrBadFilter, "negate-condition must be yes or no")
	}
	switch tm.MatchType {
	case "":
		m.kind = "contains"
	case "equals", "contains", "starts-with", "ends-with":
	default:
		return nil, fail(ErrBadFilter, "match-type %q is not one of equals, contains, starts-with, ends-with", tm.MatchType)
	}
	switch tm.Collation {
	case "", "i;unicode-casemap":
		m.fold = func(s string) string { return unicodeFold.String(norm.NFKD.String(s)) }
	case "i;ascii-casemap":
		m.fold = asciiFold
	case "i;octet":
		m.fold = func(s string) string { return s }
	default:
		return nil, fail(ErrUnsupportedCollation, "collation %q is not supported (i;unicode-casemap, i;ascii-casemap, i;octet are)", tm.Collation)
	}
	m.needle = m.fold(tm.Text)
	return m, nil
}

func asciiFold(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

func (m *matcher) match(value string) bool {
	v := m.fold(value)
	var ok bool
	switch m.kind {
	case "equals":
		ok = v == m.needle
	case "starts-with":
		ok = strings.HasPrefix(v, m.needle)
	case "ends-with":
		ok = strings.HasSuffix(v, m.needle)
	default:
		ok = strings.Contains(v, m.needle)
	}
	return ok != m.negate
}

// Filter is a compiled CARDDAV:filter.
type Filter struct {
	allOf bool
	props []compiledProp
}

type compiledProp struct {
	name         string
	allOf        bool
	isNotDefined bool
	texts        []*matcher
	params       []compiledParam
}

type compiledParam struct {
	name         string
	isNotDefined bool
	text         *matcher
}

func testIsAllOf(test string) (bool, error) {
	switch test {
	case "", "anyof":
		return false, nil
	case "allof":
		return true, nil
	}
	return false, fail(ErrBadFilter, "test must be anyof or allof, not %q", test)
}

// Compile checks a CARDDAV:filter and prepares it for Match. A bad filter
// is an ErrBadFilter, an unknown collation an ErrUnsupportedCollation.
func Compile(fx FilterXML) (*Filter, error) {
	allOf, err := testIsAllOf(fx.Test)
	if err != nil {
		return nil, err
	}
	f := &Filter{allOf: allOf}
	for _, pf := range fx.Props {
		if pf.Name == "" {
			return nil, fail(ErrBadFilter, "prop-filter without a name")
		}
		cp := compiledProp{name: strings.ToUpper(pf.Name), isNotDefined: pf.IsNotDefined != nil}
		if cp.allOf, err = testIsAllOf(pf.Test); err != nil {
			return nil, err
		}
		for _, tm := range pf.TextMatches {
			m, err := compileTextMatch(tm)
			if err != nil {
				return nil, err
			}
			cp.texts = append(cp.texts, m)
		}
		for _, prm := range pf.Params {
			c := compiledParam{name: strings.ToUpper(prm.Name), isNotDefined: prm.IsNotDefined != nil}
			if prm.TextMatch != nil {
				if c.text, err = compileTextMatch(*prm.TextMatch); err != nil {
					return nil, err
				}
			}
			cp.params = append(cp.params, c)
		}
		f.props = append(f.props, cp)
	}
	return f, nil
}

// combine applies anyof/allof to a list of results; an empty list matches.
func combine(allOf bool, results []bool) bool {
	if len(results) == 0 {
		return true
	}
	for _, r := range results {
		if allOf && !r {
			return false
		}
		if !allOf && r {
			return true
		}
	}
	return allOf
}

// Match reports whether a parsed vCard passes the filter (RFC 6352 §10.5:
// anyof/allof over prop-filters, each over its text-matches and
// param-filters; an empty filter matches every card).
func (f *Filter) Match(card vcard.Card) bool {
	results := make([]bool, 0, len(f.props))
	for _, p := range f.props {
		results = append(results, p.match(card))
	}
	return combine(f.allOf, results)
}

func (p *compiledProp) match(card vcard.Card) bool {
	fields := card[p.name]
	if p.isNotDefined {
		return len(fields) == 0
	}
	if len(fields) == 0 {
		return false
	}
	if len(p.texts) == 0 && len(p.params) == 0 {
		return true // defined is enough
	}
	// The prop-filter matches when any one instance of the property does.
	for _, fld := range fields {
		var results []bool
		for _, t := range p.texts {
			results = append(results, t.match(fld.Value))
		}
		for _, prm := range p.params {
			results = append(results, prm.match(fld))
		}
		if combine(p.allOf, results) {
			return true
		}
	}
	return false
}

func (c *compiledParam) match(f *vcard.Field) bool {
	vals := f.Params[c.name]
	if c.isNotDefined {
		return len(vals) == 0
	}
	if len(vals) == 0 {
		return false
	}
	if c.text == nil {
		return true
	}
	for _, v := range vals {
		if c.text.match(v) {
			return true
		}
	}
	return false
}
