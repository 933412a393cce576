package server

import (
	"encoding/xml"
	"fmt"
)

// checkNamespaceDecls refuses an empty prefixed namespace declaration
// (xmlns:p=""), which XML Namespaces 1.0 §3 forbids ("The attribute value
// in a namespace declaration for a prefix MUST NOT be empty") and Go's
// decoder accepts; litmus (props: propfind_invalid2) checks it is a 400.
func checkNamespaceDecls(se xml.StartElement) error {
	for _, a := range se.Attr {
		if a.Name.Space == "xmlns" && a.Value == "" {
			return fmt.Errorf("empty namespace declaration for prefix %q", a.Name.Local)
		}
	}
	return nil
}
