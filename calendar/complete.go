package calendar

import (
	"bytes"

	"github.com/emersion/go-ical"
)

// ProductID is the PRODID added to a calendar object that arrived without one.
const ProductID = "-//pimvault//pimvault//EN"

// completeCalendar adds VERSION:2.0 and PRODID to a VCALENDAR that lacks them,
// in obj.Cal and in a copy of body (obj.Body), right after BEGIN:VCALENDAR with
// the body's own line ending. RFC 5545 §3.6 requires both; client libraries that
// wrap a bare VEVENT (python-caldav, for one) send neither, and strict readers
// and go-ical's encoder refuse a calendar without them, so the stored object is
// completed rather than refused. Nothing else in the body changes.
func completeCalendar(body []byte, obj *Object) {
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
