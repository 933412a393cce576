package server

import (
	"sort"
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
	var b strings.Builder
	encodeComponent(&b, cal.Component)
	return b.String()
}

// propOrder puts the properties clients look for first at the top.
var propOrder = map[string]int{"VERSION": 1, "PRODID": 2, "CALSCALE": 3, "UID": 4, "RECURRENCE-ID": 5, "DTSTAMP": 6, "DTSTART": 7}

func encodeComponent(b *strings.Builder, c *ical.Component) {
	writeLine(b, "BEGIN:"+c.Name)
	names := make([]string, 0, len(c.Props))
	for n := range c.Props {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool {
		oi, oj := propOrder[names[i]], propOrder[names[j]]
		if oi == 0 {
			oi = 100
		}
		if oj == 0 {
			oj = 100
		}
		if oi != oj {
			return oi < oj
		}
		return names[i] < names[j]
	})
	for _, n := range names {
		for _, p := range c.Props[n] {
			writeLine(b, propLine(&p))
		}
	}
	for _, ch := range c.Children {
		encodeComponent(b, ch)
	}
	writeLine(b, "END:"+c.Name)
}

func propLine(p *ical.Prop) string {
	var b strings.Builder
	b.WriteString(p.Name)
	pnames := make([]string, 0, len(p.Params))
	for n := range p.Params {
		pnames = append(pnames, n)
	}
	sort.Strings(pnames)
	for _, n := range pnames {
		b.WriteString(";" + n + "=")
		for i, v := range p.Params[n] {
			if i > 0 {
				b.WriteString(",")
			}
			v = strings.ReplaceAll(v, `"`, "'") // RFC 5545 forbids DQUOTE in a parameter value
			if strings.ContainsAny(v, ";:,") {
				b.WriteString(`"` + v + `"`)
			} else {
				b.WriteString(v)
			}
		}
	}
	b.WriteString(":")
	v := p.Value
	if strings.ContainsAny(v, "\r\n") {
		v = lineBreaks.Replace(v) // a value never holds a raw line break (go-ical keeps text escaped)
	}
	b.WriteString(v)
	return b.String()
}

var lineBreaks = strings.NewReplacer("\r\n", `\n`, "\n", `\n`, "\r", "")

// writeLine writes one content line folded at 75 octets (RFC 5545 §3.1).
func writeLine(b *strings.Builder, line string) {
	const limit = 75
	first := true
	for len(line) > 0 {
		max := limit
		if !first {
			max = limit - 1
			b.WriteString(" ")
		}
		if len(line) <= max {
			b.WriteString(line)
			break
		}
		cut := max
		for cut > 0 && !utf8.RuneStart(line[cut]) {
			cut--
		}
		b.WriteString(line[:cut])
		b.WriteString("\r\n")
		line = line[cut:]
		first = false
	}
	b.WriteString("\r\n")
}
