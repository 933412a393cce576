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
	DAVXNameResourceType      = xml.Name{Space: DAVXNSDAV, Local: "resourcetype"}
	DAVXNameDisplayName       = xml.Name{Space: DAVXNSDAV, Local: "displayname"}
	DAVXNameGetETag           = xml.Name{Space: DAVXNSDAV, Local: "getetag"}
	DAVXNameGetContentType    = xml.Name{Space: DAVXNSDAV, Local: "getcontenttype"}
	DAVXNameGetContentLength  = xml.Name{Space: DAVXNSDAV, Local: "getcontentlength"}
	DAVXNameGetLastModified   = xml.Name{Space: DAVXNSDAV, Local: "getlastmodified"}
	nameCreationDate      = xml.Name{Space: DAVXNSDAV, Local: "creationdate"}
	DAVXNameSyncToken         = xml.Name{Space: DAVXNSDAV, Local: "sync-token"}
	nameCurrentUser       = xml.Name{Space: DAVXNSDAV, Local: "current-user-principal"}
	DAVXNamePrincipalURL      = xml.Name{Space: DAVXNSDAV, Local: "principal-URL"}
	namePrincipalColSet   = xml.Name{Space: DAVXNSDAV, Local: "principal-collection-set"}
	DAVXNameOwner             = xml.Name{Space: DAVXNSDAV, Local: "owner"}
	DAVXNameSupportedReports  = xml.Name{Space: DAVXNSDAV, Local: "supported-report-set"}
	namePrivileges        = xml.Name{Space: DAVXNSDAV, Local: "current-user-privilege-set"}
	DAVXNameQuotaUsed         = xml.Name{Space: DAVXNSDAV, Local: "quota-used-bytes"}
	DAVXNameQuotaAvailable    = xml.Name{Space: DAVXNSDAV, Local: "quota-available-bytes"}
	nameLockDiscovery     = xml.Name{Space: DAVXNSDAV, Local: "lockdiscovery"}
	nameSupportedLock     = xml.Name{Space: DAVXNSDAV, Local: "supportedlock"}
	DAVXNameAddressBookHome   = xml.Name{Space: DAVXNSCardDAV, Local: "addressbook-home-set"}
	nameAddressBookDesc   = xml.Name{Space: DAVXNSCardDAV, Local: "addressbook-description"}
	DAVXNameSupportedAddrData = xml.Name{Space: DAVXNSCardDAV, Local: "supported-address-data"}
	DAVXNameMaxResourceSize   = xml.Name{Space: DAVXNSCardDAV, Local: "max-resource-size"}
	DAVXNameAddressData       = xml.Name{Space: DAVXNSCardDAV, Local: "address-data"}
	DAVXNameCalendarHome      = xml.Name{Space: DAVXNSCalDAV, Local: "calendar-home-set"}
	DAVXNameCTag              = xml.Name{Space: nsCS, Local: "getctag"}
	nameCalendarColor     = xml.Name{Space: nsApple, Local: "calendar-color"}
	DAVXNameCalendarOrder     = xml.Name{Space: nsApple, Local: "calendar-order"}
)

// DAVXProtectedProps cannot be set by PROPPATCH (they are computed).
var DAVXProtectedProps = map[xml.Name]bool{
	DAVXNameResourceType: true, DAVXNameGetETag: true, DAVXNameGetContentType: true, DAVXNameGetContentLength: true,
	DAVXNameGetLastModified: true, nameCreationDate: true, DAVXNameSyncToken: true, nameCurrentUser: true,
	DAVXNamePrincipalURL: true, namePrincipalColSet: true, DAVXNameOwner: true, DAVXNameSupportedReports: true,
	namePrivileges: true, DAVXNameQuotaUsed: true, DAVXNameQuotaAvailable: true, DAVXNameAddressBookHome: true,
	DAVXNameSupportedAddrData: true, DAVXNameMaxResourceSize: true, DAVXNameCalendarHome: true, DAVXNameCTag: true,
	nameLockDiscovery: true, nameSupportedLock: true, DAVXNameAddressData: true,
}

