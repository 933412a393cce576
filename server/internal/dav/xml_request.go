package dav

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// Bounds on XML request bodies: every request is bounded in memory and CPU.
const (
	MaxXMLBytes = 1 << 20
	maxXMLDepth = 32
)

var errXMLTooDeep = errors.New("XML nested too deeply")

// ReadXMLBody reads a request body of at most maxXMLBytes and checks that it
// is well-formed XML no deeper than maxXMLDepth. An empty body gives nil.
func ReadXMLBody(r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxXMLBytes+1))
	if err != nil {
		return nil, BadRequest("reading body: %v", err)
	}
	if len(body) > MaxXMLBytes {
		return nil, &Error{Status: http.StatusRequestEntityTooLarge, Msg: fmt.Sprintf("XML body over %d bytes", MaxXMLBytes)}
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, nil
	}
	if err := CheckXML(body); err != nil {
		return nil, BadRequest("malformed XML: %v", err)
	}
	return body, nil
}

// CheckXML walks the tokens of b, failing on syntax errors, on nesting deeper
// than maxXMLDepth and on anything but one root element.
func CheckXML(b []byte) error {
	d := xml.NewDecoder(bytes.NewReader(b))
	depth, roots := 0, 0
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if err := checkNamespaceDecls(t); err != nil {
				return err
			}
			if depth == 0 {
				roots++
			}
			depth++
			if depth > maxXMLDepth {
				return errXMLTooDeep
			}
		case xml.EndElement:
			depth--
		case xml.Directive:
			return errors.New("DTDs and directives are not accepted")
		}
	}
	if roots != 1 {
		return fmt.Errorf("%d root elements, want 1", roots)
	}
	return nil
}

// xmlName is a namespace-qualified element name in Clark notation: {ns}local.
func Clark(n xml.Name) string { return "{" + n.Space + "}" + n.Local }

func ParseClark(s string) xml.Name {
	if strings.HasPrefix(s, "{") {
		if i := strings.IndexByte(s, '}'); i > 0 {
			return xml.Name{Space: s[1:i], Local: s[i+1:]}
		}
	}
	return xml.Name{Local: s}
}

// Bounds on the property names one request may name: every name is
// answered once per resource, so a Depth 1 listing repeats them for each
// member. No client asks for more than a few dozen.
const (
	MaxPropNames     = 1000
	MaxPropNameBytes = 64 << 10 // local names and namespaces, each distinct one counted once
)

// ErrTooManyProps refuses a request naming more properties than the bounds.
func errTooManyProps(format string, args ...any) error {
	return &Error{Status: http.StatusRequestEntityTooLarge, NS: NSPimvault, Cond: "max-properties", Msg: fmt.Sprintf(format, args...)}
}

// checkPropNames bounds the distinct names of one request.
func checkPropNames(names []xml.Name) error {
	if len(names) > MaxPropNames {
		return errTooManyProps("%d distinct properties asked for; at most %d", len(names), MaxPropNames)
	}
	size, spaces := 0, map[string]bool{}
	for _, n := range names {
		size += len(n.Local)
		if !spaces[n.Space] {
			spaces[n.Space] = true
			size += len(n.Space)
		}
	}
	if size > MaxPropNameBytes {
		return errTooManyProps("the property names asked for take %d bytes; at most %d", size, MaxPropNameBytes)
	}
	return nil
}

// dedupe drops repeated names (the first stays, in request order) and
// checks the bounds. A nil list is fine.
func (p *PropList) dedupe() error {
	if p == nil {
		return nil
	}
	seen := make(map[xml.Name]bool, len(p.Names))
	out := p.Names[:0]
	for _, e := range p.Names {
		if seen[e.XMLName] {
			continue
		}
		seen[e.XMLName] = true
		e.Inner = nil // the content of a requested name means nothing
		out = append(out, e)
	}
	p.Names = out
	return checkPropNames(p.XMLNames())
}

// XMLNames returns the names asked for, in request order.
func (p *PropList) XMLNames() []xml.Name {
	out := make([]xml.Name, 0, len(p.Names))
	for _, e := range p.Names {
		out = append(out, e.XMLName)
	}
	return out
}

// ParsePropfind decodes a PROPFIND body; an empty body means allprop.
func ParsePropfind(body []byte) (*PropfindRequest, error) {
	req := &PropfindRequest{}
	if body == nil {
		req.AllProp = &struct{}{}
		return req, nil
	}
	if err := xml.Unmarshal(body, req); err != nil {
		return nil, BadRequest("PROPFIND body: %v", err)
	}
	n := 0
	for _, set := range []bool{req.AllProp != nil, req.PropName != nil, req.Prop != nil} {
		if set {
			n++
		}
	}
	if n != 1 {
		return nil, BadRequest("PROPFIND body must hold exactly one of allprop, propname, prop")
	}
	if err := req.Prop.dedupe(); err != nil {
		return nil, err
	}
	if err := req.Include.dedupe(); err != nil {
		return nil, err
	}
	return req, nil
}

// Names are the property names the request asks for by name (DAV:prop,
// or DAV:include with allprop), without duplicates.
func (p *PropfindRequest) Names() []xml.Name {
	var out []xml.Name
	if p.Prop != nil {
		out = p.Prop.XMLNames()
	}
	if p.Include != nil {
		out = append(out, p.Include.XMLNames()...)
	}
	return out
}

// RootName returns the name of the root element of a well-formed body.
func RootName(body []byte) (xml.Name, error) {
	d := xml.NewDecoder(bytes.NewReader(body))
	for {
		tok, err := d.Token()
		if err != nil {
			return xml.Name{}, err
		}
		if se, ok := tok.(xml.StartElement); ok {
			return se.Name, nil
		}
	}
}

// CheckReportProps holds the DAV:prop of a REPORT body (a child of its
// root) to the bounds PROPFIND has: at most MaxPropNames distinct names in
// at most MaxPropNameBytes. The report handlers answer each name once.
func CheckReportProps(body []byte) error {
	d := xml.NewDecoder(bytes.NewReader(body))
	depth, inProp := 0, false
	var names []xml.Name
	seen := map[xml.Name]bool{}
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return checkPropNames(names)
		}
		if err != nil {
			return BadRequest("malformed XML: %v", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			depth++
			switch {
			case depth == 2 && t.Name == xml.Name{Space: NSDAV, Local: "prop"}:
				inProp = true
			case depth == 3 && inProp && !seen[t.Name]:
				seen[t.Name] = true
				names = append(names, t.Name)
			}
		case xml.EndElement:
			depth--
			if depth == 1 {
				inProp = false
			}
		}
	}
}
