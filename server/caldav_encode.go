package server

import (
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/emersion/go-ical"
)

// encodeICal writes a calendar as iCalendar text (RFC 5545 §3.1) for
// calendar-data that the server computed (partial, expand, free-busy,
// collection export). Unlike go-ical's encoder it does not refuse stored
// objects that a lenient client wrote (a VEVENT without DTSTAMP, say):
// what was accepted by PUT can always be read back. Lines are folded at 75
// octets, on UTF-8 boundaries.
func encodeICal(cal *ical.Calendar) string {
	var w icalWriter
	w.out.Grow(1024)
	w.component(cal.Component)
	return w.out.String()
}

// icalWriter builds the text, reusing one buffer for each content line.
type icalWriter struct {
	out  strings.Builder
	line []byte
}

// propRank puts the properties clients look for first at the top; the rest
// follow by name.
func propRank(name string) int {
	switch name {
	case "VERSION":
		return 1
	case "PRODID":
		return 2
	case "CALSCALE":
		return 3
	case "UID":
		return 4
	case "RECURRENCE-ID":
		return 5
	case "DTSTAMP":
		return 6
	case "DTSTART":
		return 7
	}
	return 100
}

func (w *icalWriter) component(c *ical.Component) {
	w.line = append(append(w.line[:0], "BEGIN:"...), c.Name...)
	w.flush()
	names := make([]string, 0, len(c.Props))
	for n := range c.Props {
		names = append(names, n)
	}
	slices.SortFunc(names, func(a, b string) int {
		if ra, rb := propRank(a), propRank(b); ra != rb {
			return ra - rb
		}
		return strings.Compare(a, b)
	})
	for _, n := range names {
		props := c.Props[n]
		for i := range props {
			w.prop(&props[i])
			w.flush()
		}
	}
	for _, ch := range c.Children {
		w.component(ch)
	}
	w.line = append(append(w.line[:0], "END:"...), c.Name...)
	w.flush()
}

// prop puts one property's content line into w.line.
func (w *icalWriter) prop(p *ical.Prop) {
	w.line = append(w.line[:0], p.Name...)
	if len(p.Params) > 0 {
		pnames := make([]string, 0, len(p.Params))
		for n := range p.Params {
			pnames = append(pnames, n)
		}
		slices.Sort(pnames)
		for _, n := range pnames {
			w.line = append(append(append(w.line, ';'), n...), '=')
			for i, v := range p.Params[n] {
				if i > 0 {
					w.line = append(w.line, ',')
				}
				v = strings.ReplaceAll(v, `"`, "'") // RFC 5545 forbids DQUOTE in a parameter value
				if strings.ContainsAny(v, ";:,") {
					w.line = append(append(append(w.line, '"'), v...), '"')
				} else {
					w.line = append(w.line, v...)
				}
			}
		}
	}
	w.line = append(w.line, ':')
	v := p.Value
	if strings.ContainsAny(v, "\r\n") {
		v = lineBreaks.Replace(v) // a value never holds a raw line break (go-ical keeps text escaped)
	}
	w.line = append(w.line, v...)
}

var lineBreaks = strings.NewReplacer("\r\n", `\n`, "\n", `\n`, "\r", "")

// flush writes w.line folded at 75 octets (RFC 5545 §3.1), then CRLF.
func (w *icalWriter) flush() {
	const limit = 75
	line := w.line
	for first := true; ; first = false {
		max := limit
		if !first {
			max = limit - 1
			w.out.WriteByte(' ')
		}
		if len(line) <= max {
			w.out.Write(line)
			break
		}
		cut := max
		for cut > 0 && !utf8.RuneStart(line[cut]) {
			cut--
		}
		w.out.Write(line[:cut])
		w.out.WriteString("\r\n")
		line = line[cut:]
	}
	w.out.WriteString("\r\n")
}
