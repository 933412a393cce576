package calendar

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/emersion/go-ical"
)

// Parse decodes and validates one calendar object resource (RFC 4791 §4.1, RFC 5545):
// exactly one VCALENDAR with no METHOD and no VERSION but 2.0 (a missing VERSION or
// PRODID is added: Object.Body is then the body to store); one component type
// besides VTIMEZONE; one UID shared by all those components; at most one master, the
// others overrides with distinct RECURRENCE-IDs; every TZID defined by a VTIMEZONE of the
// object or an IANA name; DTEND/DUE and DURATION not both, and not before DTSTART; valid
// RRULE, RDATE, EXDATE and alarms; nesting at most MaxDepth deep. Floating times and DATE
// values are interpreted in floating (nil: UTC). Errors wrap ErrInvalidData (not valid
// iCalendar) or ErrInvalidObject (valid iCalendar, but not a calendar object resource).
func Parse(body []byte, floating *time.Location) (*Object, error) {
	cal, err := decode(body)
	if err != nil {
		return nil, err
	}
	obj := &Object{Cal: cal}
	if err := validateCalendar(cal, obj); err != nil {
		return nil, err
	}
	completeCalendar(body, obj)
	z, err := newZones(cal, floating)
	if err != nil {
		return nil, err
	}
	if err := checkTZIDs(z, cal.Component); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidData, err)
	}
	for _, c := range cal.Children {
		if c.Name != obj.Component {
			continue
		}
		if err := checkComponent(z, c); err != nil {
			return nil, fmt.Errorf("%w: %s: %v", ErrInvalidData, c.Name, err)
		}
	}
	ss, err := buildSeries(z, cal)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalidObject, err)
	}
	for _, s := range ss {
		if err := spanOf(s, z, obj); err != nil {
			return nil, err
		}
	}
	obj.prep = &prepared{floating: z.floating, z: z, series: ss, tmpl: &templates{}}
	if err := checkEncodable(cal); err != nil {
		return nil, err
	}
	return obj, nil
}

// checkEncodable runs go-ical's encoder checks (RFC 5545 cardinalities: one UID, at most
// one DTSTART, SUMMARY, …; VTIMEZONE observances) without its DTSTAMP requirement: a
// missing DTSTAMP is accepted, as Radicale and Xandikos do, since clients omit it.
func checkEncodable(cal *ical.Calendar) error {
	var added []*ical.Component
	for _, c := range cal.Children {
		switch c.Name {
		case ical.CompEvent, ical.CompToDo, ical.CompJournal, ical.CompFreeBusy:
			if len(c.Props[ical.PropDateTimeStamp]) == 0 {
				c.Props[ical.PropDateTimeStamp] = []ical.Prop{{Name: ical.PropDateTimeStamp, Params: ical.Params{}, Value: "19700101T000000Z"}}
				added = append(added, c)
			}
		}
	}
	err := ical.NewEncoder(io.Discard).Encode(cal)
	for _, c := range added {
		delete(c.Props, ical.PropDateTimeStamp)
	}
	if err != nil {
		return fmt.Errorf("%w: %v", ErrInvalidData, strings.TrimPrefix(err.Error(), "ical: "))
	}
	return nil
}

// decode checks the raw text (nesting depth, parameter sizes) before go-ical decodes it,
// since go-ical recurses without limit and builds parameter values byte by byte; then it
// decodes exactly one VCALENDAR. go-ical panics on some malformed lines: that is an error.
func decode(body []byte) (cal *ical.Calendar, err error) {
	if err := prescan(body); err != nil {
		return nil, err
	}
	defer func() {
		if r := recover(); r != nil {
			cal, err = nil, fmt.Errorf("%w: malformed content line (%v)", ErrInvalidData, r)
		}
	}()
	dec := ical.NewDecoder(bytes.NewReader(body))
	cal, err = dec.Decode()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%w: no VCALENDAR", ErrInvalidData)
		}
		return nil, fmt.Errorf("%w: %s", ErrInvalidData, strings.TrimPrefix(err.Error(), "ical: "))
	}
	if _, err := dec.Decode(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: more than one VCALENDAR, or data after END:VCALENDAR", ErrInvalidObject)
	}
	return cal, nil
}

// Budget for the parameter text of all content lines, as the sum of squared lengths:
// go-ical's parameter decoding is quadratic in each value's length.
const (
	maxParamText    = 8 << 10
	maxParamSquares = 1 << 28
)

