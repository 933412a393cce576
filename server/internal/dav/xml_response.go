package dav

import (
	"encoding/xml"
	"io"
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

// XMLEscape escapes character data; characters XML 1.0 forbids become
// U+FFFD (see SanitizeXML: they are refused on the way in, so this only
// guards against data stored before that).
func XMLEscape(s string) string { return TextEscaper.Replace(sanitizeString(s)) }

func attrEscape(s string) string { return attrEscaper.Replace(sanitizeString(s)) }

// Element writes <name>inner</name> (inner is XML) with the right prefix.
func Element(b io.StringWriter, n xml.Name, inner string) {
	open, close := TagOf(n)
	writeElement(b, open, close, inner)
}

// writeElement writes an element from its tags and inner XML: empty as
// <x/>, and a dead property's xml:lang (see WithLang) on the open tag.
func writeElement(b io.StringWriter, open, close, inner string) {
	if lang, rest, ok := splitLang(inner); ok { // a dead property's xml:lang
		open, inner = open[:len(open)-1]+` xml:lang="`+attrEscape(lang)+`">`, rest
	}
	if inner == "" {
		b.WriteString(open[:len(open)-1])
		b.WriteString("/>")
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
