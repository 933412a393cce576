package server

import (
	"bytes"
	"encoding/xml"
	"io"
	"net/http"
	"strings"
)

// propUpdate is one DAV:set or DAV:remove of a PROPPATCH (RFC 4918 §14.19)
// or the DAV:set of an extended MKCOL (RFC 5689 §5.1), in document order.
type propUpdate struct {
	remove bool
	name   xml.Name
	inner  string // canonical inner XML of the value
	lang   string // xml:lang in scope on the property element (RFC 4918 §4.3)
}

// parsePropUpdates reads the set/remove instructions under the root element
// of body, whose name must be root. Values are re-encoded canonically
// (namespaces declared where used), so a dead property reads back with the
// same meaning however the client prefixed it.
func parsePropUpdates(body []byte, root xml.Name) ([]propUpdate, error) {
	d := xml.NewDecoder(bytes.NewReader(body))
	var out []propUpdate
	depth := 0
	var mode string // "set" or "remove" while inside one
	inProp := false
	langs := []string{""} // xml:lang in scope, per open element
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, badRequest("malformed XML: %v", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			lang := langIn(t, langs[len(langs)-1])
			switch {
			case depth == 1:
				if t.Name != root {
					return nil, badRequest("root element must be %s", clark(root))
				}
			case depth == 2 && t.Name.Space == nsDAV && (t.Name.Local == "set" || t.Name.Local == "remove"):
				mode = t.Name.Local
			case depth == 3 && mode != "" && t.Name == (xml.Name{Space: nsDAV, Local: "prop"}):
				inProp = true
			case depth == 4 && inProp:
				inner, err := canonicalInner(d)
				if err != nil {
					return nil, badRequest("property %s: %v", clark(t.Name), err)
				}
				depth--
				out = append(out, propUpdate{remove: mode == "remove", name: t.Name, inner: inner, lang: lang})
				continue
			}
			langs = append(langs, lang)
		case xml.EndElement:
			langs = langs[:len(langs)-1]
			depth--
			if depth == 2 {
				inProp = false
			}
			if depth == 1 {
				mode = ""
			}
		}
	}
}

// canonicalInner re-encodes the content of the element just opened, up to
// and including its end tag.
func canonicalInner(d *xml.Decoder) (string, error) {
	var b strings.Builder
	type frame struct{ ns string }
	stack := []frame{{ns: ""}}
	for {
		tok, err := d.Token()
		if err != nil {
			return "", err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			cur := stack[len(stack)-1].ns
			b.WriteString("<" + t.Name.Local)
			if t.Name.Space != cur {
				b.WriteString(` xmlns="` + attrEscape(t.Name.Space) + `"`)
			}
			for i, a := range t.Attr {
				if a.Name.Space == "xmlns" || a.Name.Local == "xmlns" {
					continue
				}
				if a.Name.Space == xmlNS { // xml:lang, xml:space: the prefix is reserved
					b.WriteString(` xml:` + a.Name.Local + `="` + attrEscape(a.Value) + `"`)
					continue
				}
				if a.Name.Space != "" {
					p := "a" + string(rune('0'+i%10))
					b.WriteString(` xmlns:` + p + `="` + attrEscape(a.Name.Space) + `" ` + p + ":" + a.Name.Local + `="` + attrEscape(a.Value) + `"`)
					continue
				}
				b.WriteString(" " + a.Name.Local + `="` + attrEscape(a.Value) + `"`)
			}
			b.WriteString(">")
			stack = append(stack, frame{ns: t.Name.Space})
		case xml.EndElement:
			if len(stack) == 1 {
				return b.String(), nil
			}
			b.WriteString("</" + t.Name.Local + ">")
			stack = stack[:len(stack)-1]
		case xml.CharData:
			b.WriteString(xmlEscape(string(t)))
		}
	}
}

// checkUpdates answers which updates are refused (protected properties).
func checkUpdates(ups []propUpdate) (bad map[xml.Name]bool) {
	bad = map[xml.Name]bool{}
	for _, u := range ups {
		if protectedProps[u.name] {
			bad[u.name] = true
		}
	}
	return bad
}

// toChange turns updates into the props to set and the names to remove; a
// later instruction for the same property wins (RFC 4918 §9.2).
func toChange(ups []propUpdate) (set map[string][]byte, remove []string) {
	set = map[string][]byte{}
	removed := map[string]bool{}
	for _, u := range ups {
		k := clark(u.name)
		if u.remove {
			delete(set, k)
			removed[k] = true
		} else {
			set[k] = []byte(u.inner)
			delete(removed, k)
		}
	}
	for k := range removed {
		remove = append(remove, k)
	}
	return set, remove
}

// readPropfind reads a PROPFIND request: its Depth, "0" or "1" (infinity
// and a missing Depth are answered as 1, as sabre/dav does: nothing here is
// deeper than one level that a client could want in one listing), and its
// bounded XML body.
func readPropfind(r *http.Request) (depth string, req *propfindRequest, err error) {
	switch depth = strings.ToLower(r.Header.Get("Depth")); depth {
	case "0", "1":
	case "", "infinity":
		depth = "1"
	default:
		return "", nil, badRequest("bad Depth header %q", r.Header.Get("Depth"))
	}
	body, err := readXMLBody(r)
	if err != nil {
		return "", nil, err
	}
	req, err = parsePropfind(body)
	return depth, req, err
}

// readPropertyUpdate reads a PROPPATCH body (RFC 4918 §14.19
// propertyupdate): bounded, required, parsed into its ordered updates.
func readPropertyUpdate(r *http.Request) ([]propUpdate, error) {
	body, err := readXMLBody(r)
	if err != nil {
		return nil, err
	}
	if body == nil {
		return nil, badRequest("PROPPATCH needs a propertyupdate body")
	}
	return parsePropUpdates(body, xml.Name{Space: nsDAV, Local: "propertyupdate"})
}
