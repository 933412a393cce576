package dav

import "encoding/xml"

// This file holds the XML elements of the DAV core: the namespaces, the
// request bodies it parses and the property and report names it answers
// with, each with the section of the RFC that defines it.

// Namespaces used in requests and responses.
const (
	NSDAV     = "DAV:"
	NSCardDAV = "urn:ietf:params:xml:ns:carddav"
	NSCalDAV  = "urn:ietf:params:xml:ns:caldav"
	nsCS      = "http://calendarserver.org/ns/"
	// NSCS is the CalendarServer namespace (getctag, sharing).
	NSCS    = nsCS
	nsApple = "http://apple.com/ns/ical/"
	// NSPimvault names pimvault's own error conditions, for refusals no
	// RFC names an element for.
	NSPimvault = "urn:pimvault:dav"
)

// AnyElement is any element, kept with its name and raw content: a
// property name in DAV:prop (RFC 4918 §14.18).
type AnyElement struct {
	XMLName xml.Name
	Inner   []byte `xml:",innerxml"`
}

// PropList is DAV:prop as a list of requested names (RFC 4918 §14.18).
type PropList struct {
	Names []AnyElement `xml:",any"`
}

// PropfindRequest is DAV:propfind (RFC 4918 §14.20): DAV:allprop (with
// DAV:include, §14.8), DAV:propname or DAV:prop.
type PropfindRequest struct {
	XMLName  xml.Name  `xml:"DAV: propfind"`
	AllProp  *struct{} `xml:"DAV: allprop"`
	PropName *struct{} `xml:"DAV: propname"`
	Prop     *PropList `xml:"DAV: prop"`
	Include  *PropList `xml:"DAV: include"`
}

// PropUpdate is one DAV:set or DAV:remove of a PROPPATCH (RFC 4918 §14.19)
// or the DAV:set of an extended MKCOL (RFC 5689 §5.1), in document order.
type PropUpdate struct {
	Remove bool
	Name   xml.Name
	Inner  string // canonical inner XML of the value
	Lang   string // xml:lang in scope on the property element (RFC 4918 §4.3)
}

// Property names (RFC 4918 §15, RFC 5397, RFC 3744, RFC 6352 §6, RFC 6578 §4,
// RFC 4331, calendarserver ctag).
var (
	NameResourceType      = xml.Name{Space: NSDAV, Local: "resourcetype"}
	NameDisplayName       = xml.Name{Space: NSDAV, Local: "displayname"}
	NameGetETag           = xml.Name{Space: NSDAV, Local: "getetag"}
	NameGetContentType    = xml.Name{Space: NSDAV, Local: "getcontenttype"}
	NameGetContentLength  = xml.Name{Space: NSDAV, Local: "getcontentlength"}
	NameGetLastModified   = xml.Name{Space: NSDAV, Local: "getlastmodified"}
	nameCreationDate      = xml.Name{Space: NSDAV, Local: "creationdate"}
	NameSyncToken         = xml.Name{Space: NSDAV, Local: "sync-token"}
	nameCurrentUser       = xml.Name{Space: NSDAV, Local: "current-user-principal"}
	NamePrincipalURL      = xml.Name{Space: NSDAV, Local: "principal-URL"}
	namePrincipalColSet   = xml.Name{Space: NSDAV, Local: "principal-collection-set"}
	NameOwner             = xml.Name{Space: NSDAV, Local: "owner"}
	NameACL               = xml.Name{Space: NSDAV, Local: "acl"}
	NameSupportedReports  = xml.Name{Space: NSDAV, Local: "supported-report-set"}
	namePrivileges        = xml.Name{Space: NSDAV, Local: "current-user-privilege-set"}
	NameQuotaUsed         = xml.Name{Space: NSDAV, Local: "quota-used-bytes"}
	NameQuotaAvailable    = xml.Name{Space: NSDAV, Local: "quota-available-bytes"}
	nameLockDiscovery     = xml.Name{Space: NSDAV, Local: "lockdiscovery"}
	nameSupportedLock     = xml.Name{Space: NSDAV, Local: "supportedlock"}
	NameAddressBookHome   = xml.Name{Space: NSCardDAV, Local: "addressbook-home-set"}
	nameAddressBookDesc   = xml.Name{Space: NSCardDAV, Local: "addressbook-description"}
	NameSupportedAddrData = xml.Name{Space: NSCardDAV, Local: "supported-address-data"}
	NameCardCollationSet  = xml.Name{Space: NSCardDAV, Local: "supported-collation-set"}
	NameMaxResourceSize   = xml.Name{Space: NSCardDAV, Local: "max-resource-size"}
	NameAddressData       = xml.Name{Space: NSCardDAV, Local: "address-data"}
	NameCalendarHome      = xml.Name{Space: NSCalDAV, Local: "calendar-home-set"}
	NameCTag              = xml.Name{Space: nsCS, Local: "getctag"}
	nameCalendarColor     = xml.Name{Space: nsApple, Local: "calendar-color"}
	NameCalendarOrder     = xml.Name{Space: nsApple, Local: "calendar-order"}
)

// Reports the core advertises (RFC 6578 §3.2, RFC 6352 §8.6, §8.7).
var (
	ReportSyncCollection = xml.Name{Space: NSDAV, Local: "sync-collection"}
	ReportAddrMultiget   = xml.Name{Space: NSCardDAV, Local: "addressbook-multiget"}
	ReportAddrQuery      = xml.Name{Space: NSCardDAV, Local: "addressbook-query"}
)
