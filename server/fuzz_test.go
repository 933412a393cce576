package server

import (
	"encoding/xml"
	"testing"

	"github.com/pimvault/pimvault/card"
	"github.com/pimvault/pimvault/server/internal/dav"
)

// FuzzXMLRequest: the request decoders never panic, and whatever checkXML
// accepts is one bounded-depth document.
func FuzzXMLRequest(f *testing.F) {
	for _, s := range []string{
		`<D:propfind xmlns:D="DAV:"><D:prop><D:getetag/></D:prop></D:propfind>`,
		`<D:propfind xmlns:D="DAV:"><D:allprop/><D:include><D:sync-token/></D:include></D:propfind>`,
		`<D:propertyupdate xmlns:D="DAV:" xmlns:Z="z"><D:set><D:prop><Z:a b="c">x<Z:b/></Z:a></D:prop></D:set><D:remove><D:prop><Z:c/></D:prop></D:remove></D:propertyupdate>`,
		`<D:sync-collection xmlns:D="DAV:"><D:sync-token>data:,pv1-ab-1</D:sync-token><D:sync-level>1</D:sync-level><D:limit><D:nresults>5</D:nresults></D:limit></D:sync-collection>`,
		`<C:addressbook-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><C:filter test="allof"><C:prop-filter name="FN"><C:text-match match-type="equals" collation="i;octet">x</C:text-match><C:param-filter name="TYPE"><C:is-not-defined/></C:param-filter></C:prop-filter></C:filter></C:addressbook-query>`,
		`<a><b><c>`, `<!DOCTYPE a [<!ENTITY x "y">]><a>&x;</a>`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		if err := dav.CheckXML(body); err != nil {
			return
		}
		dav.ParsePropfind(body)
		dav.CheckReportProps(body)
		dav.ParsePropUpdates(body, xml.Name{Space: dav.NSDAV, Local: "propertyupdate"})
		dav.ParsePropUpdates(body, xml.Name{Space: dav.NSDAV, Local: "mkcol"})
		var q addressbookQuery
		if xml.Unmarshal(body, &q) == nil {
			card.Compile(q.Filter)
		}
		var sc syncCollectionRequest
		xml.Unmarshal(body, &sc)
		if _, err := dav.RootName(body); err != nil {
			t.Fatalf("checkXML accepted a body with no root element: %q", body)
		}
	})
}

// FuzzValidateVCard: validation never panics; what it accepts has a UID
// and a supported version, and every refusal is a DAV precondition.
func FuzzValidateVCard(f *testing.F) {
	f.Add([]byte("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:x\r\nFN:y\r\nEND:VCARD\r\n"))
	f.Add([]byte("BEGIN:VCARD\r\nVERSION:4.0\r\nUID:x\r\nFN:y\r\nEMAIL;TYPE=work:a@b\r\nEND:VCARD\r\n"))
	f.Add([]byte("BEGIN:VCARD\r\nVERSION:2.1\r\nEND:VCARD\r\n"))
	f.Add([]byte("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:x\r\nEND:VCARD\r\nBEGIN:VCARD\r\n"))
	f.Add([]byte("BEGIN:VCARD\r\n item1.EMAIL:x\r\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		info, err := card.Validate(body)
		if err != nil {
			if de := dav.ToError(err); de.Status != 403 || de.Cond == "" {
				t.Fatalf("refusal is not a 403 precondition: %v", err)
			}
			return
		}
		if info.UID == "" || (info.Version != "3.0" && info.Version != "4.0") {
			t.Fatalf("accepted a card without UID or with version %q", info.Version)
		}
	})
}
