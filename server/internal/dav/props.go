package dav

import (
	"encoding/xml"
	"net/http"
	"strings"
	"time"
)

// ProtectedProps cannot be set by PROPPATCH (they are computed).
var ProtectedProps = map[xml.Name]bool{
	NameResourceType: true, NameGetETag: true, NameGetContentType: true, NameGetContentLength: true,
	NameGetLastModified: true, nameCreationDate: true, NameSyncToken: true, nameCurrentUser: true,
	NamePrincipalURL: true, namePrincipalColSet: true, NameOwner: true, NameSupportedReports: true,
	namePrivileges: true, NameQuotaUsed: true, NameQuotaAvailable: true, NameAddressBookHome: true,
	NameSupportedAddrData: true, NameMaxResourceSize: true, NameCalendarHome: true, NameCTag: true,
	nameLockDiscovery: true, nameSupportedLock: true, NameAddressData: true, NameACL: true,
	NameCardCollationSet: true,
}

// NotInAllprop are live properties only returned when asked for by name
// (RFC 3253 §3.1.5, RFC 4331 §3, RFC 6578 §4, RFC 6352 §8.3.1).
var NotInAllprop = map[xml.Name]bool{
	NameSupportedReports: true, NameQuotaUsed: true, NameQuotaAvailable: true, NameSyncToken: true,
	namePrivileges: true, NameAddressData: true, NameACL: true, NameCardCollationSet: true,
}

func HrefXML(href string) string { return "<D:href>" + XMLEscape(href) + "</D:href>" }

func QuoteETag(e string) string { return `"` + e + `"` }

func HTTPTime(ns int64) string { return time.Unix(0, ns).UTC().Format(http.TimeFormat) }

// privilegesXML is what the signed-in user may do with their own resources.
const privilegesXML = "<D:privilege><D:read/></D:privilege><D:privilege><D:write/></D:privilege>" +
	"<D:privilege><D:write-properties/></D:privilege><D:privilege><D:write-content/></D:privilege>" +
	"<D:privilege><D:bind/></D:privilege><D:privilege><D:unbind/></D:privilege>" +
	"<D:privilege><D:read-current-user-privilege-set/></D:privilege>"

// readPrivilegesXML is what a read-only sharee may do.
const readPrivilegesXML = "<D:privilege><D:read/></D:privilege><D:privilege><D:read-current-user-privilege-set/></D:privilege>"

// writePrivilegesXML is what a read-write sharee may do: change the
// contents, not the collection's properties.
const writePrivilegesXML = "<D:privilege><D:read/></D:privilege><D:privilege><D:write-content/></D:privilege>" +
	"<D:privilege><D:bind/></D:privilege><D:privilege><D:unbind/></D:privilege>" +
	"<D:privilege><D:read-current-user-privilege-set/></D:privilege>"

// SetViewer makes ps describe a resource of another account as the
// signed-in user sees it through a share (RFC 3744 §3, §5.4): their own
// current-user-principal, and the privileges the share gives.
func SetViewer(ps *PropSet, user string, readOnly bool) {
	ps.Add(nameCurrentUser, HrefXML(PrincipalHref(user)))
	if readOnly {
		ps.Add(namePrivileges, readPrivilegesXML)
	} else {
		ps.Add(namePrivileges, writePrivilegesXML)
	}
}

// ACE is one access control entry of the DAV:acl property.
type ACE struct {
	Principal string // principal href
	All       bool   // the owner: every privilege
	Write     bool   // read and write-content; else read only
}

// ACLXML is the DAV:acl property (RFC 3744 §5.5), every entry protected:
// it is changed by sharing, never by an ACL request.
func ACLXML(aces []ACE) string {
	var b strings.Builder
	for _, a := range aces {
		b.WriteString("<D:ace><D:principal>" + HrefXML(a.Principal) + "</D:principal><D:grant>")
		switch {
		case a.All:
			b.WriteString("<D:privilege><D:all/></D:privilege>")
		case a.Write:
			b.WriteString("<D:privilege><D:read/></D:privilege><D:privilege><D:write-content/></D:privilege><D:privilege><D:bind/></D:privilege><D:privilege><D:unbind/></D:privilege>")
		default:
			b.WriteString("<D:privilege><D:read/></D:privilege>")
		}
		b.WriteString("</D:grant><D:protected/></D:ace>")
	}
	return b.String()
}

func ReportSetXML(reports ...xml.Name) string {
	var b strings.Builder
	for _, r := range reports {
		b.WriteString("<D:supported-report><D:report>")
		Element(&b, r, "")
		b.WriteString("</D:report></D:supported-report>")
	}
	return b.String()
}

// PropSet is the properties of one resource, in a stable order.
type PropSet struct {
	vals  map[xml.Name]string
	order []xml.Name
}

func (p *PropSet) Add(n xml.Name, inner string) {
	if p.vals == nil {
		p.vals = map[xml.Name]string{}
	}
	if _, dup := p.vals[n]; !dup {
		p.order = append(p.order, n)
	}
	p.vals[n] = inner
}

// All returns every property in order.
func (p *PropSet) All() []PropValue {
	out := make([]PropValue, 0, len(p.order))
	for _, n := range p.order {
		out = append(out, PropValue{n, p.vals[n]})
	}
	return out
}

// Pick returns the requested properties that exist and the names that do not.
func (p *PropSet) Pick(req *PropfindRequest) (found []PropValue, missing []xml.Name) {
	switch {
	case req.Prop != nil:
		for _, n := range req.Prop.XMLNames() {
			if v, ok := p.vals[n]; ok {
				found = append(found, PropValue{n, v})
			} else {
				missing = append(missing, n)
			}
		}
	case req.PropName != nil:
		for _, n := range p.order {
			found = append(found, PropValue{n, ""})
		}
	default: // allprop, with DAV:include
		include := map[xml.Name]bool{}
		if req.Include != nil {
			for _, n := range req.Include.XMLNames() {
				include[n] = true
			}
		}
		for _, n := range p.order {
			if !NotInAllprop[n] || include[n] {
				found = append(found, PropValue{n, p.vals[n]})
			}
		}
	}
	return found, missing
}

// CommonProps adds the properties every resource has for a signed-in user.
func CommonProps(ps *PropSet, user string) {
	ps.Add(nameCurrentUser, HrefXML(PrincipalHref(user)))
	ps.Add(namePrincipalColSet, HrefXML(Path{Kind: ResPrincipals}.Href()))
	ps.Add(namePrivileges, privilegesXML)
}
