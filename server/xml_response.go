package server

import (
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// Prefixes for the namespaces the server writes. Others get a local prefix.
var nsPrefix = map[string]string{nsDAV: "D", nsCardDAV: "C", nsCalDAV: "CAL", nsCS: "CS", nsApple: "A"}

// textEscaper escapes character data. \r is written as a reference so a
// vCard's or iCalendar's CRLF line ends survive XML end-of-line handling.
var (
	textEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", "\r", "&#13;")
	attrEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", "\r", "&#13;", "\n", "&#10;", "\t", "&#9;", `"`, "&quot;")
)

func xmlEscape(s string) string { return textEscaper.Replace(s) }

func attrEscape(s string) string { return attrEscaper.Replace(s) }

// element writes <name>inner</name> (inner is XML) with the right prefix.
func element(b *strings.Builder, n xml.Name, inner string) {
	open, close := tagOf(n)
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

func tagOf(n xml.Name) (open, close string) {
	if p, ok := nsPrefix[n.Space]; ok {
		return "<" + p + ":" + n.Local + ">", "</" + p + ":" + n.Local + ">"
	}
	if n.Space == "" {
		return `<` + n.Local + ` xmlns="">`, "</" + n.Local + ">"
	}
	return `<X:` + n.Local + ` xmlns:X="` + attrEscape(n.Space) + `">`, "</X:" + n.Local + ">"
}

// multistatus builds a DAV:multistatus body (RFC 4918 §14.16).
type multistatus struct {
	b strings.Builder
}

func newMultistatus() *multistatus {
	m := &multistatus{}
	m.b.WriteString(`<?xml version="1.0" encoding="utf-8"?>` + "\n")
	m.b.WriteString(`<D:multistatus xmlns:D="DAV:" xmlns:C="` + nsCardDAV + `" xmlns:CAL="` + nsCalDAV + `" xmlns:CS="` + nsCS + `" xmlns:A="` + nsApple + `">`)
	return m
}

// propValue is one property with its value as inner XML.
type propValue struct {
	name  xml.Name
	inner string
}

// propResponse writes a response with a 200 propstat for found and a 404
// propstat for missing names. With namesOnly the values are left out
// (PROPFIND propname).
func (m *multistatus) propResponse(href string, found []propValue, missing []xml.Name, namesOnly bool) {
	m.b.WriteString("<D:response><D:href>" + xmlEscape(href) + "</D:href>")
	if len(found) > 0 {
		m.b.WriteString("<D:propstat><D:prop>")
		for _, p := range found {
			inner := p.inner
			if namesOnly {
				inner = ""
			}
			element(&m.b, p.name, inner)
		}
		m.b.WriteString("</D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat>")
	}
	if len(missing) > 0 {
		m.b.WriteString("<D:propstat><D:prop>")
		for _, n := range missing {
			element(&m.b, n, "")
		}
		m.b.WriteString("</D:prop><D:status>HTTP/1.1 404 Not Found</D:status></D:propstat>")
	}
	m.b.WriteString("</D:response>")
}

// propStatusResponse writes a response whose every property has one status
// (PROPPATCH results).
func (m *multistatus) propStatusResponse(href string, byStatus map[int][]xml.Name, errCond map[int]xml.Name) {
	m.b.WriteString("<D:response><D:href>" + xmlEscape(href) + "</D:href>")
	for _, st := range []int{http.StatusOK, http.StatusForbidden, http.StatusConflict, http.StatusFailedDependency} {
		names := byStatus[st]
		if len(names) == 0 {
			continue
		}
		m.b.WriteString("<D:propstat><D:prop>")
		for _, n := range names {
			element(&m.b, n, "")
		}
		fmt.Fprintf(&m.b, "</D:prop><D:status>HTTP/1.1 %d %s</D:status>", st, http.StatusText(st))
		if c, ok := errCond[st]; ok {
			m.b.WriteString("<D:error>")
			element(&m.b, c, "")
			m.b.WriteString("</D:error>")
		}
		m.b.WriteString("</D:propstat>")
	}
	m.b.WriteString("</D:response>")
}

// statusResponse writes a response with only a status (a deleted member in
// sync-collection, a missing href in a multiget).
func (m *multistatus) statusResponse(href string, status int) {
	fmt.Fprintf(&m.b, "<D:response><D:href>%s</D:href><D:status>HTTP/1.1 %d %s</D:status></D:response>",
		xmlEscape(href), status, http.StatusText(status))
}

// raw appends XML as is (the sync-token element).
func (m *multistatus) raw(s string) { m.b.WriteString(s) }

func (m *multistatus) write(w http.ResponseWriter) {
	m.b.WriteString("</D:multistatus>\n")
	w.Header().Set("Content-Type", "application/xml; charset=utf-8")
	w.WriteHeader(http.StatusMultiStatus)
	io.WriteString(w, m.b.String()) // no copy of a large response
}
