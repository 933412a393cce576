package dav

import (
	"bytes"
	"encoding/xml"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// ParsePropUpdates reads the set/remove instructions under the root element
// of body, whose name must be root. Values are re-encoded canonically
// (namespaces declared where used), so a dead property reads back with the
// same meaning however the client prefixed it.
func ParsePropUpdates(body []byte, root xml.Name) ([]PropUpdate, error) {
	d := xml.NewDecoder(bytes.NewReader(body))
	var out []PropUpdate
	depth := 0
	var mode string // "set" or "remove" while inside one
	inProp := false
	langs := []string{""} // xml:lang in scope, per open element
	for {
		tok, err := d.Token()
		if err == io.EOF {
			if err := checkPropNames(UpdateNames(out)); err != nil {
				return nil, err
			}
			return out, nil
		}
		if err != nil {
			return nil, BadRequest("malformed XML: %v", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			lang := langIn(t, langs[len(langs)-1])
			switch {
			case depth == 1:
				if t.Name != root {
					return nil, BadRequest("root element must be %s", Clark(root))
				}
			case depth == 2 && t.Name.Space == NSDAV && (t.Name.Local == "set" || t.Name.Local == "remove"):
				mode = t.Name.Local
			case depth == 3 && mode != "" && t.Name == (xml.Name{Space: NSDAV, Local: "prop"}):
				inProp = true
			case depth == 4 && inProp:
				inner, err := canonicalInner(d)
				if err != nil {
					return nil, BadRequest("property %s: %v", Clark(t.Name), err)
				}
				depth--
				out = append(out, PropUpdate{Remove: mode == "remove", Name: t.Name, Inner: inner, Lang: lang})
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
			prefixes := 0 // one fresh prefix per namespaced attribute of this element
			for _, a := range t.Attr {
				if a.Name.Space == "xmlns" || a.Name.Local == "xmlns" {
					continue
				}
				if a.Name.Space == xmlNS { // xml:lang, xml:space: the prefix is reserved
					b.WriteString(` xml:` + a.Name.Local + `="` + attrEscape(a.Value) + `"`)
					continue
				}
				if a.Name.Space != "" {
					p := "a" + strconv.Itoa(prefixes)
					prefixes++
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
			b.WriteString(XMLEscape(string(t)))
		}
	}
}

// UpdateNames are the names the updates touch, each once, in order.
func UpdateNames(ups []PropUpdate) []xml.Name {
	names := make([]xml.Name, 0, len(ups))
	seen := make(map[xml.Name]bool, len(ups))
	for _, u := range ups {
		if !seen[u.Name] {
			seen[u.Name] = true
			names = append(names, u.Name)
		}
	}
	return names
}

// CheckUpdates answers which updates are refused (protected properties).
func CheckUpdates(ups []PropUpdate) (bad map[xml.Name]bool) {
	bad = map[xml.Name]bool{}
	for _, u := range ups {
		if ProtectedProps[u.Name] {
			bad[u.Name] = true
		}
	}
	return bad
}

// ToChange turns updates into the props to set and the names to remove; a
// later instruction for the same property wins (RFC 4918 §9.2).
func ToChange(ups []PropUpdate) (set map[string][]byte, remove []string) {
	set = map[string][]byte{}
	removed := map[string]bool{}
	for _, u := range ups {
		k := Clark(u.Name)
		if u.Remove {
			delete(set, k)
			removed[k] = true
		} else {
			set[k] = []byte(u.Inner)
			delete(removed, k)
		}
	}
	for k := range removed {
		remove = append(remove, k)
	}
	return set, remove
}

// ReadPropfind reads a PROPFIND request: its Depth, "0" or "1", and its
// bounded XML body. Depth: infinity is refused with 403
// propfind-finite-depth (RFC 4918 §9.1 allows it; a listing of every object
// of every collection is unbounded work), and so is a request without a
// Depth header, which RFC 4918 §9.1 says to treat as infinity (as
// CalendarServer does; the message tells the client what to send).
func ReadPropfind(r *http.Request) (depth string, req *PropfindRequest, err error) {
	switch depth = strings.ToLower(strings.TrimSpace(r.Header.Get("Depth"))); depth {
	case "0", "1":
	case "infinity":
		return "", nil, Forbidden(NSDAV, "propfind-finite-depth", "PROPFIND with Depth: infinity is not supported; use Depth: 0 or 1")
	case "":
		return "", nil, Forbidden(NSDAV, "propfind-finite-depth", "PROPFIND without a Depth header means Depth: infinity (RFC 4918 §9.1), which is not supported; send Depth: 0 or 1")
	default:
		return "", nil, BadRequest("bad Depth header %q", r.Header.Get("Depth"))
	}
	body, err := ReadXMLBody(r)
	if err != nil {
		return "", nil, err
	}
	req, err = ParsePropfind(body)
	return depth, req, err
}

// ReadPropertyUpdate reads a PROPPATCH body (RFC 4918 §14.19
// propertyupdate): bounded, required, parsed into its ordered updates.
func ReadPropertyUpdate(r *http.Request) ([]PropUpdate, error) {
	body, err := ReadXMLBody(r)
	if err != nil {
		return nil, err
	}
	if body == nil {
		return nil, BadRequest("PROPPATCH needs a propertyupdate body")
	}
	return ParsePropUpdates(body, xml.Name{Space: NSDAV, Local: "propertyupdate"})
}
