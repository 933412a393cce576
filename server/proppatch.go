package server

import (
	"bytes"
	"encoding/xml"
	"io"
	"net/http"
	"strings"

	"github.com/pimvault/pimvault/storage"
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

func (s *Server) proppatch(w http.ResponseWriter, r *http.Request, p davPath) {
	if p.kind != resCollection {
		s.writeError(w, r, forbidden(nsDAV, "cannot-modify-protected-property", "properties can only be changed on collections"))
		return
	}
	if _, err := s.collection(p); err != nil {
		s.writeError(w, r, err)
		return
	}
	ups, err := readPropertyUpdate(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if p.home == homeCalendars {
		for _, u := range ups {
			if err := checkCalendarProp(u); err != nil {
				s.writeError(w, r, err)
				return
			}
		}
	}
	ms := newMultistatus()
	names := make([]xml.Name, 0, len(ups))
	for _, u := range ups {
		names = append(names, u.name)
	}
	if bad := checkUpdates(ups); len(bad) > 0 {
		byStatus := map[int][]xml.Name{}
		for _, n := range names {
			if bad[n] {
				byStatus[http.StatusForbidden] = append(byStatus[http.StatusForbidden], n)
			} else {
				byStatus[http.StatusFailedDependency] = append(byStatus[http.StatusFailedDependency], n)
			}
		}
		ms.propStatusResponse(p.href(), byStatus, map[int]xml.Name{http.StatusForbidden: {Space: nsDAV, Local: "cannot-modify-protected-property"}})
		ms.write(w)
		return
	}
	set, remove := toChange(ups)
	if len(set)+len(remove) > 0 {
		_, err = s.store.Commit(r.Context(), storage.Change{Op: storage.OpSetProps, Principal: p.user,
			Collection: p.collection, Props: set, Remove: remove})
		if err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	ms.propStatusResponse(p.href(), map[int][]xml.Name{http.StatusOK: names}, nil)
	ms.write(w)
}

// mkcol creates an address book (RFC 5689 extended MKCOL, or a plain MKCOL in
// the address book home) with its initial properties.
func (s *Server) mkcol(w http.ResponseWriter, r *http.Request, p davPath) {
	if p.kind != resCollection || p.home != homeCards {
		s.writeError(w, r, forbidden(nsDAV, "resource-must-be-null", "collections can only be created in your address book home"))
		return
	}
	body, err := readXMLBody(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var ups []propUpdate
	if body != nil {
		if ups, err = parsePropUpdates(body, xml.Name{Space: nsDAV, Local: "mkcol"}); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	var props []propUpdate
	for _, u := range ups {
		if u.name == nameResourceType {
			if !strings.Contains(u.inner, `<addressbook xmlns="`+nsCardDAV+`">`) {
				s.writeError(w, r, forbidden(nsDAV, "valid-resourcetype", "only address books can be created here"))
				return
			}
			continue
		}
		if u.remove || protectedProps[u.name] {
			s.writeError(w, r, forbidden(nsDAV, "cannot-modify-protected-property", "%s cannot be set", clark(u.name)))
			return
		}
		props = append(props, u)
	}
	set, _ := toChange(props)
	_, err = s.store.Commit(r.Context(), storage.Change{Op: storage.OpCreateCollection, Principal: p.user,
		Collection: p.collection, Kind: kindAddressBook, Props: set})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Location", p.href())
	w.WriteHeader(http.StatusCreated)
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
