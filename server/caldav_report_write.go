package server

import (
	"bytes"

	"github.com/pimvault/pimvault/server/internal/dav"
	"github.com/pimvault/pimvault/storage"
)

// queryResponse writes o's response to a calendar-query. When only getetag
// and calendar-data are asked for (what clients ask), it writes straight into
// ms, escaping the calendar data as it copies it: the bytes propResponse
// writes, without the intermediate strings (a stored body is copied once,
// not three times). Anything else goes through objectResponse.
func (s *Server) queryResponse(ms *dav.Multistatus, p dav.Path, o storage.Object, rp reportProps) {
	var data string
	raw, rendered := false, false
	for _, n := range rp.names {
		switch {
		case n == dav.NameGetETag:
		case n == nameCalendarData && rp.calendarData != nil && !raw && !rendered:
			if (rp.calendarData.plain() || rp.calendarData.expandsToItself(o)) && (len(o.Body) == 0 || o.Body[0] != 0) {
				raw = true // (a leading NUL would be read as a dead property's xml:lang by element)
				continue
			}
			v, err := rp.calendarData.render(o, rp.floating)
			if err != nil {
				s.objectResponse(ms, p, o, rp) // reports the error
				return
			}
			if v != "" && v[0] == 0 {
				s.objectResponse(ms, p, o, rp)
				return
			}
			data, rendered = v, true
		default:
			s.objectResponse(ms, p, o, rp)
			return
		}
	}
	op := dav.Path{Kind: dav.ResObject, Home: p.Home, User: p.User, Collection: p.Collection, Object: o.Name}
	b := ms.Buffer()
	b.WriteString("<D:response><D:href>")
	writeEscaped(b, op.Href())
	b.WriteString("</D:href>")
	if len(rp.names) > 0 {
		b.WriteString("<D:propstat><D:prop>")
		for _, n := range rp.names {
			open, close := ms.TagOf(n)
			if n == dav.NameGetETag {
				b.WriteString(open)
				writeEscaped(b, dav.QuoteETag(o.ETag))
				b.WriteString(close)
				continue
			}
			if raw && len(o.Body) == 0 || rendered && data == "" {
				b.WriteString(open[:len(open)-1] + "/>")
				continue
			}
			b.WriteString(open)
			if raw {
				writeEscapedBytes(b, o.Body)
			} else {
				writeEscaped(b, data)
			}
			b.WriteString(close)
		}
		b.WriteString("</D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat>")
	} else {
		b.WriteString("<D:status>HTTP/1.1 200 OK</D:status>") // as dav.Multistatus.PropResponse
	}
	b.WriteString("</D:response>")
}

// xmlEntity is textEscaper's replacement for c, or "" (xml_response.go).
func xmlEntity(c byte) string {
	switch c {
	case '&':
		return "&amp;"
	case '<':
		return "&lt;"
	case '>':
		return "&gt;"
	case '\r':
		return "&#13;"
	}
	return ""
}

// needsEscape marks the bytes xmlEntity replaces.
var needsEscape = [256]bool{'&': true, '<': true, '>': true, '\r': true}

// writeEscaped writes xmlEscape(s) to b.
func writeEscaped(b *bytes.Buffer, s string) {
	from := 0
	for i := 0; i < len(s); i++ {
		if needsEscape[s[i]] {
			b.WriteString(s[from:i])
			b.WriteString(xmlEntity(s[i]))
			from = i + 1
		}
	}
	b.WriteString(s[from:])
}

// writeEscapedBytes writes xmlEscape(string(s)) to b.
func writeEscapedBytes(b *bytes.Buffer, s []byte) {
	from := 0
	for i := 0; i < len(s); i++ {
		if needsEscape[s[i]] {
			b.Write(s[from:i])
			b.WriteString(xmlEntity(s[i]))
			from = i + 1
		}
	}
	b.Write(s[from:])
}
