package calendar

import (
	"bytes"

	"github.com/emersion/go-ical"
)

// ProductID is the PRODID added to a calendar object that arrived without one.
const ProductID = "-//pimvault//pimvault//EN"

// completeCalendar makes a calendar object resource of what clients send, in
// obj.Cal and in a copy of body (obj.Body); when nothing needs fixing, obj.Body
// stays nil and the body is stored byte for byte.
//
//   - A VCALENDAR-level METHOD is removed with its folded continuation lines.
//     RFC 4791 §4.1 forbids it in a calendar collection; it comes with iTIP
//     messages saved as they arrived (vdirsyncer copying from a server that
//     keeps them, calendar-cli) and with Outlook's exports (METHOD:PUBLISH),
//     and refusing it would leave the event on the device only.
//   - VERSION:2.0 and PRODID are added when missing, right after
//     BEGIN:VCALENDAR with the body's own line ending. RFC 5545 §3.6 requires
//     both; client libraries that wrap a bare VEVENT (python-caldav, for one)
//     send neither, and strict readers and go-ical's encoder refuse a calendar
//     without them.
//
// Nothing else in the body changes.
func completeCalendar(body []byte, obj *Object) {
	if ms := obj.Cal.Props.Values(ical.PropMethod); len(ms) > 0 {
		for _, m := range ms {
			obj.Fixed = append(obj.Fixed, "removed METHOD:"+m.Value)
		}
		obj.Cal.Props.Del(ical.PropMethod)
		body = stripTopLevel(body, ical.PropMethod)
		obj.Body = body
	}
	var add []ical.Prop
	if obj.Cal.Props.Get(ical.PropVersion) == nil {
		add = append(add, ical.Prop{Name: ical.PropVersion, Params: ical.Params{}, Value: "2.0"})
		obj.Fixed = append(obj.Fixed, "added VERSION:2.0")
	}
	if obj.Cal.Props.Get(ical.PropProductID) == nil {
		add = append(add, ical.Prop{Name: ical.PropProductID, Params: ical.Params{}, Value: ProductID})
		obj.Fixed = append(obj.Fixed, "added PRODID")
	}
	if len(add) == 0 {
		return
	}
	// decode accepted the body, so its first content line is BEGIN:VCALENDAR
	// (go-ical skips nothing before it but blank lines).
	i := bytes.IndexByte(body, '\n')
	for i >= 0 && len(bytes.TrimSpace(body[:i])) == 0 {
		j := bytes.IndexByte(body[i+1:], '\n')
		if j < 0 {
			i = -1
			break
		}
		i += 1 + j
	}
	eol := "\r\n"
	if i >= 0 && (i == 0 || body[i-1] != '\r') {
		eol = "\n"
	}
	var lines bytes.Buffer
	for _, p := range add {
		obj.Cal.Props.Set(&p)
		lines.WriteString(p.Name + ":" + p.Value + eol)
	}
	out := make([]byte, 0, len(body)+lines.Len()+2)
	if i < 0 {
		// BEGIN:VCALENDAR is the last line and has no line ending; decode would
		// have failed, but stay safe.
		out = append(append(append(out, body...), eol...), lines.Bytes()...)
	} else {
		out = append(append(append(out, body[:i+1]...), lines.Bytes()...), body[i+1:]...)
	}
	obj.Body = out
}

// stripTopLevel returns body without the content lines named name (with
// their folded continuations) that belong to the VCALENDAR itself, not to one
// of its components. body is one VCALENDAR that decode accepted.
func stripTopLevel(body []byte, name string) []byte {
	out := make([]byte, 0, len(body))
	depth := 0
	skipping := false
	for rest := body; len(rest) > 0; {
		n := bytes.IndexByte(rest, '\n') + 1
		if n == 0 {
			n = len(rest)
		}
		line := rest[:n]
		rest = rest[n:]
		if len(line) > 0 && (line[0] == ' ' || line[0] == '\t') {
			if !skipping {
				out = append(out, line...)
			}
			continue
		}
		skipping = false
		key := line
		if i := bytes.IndexAny(key, ":;"); i >= 0 {
			key = key[:i]
		}
		key = bytes.TrimSpace(key)
		switch {
		case bytes.EqualFold(key, []byte("BEGIN")):
			depth++
		case bytes.EqualFold(key, []byte("END")):
			depth--
		case depth == 1 && bytes.EqualFold(key, []byte(name)):
			skipping = true
			continue
		}
		out = append(out, line...)
	}
	return out
}