// prescan walks the unfolded content lines once: it refuses nesting deeper than MaxDepth,
// BEGIN/END mismatches at the top level, oversized parameter text, and characters XML 1.0
// forbids (C0 controls other than tab, LF and CR; U+FFFE, U+FFFF; invalid UTF-8,
// including encoded surrogates): calendar data travels inside CalDAV's XML responses,
// and one such character would make every response carrying it malformed. RFC 5545
// excludes the controls from its values too.
func prescan(body []byte) error {
	depth, line, squares := 0, 0, 0
	for len(body) > 0 {
		// One logical line: physical lines joined across folds (CRLF + space or tab).
		var head []byte      // first bytes of the logical line, enough for BEGIN:/END:
		var firstLine []byte // its first physical line, for the property name in messages
		params := -1         // bytes before the first ':' outside quotes, -1 until found
		n, inQuote := 0, false
		for first := true; ; first = false {
			line++
			i := bytes.IndexByte(body, '\n')
			phys := body
			if i >= 0 {
				phys, body = body[:i], body[i+1:]
			} else {
				body = nil
			}
			phys = bytes.TrimSuffix(phys, []byte("\r"))
			if !first {
				phys = phys[1:] // the fold's space or tab
			}
			if bytes.IndexByte(phys, 0) >= 0 {
				return fmt.Errorf("%w: line %d: NUL byte", ErrInvalidData, line)
			}
			if first {
				firstLine = phys
			}
			if r, bad := xmlForbidden(phys); bad {
				return fmt.Errorf("%w: line %d (%s): %s is not allowed: XML 1.0 cannot carry it in a CalDAV response", ErrInvalidData, line, propName(firstLine), describeChar(r))
			}
			if len(head) < 8 {
				head = append(head, phys[:min(len(phys), 8-len(head))]...)
			}
			for j := 0; params < 0 && j < len(phys); j++ {
				switch phys[j] {
				case '"':
					inQuote = !inQuote
				case ':':
					if !inQuote {
						params = n + j
					}
				}
			}
			n += len(phys)
			if (params < 0 && n > maxParamText) || params > maxParamText {
				return fmt.Errorf("%w: line %d: property name and parameters longer than %d bytes", ErrInvalidData, line, maxParamText)
			}
			if len(body) == 0 || (body[0] != ' ' && body[0] != '\t') {
				break
			}
		}
		if params > 0 {
			if squares += params * params; squares > maxParamSquares {
				return fmt.Errorf("%w: too much parameter text", ErrInvalidData)
			}
		}
		h := strings.ToUpper(string(head))
		switch {
		case strings.HasPrefix(h, "BEGIN:"):
			if depth++; depth > MaxDepth {
				return fmt.Errorf("%w: line %d: components nested deeper than %d", ErrInvalidData, line, MaxDepth)
			}
		case strings.HasPrefix(h, "END:"):
			depth--
			if depth < 0 {
				return fmt.Errorf("%w: line %d: END without BEGIN", ErrInvalidData, line)
			}
		}
	}
	return nil
}

// xmlForbidden returns the first character of b that XML 1.0 does not allow (Char, §2.2),
// -1 for bytes that are not UTF-8.
func xmlForbidden(b []byte) (rune, bool) {
	for i := 0; i < len(b); {
		// Eight printable ASCII bytes at a time (none below 0x20, none above 0x7F).
		for i+8 <= len(b) {
			w := binary.LittleEndian.Uint64(b[i:])
			if (w-0x2020202020202020)&^w&0x8080808080808080 != 0 || w&0x8080808080808080 != 0 {
				break
			}
			i += 8
		}
		if i >= len(b) {
			break
		}
		c := b[i]
		if c < utf8.RuneSelf {
			if c < 0x20 && c != '\t' && c != '\n' && c != '\r' {
				return rune(c), true
			}
			i++
			continue
		}
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n == 1 || r == 0xFFFE || r == 0xFFFF {
			if n == 1 {
				r = -1
			}
			return r, true
		}
		i += n
	}
	return 0, false
}

func describeChar(r rune) string {
	if r < 0 {
		return "a byte sequence that is not UTF-8 (or an encoded surrogate)"
	}
	return fmt.Sprintf("character U+%04X", r)
}

// propName is the name at the start of a content line (up to ';' or ':'), shortened.
func propName(line []byte) string {
	n := bytes.IndexAny(line, ";:")
	if n < 0 {
		n = len(line)
	}
	n = min(n, 40)
	if _, bad := xmlForbidden(line[:n]); bad {
		return "a property"
	}
	return string(line[:n])
}
