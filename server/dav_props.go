package server

import (
	"encoding/xml"
	"net/http"
	"strings"
	"time"
)

// Property names (RFC 4918 §15, RFC 5397, RFC 3744, RFC 6352 §6, RFC 6578 §4,
// RFC 4331, calendarserver ctag).
var (
	nameResourceType      = xml.Name{Space: nsDAV, Local: "resourcetype"}
	nameDisplayName       = xml.Name{Space: nsDAV, Local: "displayname"}
	nameGetETag           = xml.Name{Space: nsDAV, Local: "getetag"}
	nameGetContentType    = xml.Name{Space: nsDAV, Local: "getcontenttype"}
	nameGetContentLength  = xml.Name{Space: nsDAV, Local: "getcontentlength"}
	nameGetLastModified   = xml.Name{Space: nsDAV, Local: "getlastmodified"}
	nameCreationDate      = xml.Name{Space: nsDAV, Local: "creationdate"}
	nameSyncToken         = xml.Name{Space: nsDAV, Local: "sync-token"}
	nameCurrentUser       = xml.Name{Space: nsDAV, Local: "current-user-principal"}
	namePrincipalURL      = xml.Name{Space: nsDAV, Local: "principal-URL"}
	namePrincipalColSet   = xml.Name{Space: nsDAV, Local: "principal-collection-set"}
	nameOwner             = xml.Name{Space: nsDAV, Local: "owner"}
	nameSupportedReports  = xml.Name{Space: nsDAV, Local: "supported-report-set"}
	namePrivileges        = xml.Name{Space: nsDAV, Local: "current-user-privilege-set"}
	nameQuotaUsed         = xml.Name{Space: nsDAV, Local: "quota-used-bytes"}
	nameQuotaAvailable    = xml.Name{Space: nsDAV, Local: "quota-available-bytes"}
	nameLockDiscovery     = xml.Name{Space: nsDAV, Local: "lockdiscovery"}
	nameSupportedLock     = xml.Name{Space: nsDAV, Local: "supportedlock"}
	nameAddressBookHome   = xml.Name{Space: nsCardDAV, Local: "addressbook-home-set"}
	nameAddressBookDesc   = xml.Name{Space: nsCardDAV, Local: "addressbook-description"}
	nameSupportedAddrData = xml.Name{Space: nsCardDAV, Local: "supported-address-data"}
	nameMaxResourceSize   = xml.Name{Space: nsCardDAV, Local: "max-resource-size"}
	nameAddressData       = xml.Name{Space: nsCardDAV, Local: "address-data"}
	nameCalendarHome      = xml.Name{Space: nsCalDAV, Local: "calendar-home-set"}
	nameCTag              = xml.Name{Space: nsCS, Local: "getctag"}
	nameCalendarColor     = xml.Name{Space: nsApple, Local: "calendar-color"}
	nameCalendarOrder     = xml.Name{Space: nsApple, Local: "calendar-order"}
)

// protectedProps cannot be set by PROPPATCH (they are computed).
var protectedProps = map[xml.Name]bool{
	nameResourceType: true, nameGetETag: true, nameGetContentType: true, nameGetContentLength: true,
	nameGetLastModified: true, nameCreationDate: true, nameSyncToken: true, nameCurrentUser: true,
	namePrincipalURL: true, namePrincipalColSet: true, nameOwner: true, nameSupportedReports: true,
	namePrivileges: true, nameQuotaUsed: true, nameQuotaAvailable: true, nameAddressBookHome: true,
	nameSupportedAddrData: true, nameMaxResourceSize: true, nameCalendarHome: true, nameCTag: true,
	nameLockDiscovery: true, nameSupportedLock: true, nameAddressData: true,
}

// notInAllprop are live properties only returned when asked for by name
// (RFC 3253 §3.1.5, RFC 4331 §3, RFC 6578 §4).
var notInAllprop = map[xml.Name]bool{
	nameSupportedReports: true, nameQuotaUsed: true, nameQuotaAvailable: true, nameSyncToken: true,
	namePrivileges: true, nameAddressData: true,
}

func hrefXML(href string) string { return "<D:href>" + xmlEscape(href) + "</D:href>" }

func quoteETag(e string) string { return `"` + e + `"` }

func httpTime(ns int64) string { return time.Unix(0, ns).UTC().Format(http.TimeFormat) }

// privilegesXML is what the signed-in user may do with their own resources.
const privilegesXML = "<D:privilege><D:read/></D:privilege><D:privilege><D:write/></D:privilege>" +
	"<D:privilege><D:write-properties/></D:privilege><D:privilege><D:write-content/></D:privilege>" +
	"<D:privilege><D:bind/></D:privilege><D:privilege><D:unbind/></D:privilege>" +
	"<D:privilege><D:read-current-user-privilege-set/></D:privilege>"

func reportSetXML(reports ...xml.Name) string {
	var b strings.Builder
	for _, r := range reports {
		b.WriteString("<D:supported-report><D:report>")
		element(&b, r, "")
		b.WriteString("</D:report></D:supported-report>")
	}
	return b.String()
}

var (
	reportSyncCollection = xml.Name{Space: nsDAV, Local: "sync-collection"}
	reportAddrMultiget   = xml.Name{Space: nsCardDAV, Local: "addressbook-multiget"}
	reportAddrQuery      = xml.Name{Space: nsCardDAV, Local: "addressbook-query"}
)

// propSet is the properties of one resource, in a stable order.
type propSet struct {
	vals  map[xml.Name]string
	order []xml.Name
}

func (p *propSet) add(n xml.Name, inner string) {
	if p.vals == nil {
		p.vals = map[xml.Name]string{}
	}
	if _, dup := p.vals[n]; !dup {
		p.order = append(p.order, n)
	}
	p.vals[n] = inner
}

// pick returns the requested properties that exist and the names that do not.
func (p *propSet) pick(req *propfindRequest) (found []propValue, missing []xml.Name) {
	switch {
	case req.Prop != nil:
		for _, n := range req.Prop.names() {
			if v, ok := p.vals[n]; ok {
				found = append(found, propValue{n, v})
			} else {
				missing = append(missing, n)
			}
		}
	case req.PropName != nil:
		for _, n := range p.order {
			found = append(found, propValue{n, ""})
		}
	default: // allprop, with DAV:include
		include := map[xml.Name]bool{}
		if req.Include != nil {
			for _, n := range req.Include.names() {
				include[n] = true
			}
		}
		for _, n := range p.order {
			if !notInAllprop[n] || include[n] {
				found = append(found, propValue{n, p.vals[n]})
			}
		}
	}
	return found, missing
}

// commonProps adds the properties every resource has for a signed-in user.
func commonProps(ps *propSet, user string) {
	ps.add(nameCurrentUser, hrefXML(principalHref(user)))
	ps.add(namePrincipalColSet, hrefXML(davPath{kind: resPrincipals}.href()))
	ps.add(namePrivileges, privilegesXML)
}
