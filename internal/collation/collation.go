package collation

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Collation names a comparison of RFC 4790.
type Collation string

// The collations a text-match may name.
const (
	Octet          Collation = "i;octet"
	ASCIICasemap   Collation = "i;ascii-casemap"
	UnicodeCasemap Collation = "i;unicode-casemap"
)

// Supported lists the collations in the order servers advertise them, and
// Names spells the list for error messages.
var Supported = []Collation{ASCIICasemap, Octet, UnicodeCasemap}

const Names = "i;ascii-casemap, i;octet, i;unicode-casemap"

// MatchType names how a needle is compared with a value.
type MatchType string

// The match types of RFC 6352 §10.5.4 (RFC 4791 knows only contains, the
// default; the others are accepted on calendars too).
const (
	Equals     MatchType = "equals"
	Contains   MatchType = "contains"
	StartsWith MatchType = "starts-with"
	EndsWith   MatchType = "ends-with"
)

// Errors returned by Parse and ParseMatchType.
var (
	ErrUnsupported = errors.New("unsupported collation")
	ErrMatchType   = errors.New("unknown match-type")
)

// Parse returns the collation a text-match names; empty means def. An
// unknown name is an ErrUnsupported that lists the supported ones.
func Parse(name string, def Collation) (Collation, error) {
	switch c := Collation(name); c {
	case "":
		return def, nil
	case Octet, ASCIICasemap, UnicodeCasemap:
		return c, nil
	}
	return "", fmt.Errorf("%w: %q (supported: %s)", ErrUnsupported, name, Names)
}

// ParseMatchType returns the match type a text-match names; empty means
// contains.
func ParseMatchType(name string) (MatchType, error) {
	switch m := MatchType(name); m {
	case "":
		return Contains, nil
	case Equals, Contains, StartsWith, EndsWith:
		return m, nil
	}
	return "", fmt.Errorf("%w: %q is not one of equals, contains, starts-with, ends-with", ErrMatchType, name)
}

// Prepare returns s in the form the collation compares as octets: itself for
// i;octet, A-Z for a-z for i;ascii-casemap, the titlecased, decomposed form
// for i;unicode-casemap (see the package documentation).
func (c Collation) Prepare(s string) string {
	switch c {
	case ASCIICasemap:
		return asciiUpper(s)
	case UnicodeCasemap:
		return unicodeCasemap(s)
	}
	return s
}

// Match reports whether value matches needle under the collation and match
// type, with RFC 4790 §4.2.2 substring semantics (an empty needle is
// contained in, starts and ends every value).
func (c Collation) Match(mt MatchType, value, needle string) bool {
	return compare(mt, c.Prepare(value), c.Prepare(needle))
}

func compare(mt MatchType, value, needle string) bool {
	switch mt {
	case Equals:
		return value == needle
	case StartsWith:
		return strings.HasPrefix(value, needle)
	case EndsWith:
		return strings.HasSuffix(value, needle)
	}
	return strings.Contains(value, needle)
}

// Matcher is a needle prepared once for many values.
type Matcher struct {
	c      Collation
	mt     MatchType
	needle string
}

// NewMatcher prepares needle for repeated matching.
func NewMatcher(c Collation, mt MatchType, needle string) Matcher {
	return Matcher{c: c, mt: mt, needle: c.Prepare(needle)}
}

// Match reports whether value matches the needle.
func (m Matcher) Match(value string) bool {
	return compare(m.mt, m.c.Prepare(value), m.needle)
}

func asciiUpper(s string) string {
	i := 0
	for i < len(s) && !('a' <= s[i] && s[i] <= 'z') {
		i++
	}
	if i == len(s) {
		return s
	}
	b := []byte(s)
	for ; i < len(b); i++ {
		if 'a' <= b[i] && b[i] <= 'z' {
			b[i] -= 'a' - 'A'
		}
	}
	return string(b)
}

// unicodeCasemap applies RFC 5051 character by character: titlecase, then
// NFKD of the result. ASCII takes a short path (no ASCII character has a
// decomposition); bytes of invalid UTF-8 are copied as they are.
func unicodeCasemap(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		return asciiUpper(s)
	}
	out := make([]byte, 0, len(s)+len(s)/2)
	var buf [utf8.UTFMax]byte
	var dec []byte // one character's decomposition; U+FDFA's is the longest, 18 characters
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if 'a' <= c && c <= 'z' {
				c -= 'a' - 'A'
			}
			out = append(out, c)
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			out = append(out, s[i])
			i++
			continue
		}
		t := unicode.ToTitle(r)
		w := utf8.EncodeRune(buf[:], t)
		// Decompose the character alone: appending to out would let NFKD
		// reorder combining marks across characters, which RFC 5051 does not.
		dec = norm.NFKD.Append(dec[:0], buf[:w]...)
		out = append(out, dec...)
		i += n
	}
	return string(out)
}