// DAVXNotInAllprop are live properties only returned when asked for by name
// (RFC 3253 §3.1.5, RFC 4331 §3, RFC 6578 §4).
var DAVXNotInAllprop = map[xml.Name]bool{
	DAVXNameSupportedReports: true, DAVXNameQuotaUsed: true, DAVXNameQuotaAvailable: true, DAVXNameSyncToken: true,
	namePrivileges: true, DAVXNameAddressData: true,
}

func DAVXHrefXML(href string) string { return "<D:href>" + DAVXXMLEscape(href) + "</D:href>" }

func DAVXQuoteETag(e string) string { return `"` + e + `"` }

func DAVXHTTPTime(ns int64) string { return time.Unix(0, ns).UTC().Format(http.TimeFormat) }

// privilegesXML is what the signed-in user may do with their own resources.
const privilegesXML = "<D:privilege><D:read/></D:privilege><D:privilege><D:write/></D:privilege>" +
	"<D:privilege><D:write-properties/></D:privilege><D:privilege><D:write-content/></D:privilege>" +
	"<D:privilege><D:bind/></D:privilege><D:privilege><D:unbind/></D:privilege>" +
	"<D:privilege><D:read-current-user-privilege-set/></D:privilege>"

func DAVXReportSetXML(reports ...xml.Name) string {
	var b strings.Builder
	for _, r := range reports {
		b.WriteString("<D:supported-report><D:report>")
		DAVXElement(&b, r, "")
		b.WriteString("</D:report></D:supported-report>")
	}
	return b.String()
}

var (
	DAVXReportSyncCollection = xml.Name{Space: DAVXNSDAV, Local: "sync-collection"}
	DAVXReportAddrMultiget   = xml.Name{Space: DAVXNSCardDAV, Local: "addressbook-multiget"}
	DAVXReportAddrQuery      = xml.Name{Space: DAVXNSCardDAV, Local: "addressbook-query"}
)

// DAVXPropSet is the properties of one resource, in a stable order.
type DAVXPropSet struct {
	vals  map[xml.Name]string
	order []xml.Name
}

func (p *DAVXPropSet) Add(n xml.Name, inner string) {
	if p.vals == nil {
		p.vals = map[xml.Name]string{}
	}
	if _, dup := p.vals[n]; !dup {
		p.order = append(p.order, n)
	}
	p.vals[n] = inner
}

// Pick returns the requested properties that exist and the names that do not.
func (p *DAVXPropSet) Pick(req *DAVXPropfindRequest) (found []DAVXPropValue, missing []xml.Name) {
	switch {
	case req.Prop != nil:
		for _, n := range req.Prop.XMLNames() {
			if v, ok := p.vals[n]; ok {
				found = append(found, DAVXPropValue{n, v})
			} else {
				missing = append(missing, n)
			}
		}
	case req.PropName != nil:
		for _, n := range p.order {
			found = append(found, DAVXPropValue{n, ""})
		}
	default: // allprop, with DAV:include
		include := map[xml.Name]bool{}
		if req.Include != nil {
			for _, n := range req.Include.XMLNames() {
				include[n] = true
			}
		}
		for _, n := range p.order {
			if !DAVXNotInAllprop[n] || include[n] {
				found = append(found, DAVXPropValue{n, p.vals[n]})
			}
		}
	}
	return found, missing
}

// DAVXCommonProps adds the properties every resource has for a signed-in user.
func DAVXCommonProps(ps *DAVXPropSet, user string) {
	ps.Add(nameCurrentUser, DAVXHrefXML(DAVXPrincipalHref(user)))
	ps.Add(namePrincipalColSet, DAVXHrefXML(DAVXPath{Kind: DAVXResPrincipals}.Href()))
	ps.Add(namePrivileges, privilegesXML)
}
