package card

import (
	"strings"

	"github.com/emersion/go-vcard"

	"github.com/pimvault/pimvault/internal/collation"
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

// matcher is a compiled text-match: the needle prepared once for its
// collation and match type.
type matcher struct {
	m      collation.Matcher
	negate bool
}

// compileTextMatch checks a text-match; the collation defaults to
// i;unicode-casemap (RFC 6352 §10.5.4).
func compileTextMatch(tm textMatch) (*matcher, error) {
	m := &matcher{negate: tm.Negate == "yes"}
	switch tm.Negate {
	case "", "no", "yes":
	default:
		return nil, fail(ErrBadFilter, "negate-condition must be yes or no")
	}
	mt, err := collation.ParseMatchType(tm.MatchType)
	if err != nil {
		return nil, fail(ErrBadFilter, "%v", err)
	}
	c, err := collation.Parse(tm.Collation, collation.UnicodeCasemap)
	if err != nil {
		return nil, fail(ErrUnsupportedCollation, "%q is not supported (supported: %s)", tm.Collation, collation.Names)
	}
	m.m = collation.NewMatcher(c, mt, tm.Text)
	return m, nil
}

// match reports whether one of the values a property or parameter shows
// matches, inverted as a whole by negate-condition.
func (m *matcher) match(values ...string) bool {
	ok := false
	for _, v := range values {
		if m.m.Match(v) {
			ok = true
			break
		}
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

// Bounds on a filter beyond the request body's: the elements it may hold
// (prop-filters, param-filters and text-matches together) and the length of
// one text-match, so a query costs at most that much per card.
const (
	MaxFilterElements = 256
	MaxTextMatch      = 4096
)

// Compile checks a CARDDAV:filter and prepares it for Match. A bad filter
// (RFC 6352 §10.5: is-not-defined stands alone, names are non-empty, the
// bounds above hold) is an ErrBadFilter, an unknown collation an
// ErrUnsupportedCollation.
func Compile(fx FilterXML) (*Filter, error) {
	allOf, err := testIsAllOf(fx.Test)
	if err != nil {
		return nil, err
	}
	f := &Filter{allOf: allOf}
	n := 0
	count := func(k int) error {
		if n += k; n > MaxFilterElements {
			return fail(ErrBadFilter, "filter has more than %d elements", MaxFilterElements)
		}
		return nil
	}
	text := func(tm textMatch) (*matcher, error) {
		if len(tm.Text) > MaxTextMatch {
			return nil, fail(ErrBadFilter, "text-match over %d bytes", MaxTextMatch)
		}
		return compileTextMatch(tm)
	}
	for _, pf := range fx.Props {
		if err := count(1 + len(pf.TextMatches) + len(pf.Params)); err != nil {
			return nil, err
		}
		if pf.Name == "" {
			return nil, fail(ErrBadFilter, "prop-filter without a name")
		}
		cp := compiledProp{name: strings.ToUpper(pf.Name), isNotDefined: pf.IsNotDefined != nil}
		if cp.isNotDefined && len(pf.TextMatches)+len(pf.Params) > 0 {
			return nil, fail(ErrBadFilter, "prop-filter %s: is-not-defined cannot be combined with other tests", pf.Name)
		}
		if cp.allOf, err = testIsAllOf(pf.Test); err != nil {
			return nil, err
		}
		for _, tm := range pf.TextMatches {
			m, err := text(tm)
			if err != nil {
				return nil, err
			}
			cp.texts = append(cp.texts, m)
		}
		for _, prm := range pf.Params {
			if prm.Name == "" {
				return nil, fail(ErrBadFilter, "prop-filter %s: param-filter without a name", pf.Name)
			}
			c := compiledParam{name: strings.ToUpper(prm.Name), isNotDefined: prm.IsNotDefined != nil}
			if c.isNotDefined && prm.TextMatch != nil {
				return nil, fail(ErrBadFilter, "param-filter %s: is-not-defined cannot be combined with text-match", prm.Name)
			}
			if prm.TextMatch != nil {
				if c.text, err = text(*prm.TextMatch); err != nil {
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
			results = append(results, t.match(fieldTexts(p.name, fld.Value)...))
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
	return c.text == nil || c.text.match(vals...)
}

// Properties whose value is a list of components: structured ones, separated
// by ';' (RFC 6350 §6.2.2 N, §6.3.1 ADR, §6.6.4 ORG, §6.2.7 GENDER, §6.7.7
// CLIENTPIDMAP), and lists, separated by ',' (§6.2.3 NICKNAME, §6.7.1
// CATEGORIES).
var (
	structuredProps = map[string]bool{"N": true, "ADR": true, "ORG": true, "GENDER": true, "CLIENTPIDMAP": true}
	listProps       = map[string]bool{"NICKNAME": true, "CATEGORIES": true}
)

// fieldTexts is what a text-match sees of a property value as go-vcard
// decoded it (with \\, \n and \, already undone): the whole value with its
// remaining escapes (\; and \N) undone, and for structured and list
// properties each non-empty component too, so "CATEGORIES:a,b" equals "b"
// and "N:Doe;John;;;" equals "Doe" as well as containing "Doe;John". go-vcard
// does not keep an escaped comma apart from a separator, so a list element
// holding "\," is split there.
func fieldTexts(name, v string) []string {
	whole := unescapeRest(v)
	var sep byte
	switch {
	case structuredProps[name]:
		sep = ';'
	case listProps[name]:
		sep = ','
	default:
		return []string{whole}
	}
	out := []string{whole}
	start := 0
	add := func(part string) {
		if part != "" {
			out = append(out, unescapeRest(part))
		}
	}
	for i := 0; i < len(v); i++ {
		switch v[i] {
		case '\\':
			i++
		case sep:
			add(v[start:i])
			start = i + 1
		}
	}
	add(v[start:])
	if len(out) == 2 && out[1] == whole {
		return out[:1]
	}
	return out
}

// unescapeRest undoes the escapes go-vcard leaves in a value: \; is a
// semicolon and \N a line break (RFC 6350 §3.4).
func unescapeRest(v string) string {
	if !strings.Contains(v, `\`) {
		return v
	}
	return strings.NewReplacer(`\;`, ";", `\N`, "\n").Replace(v)
}
