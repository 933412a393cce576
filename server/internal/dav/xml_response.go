package dav

import (
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// Prefixes for the namespaces the server writes. Others get a local prefix.
var nsPrefix = map[string]string{NSDAV: "D", NSCardDAV: "C", NSCalDAV: "CAL", nsCS: "CS", nsApple: "A"}

// TextEscaper escapes character data. \r is written as a reference so a
// vCard's or iCalendar's CRLF line ends survive XML end-of-line handling.
var (
	TextEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", "\r", "&#13;")
	attrEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", "\r", "&#13;", "\n", "&#10;", "\t", "&#9;", `"`, "&quot;")
)

func XMLEscape(s string) string { return TextEscaper.Replace(s) }

func attrEscape(s string) string { return attrEscaper.Replace(s) }

// Element writes <name>inner</name> (inner is XML) with the right prefix.
func Element(b *strings.Builder, n xml.Name, inner string) {
	open, close := TagOf(n)
	if lang, rest, ok := splitLang(inner); ok { // a dead property's xml:lang
		open, inner = open[:len(open)-1]+` xml:lang="`+attrEscape(lang)+`">`, rest
	}
	if inner == "" {
		b.WriteString(open[:len(open)-1] + "/>")
		return
	}
	b.WriteString(open)
	b.WriteString(inner)
	b.WriteString(close)
}

func TagOf(n xml.Name) (open, close string) {
	if p, ok := nsPrefix[n.Space]; ok {
		return "<" + p + ":" + n.Local + ">", "</" + p + ":" + n.Local + ">"
	}
	if n.Space == "" {
		return `<` + n.Local + ` xmlns="">`, "</" + n.Local + ">"
	}
	return `<X:` + n.Local + ` xmlns:X="` + attrEscape(n.Space) + `">`, "</X:" + n.Local + ">"
}

// Multistatus builds a DAV:Multistatus body (RFC 4918 §14.16).
type Multistatus struct {
	b strings.Builder
}

func NewMultistatus() *Multistatus {
	m := &Multistatus{}
	m.b.WriteString(`<?xml version="1.0" encoding="utf-8"?>` + "\n")
	m.b.WriteString(`<D:multistatus xmlns:D="DAV:" xmlns:C="` + NSCardDAV + `" xmlns:CAL="` + NSCalDAV + `" xmlns:CS="` + nsCS + `" xmlns:A="` + nsApple + `">`)
	return m
}

// PropValue is one property with its value as inner XML.
type PropValue struct {
	Name  xml.Name
	Inner string
}

// PropResponse writes a response with a 200 propstat for found and a 404
// propstat for missing names. With namesOnly the values are left out
// (PROPFIND propname).
func (m *Multistatus) PropResponse(href string, found []PropValue, missing []xml.Name, namesOnly bool) {
	m.b.WriteString("<D:response><D:href>" + XMLEscape(href) + "</D:href>")
	if len(found) > 0 {
		m.b.WriteString("<D:propstat><D:prop>")
		for _, p := range found {
			inner := p.Inner
			if namesOnly {
				inner = ""
			}
			Element(&m.b, p.Name, inner)
		}
		m.b.WriteString("</D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat>")
	}
	if len(missing) > 0 {
		m.b.WriteString("<D:propstat><D:prop>")
		for _, n := range missing {
			Element(&m.b, n, "")
		}
		m.b.WriteString("</D:prop><D:status>HTTP/1.1 404 Not Found</D:status></D:propstat>")
	}
	if len(found) == 0 && len(missing) == 0 {
		// No property asked (an empty DAV:prop, as in a sync-collection that only
		// wants the changed hrefs): RFC 4918 §14.24 needs a status or a propstat.
		m.b.WriteString("<D:status>HTTP/1.1 200 OK</D:status>")
	}
	m.b.WriteString("</D:response>")
}

// PropStatusResponse writes a response whose every property has one status
// (PROPPATCH results).
func (m *Multistatus) PropStatusResponse(href string, byStatus map[int][]xml.Name, errCond map[int]xml.Name) {
	m.b.WriteString("<D:response><D:href>" + XMLEscape(href) + "</D:href>")
	for _, st := range []int{http.StatusOK, http.StatusForbidden, http.StatusConflict, http.StatusFailedDependency} {
		names := byStatus[st]
		if len(names) == 0 {
			continue
		}
		m.b.WriteString("<D:propstat><D:prop>")
		for _, n := range names {
			Element(&m.b, n, "")
		}
		fmt.Fprintf(&m.b, "</D:prop><D:status>HTTP/1.1 %d %s</D:status>", st, http.StatusText(st))
		if c, ok := errCond[st]; ok {
			m.b.WriteString("<D:error>")
			Element(&m.b, c, "")
			m.b.WriteString("</D:error>")
		}
		m.b.WriteString("</D:propstat>")
	}
	m.b.WriteString("</D:response>")
}

// StatusResponse writes a response with only a status (a deleted member in
// sync-collection, a missing href in a multiget).
func (m *Multistatus) StatusResponse(href string, status int) {
	fmt.Fprintf(&m.b, "<D:response><D:href>%s</D:href><D:status>HTTP/1.1 %d %s</D:status></D:response>",
		XMLEscape(href), status, http.StatusText(status))
}

// Raw appends XML as is (the sync-token element).
func (m *Multistatus) Raw(s string) { m.b.WriteString(s) }

func (m *Multistatus) Write(w http.ResponseWriter) {
	m.b.WriteString("</D:multistatus>\n")
	w.Header().Set("Content-Type", "application/xml; charset=utf-8")
	w.WriteHeader(http.StatusMultiStatus)
	io.WriteString(w, m.b.String()) // no copy of a large response
}

// Grow makes room for n more bytes of response, for a caller that knows
// roughly how large the answer will be.
func (m *Multistatus) Grow(n int) { m.b.Grow(n) }

// Buffer is the response written so far, for a writer that appends a
// response element itself (the fast calendar-data path); it must append
// whole <D:response> elements.
func (m *Multistatus) Buffer() *strings.Builder { return &m.b }

// String returns the document written so far.
func (m *Multistatus) String() string { return m.b.String() }
