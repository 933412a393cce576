package server

import (
	"encoding/xml"

	"github.com/pimvault/pimvault/card"
	"github.com/pimvault/pimvault/server/internal/dav"
)

// This file holds the XML elements of the CardDAV and CalDAV handlers and
// of sync-collection, each with the section of the RFC that defines it; the
// WebDAV core's are in server/internal/dav/elements.go.

// Calendar collection properties (RFC 4791 §5.2, RFC 6638 §9.1, Apple).
var (
	nameCalendarDesc       = xml.Name{Space: dav.NSCalDAV, Local: "calendar-description"}
	nameCalendarTimezone   = xml.Name{Space: dav.NSCalDAV, Local: "calendar-timezone"}
	nameSupportedCompSet   = xml.Name{Space: dav.NSCalDAV, Local: "supported-calendar-component-set"}
	nameSupportedCalData   = xml.Name{Space: dav.NSCalDAV, Local: "supported-calendar-data"}
	nameCalMaxResourceSize = xml.Name{Space: dav.NSCalDAV, Local: "max-resource-size"}
	nameMinDateTime        = xml.Name{Space: dav.NSCalDAV, Local: "min-date-time"}
	nameMaxDateTime        = xml.Name{Space: dav.NSCalDAV, Local: "max-date-time"}
	nameSupportedCollation = xml.Name{Space: dav.NSCalDAV, Local: "supported-collation-set"}
	nameScheduleTransp     = xml.Name{Space: dav.NSCalDAV, Local: "schedule-calendar-transp"}
	nameCalendarData       = xml.Name{Space: dav.NSCalDAV, Local: "calendar-data"}

	// Scheduling (RFC 6638 §2.2, §2.3, §2.4.1, §2.4.2, §9.2; RFC 4791 §5.2.9).
	nameScheduleInboxURL   = xml.Name{Space: dav.NSCalDAV, Local: "schedule-inbox-URL"}
	nameScheduleOutboxURL  = xml.Name{Space: dav.NSCalDAV, Local: "schedule-outbox-URL"}
	nameCalUserAddressSet  = xml.Name{Space: dav.NSCalDAV, Local: "calendar-user-address-set"}
	nameCalUserType        = xml.Name{Space: dav.NSCalDAV, Local: "calendar-user-type"}
	nameScheduleDefaultCal = xml.Name{Space: dav.NSCalDAV, Local: "schedule-default-calendar-URL"}
	nameMaxAttendees       = xml.Name{Space: dav.NSCalDAV, Local: "max-attendees-per-instance"}
	nameScheduleTag        = xml.Name{Space: dav.NSCalDAV, Local: "schedule-tag"}

	// CalendarServer sharing (caldav-sharing, as Apple's clients speak it).
	nameAllowedSharing = xml.Name{Space: dav.NSCS, Local: "allowed-sharing-modes"}
	nameInvite         = xml.Name{Space: dav.NSCS, Local: "invite"}

	reportCalMultiget = xml.Name{Space: dav.NSCalDAV, Local: "calendar-multiget"}
	reportCalQuery    = xml.Name{Space: dav.NSCalDAV, Local: "calendar-query"}
	reportFreeBusy    = xml.Name{Space: dav.NSCalDAV, Local: "free-busy-query"}
)

// syncCollectionRequest is DAV:sync-collection (RFC 6578 §6.1).
type syncCollectionRequest struct {
	XMLName   xml.Name `xml:"DAV: sync-collection"`
	SyncToken string   `xml:"DAV: sync-token"`
	SyncLevel string   `xml:"DAV: sync-level"`
	Limit     *struct {
		NResults string `xml:"DAV: nresults"`
	} `xml:"DAV: limit"`
	Prop *dav.PropList `xml:"DAV: prop"`
}

// multigetRequest is CARDDAV:addressbook-multiget (RFC 6352 §8.7).
type multigetRequest struct {
	Prop  *dav.PropList `xml:"DAV: prop"`
	Hrefs []string      `xml:"DAV: href"`
}

// addressbookQuery is CARDDAV:addressbook-query (RFC 6352 §8.6, §10.5).
type addressbookQuery struct {
	Prop   *dav.PropList  `xml:"DAV: prop"`
	Filter card.FilterXML `xml:"urn:ietf:params:xml:ns:carddav filter"`
	Limit  *struct {
		NResults string `xml:"urn:ietf:params:xml:ns:carddav nresults"`
	} `xml:"urn:ietf:params:xml:ns:carddav limit"`
}

// calendarQueryXML is CALDAV:calendar-query (RFC 4791 §7.8, §9.5), with the
// calendar-data of its DAV:prop decoded on its own (calendarDataXML).
type calendarQueryXML struct {
	XMLName xml.Name `xml:"urn:ietf:params:xml:ns:caldav calendar-query"`
	Prop    *struct {
		CalendarData *calendarDataXML `xml:"urn:ietf:params:xml:ns:caldav calendar-data"`
	} `xml:"DAV: prop"`
	Filter   *filterXML `xml:"urn:ietf:params:xml:ns:caldav filter"`
	Timezone *string    `xml:"urn:ietf:params:xml:ns:caldav timezone"`
}

// filterXML is CALDAV:filter (RFC 4791 §9.7): exactly one comp-filter.
type filterXML struct {
	CompFilters []compFilterXML `xml:"urn:ietf:params:xml:ns:caldav comp-filter"`
}

// compFilterXML is CALDAV:comp-filter (RFC 4791 §9.7.1).
type compFilterXML struct {
	Name         string            `xml:"name,attr"`
	IsNotDefined *struct{}         `xml:"urn:ietf:params:xml:ns:caldav is-not-defined"`
	TimeRange    *timeRangeXML     `xml:"urn:ietf:params:xml:ns:caldav time-range"`
	PropFilters  []propFilterXML   `xml:"urn:ietf:params:xml:ns:caldav prop-filter"`
	CompFilters  []compFilterXML   `xml:"urn:ietf:params:xml:ns:caldav comp-filter"`
	TextMatches  []calTextMatchXML `xml:"urn:ietf:params:xml:ns:caldav text-match"` // not allowed here
}

// propFilterXML is CALDAV:prop-filter (RFC 4791 §9.7.2).
type propFilterXML struct {
	Name         string            `xml:"name,attr"`
	IsNotDefined *struct{}         `xml:"urn:ietf:params:xml:ns:caldav is-not-defined"`
	TimeRange    *timeRangeXML     `xml:"urn:ietf:params:xml:ns:caldav time-range"`
	TextMatches  []calTextMatchXML `xml:"urn:ietf:params:xml:ns:caldav text-match"`
	ParamFilters []paramFilterXML  `xml:"urn:ietf:params:xml:ns:caldav param-filter"`
}

// paramFilterXML is CALDAV:param-filter (RFC 4791 §9.7.3).
type paramFilterXML struct {
	Name         string            `xml:"name,attr"`
	IsNotDefined *struct{}         `xml:"urn:ietf:params:xml:ns:caldav is-not-defined"`
	TextMatches  []calTextMatchXML `xml:"urn:ietf:params:xml:ns:caldav text-match"`
}

// calTextMatchXML is CALDAV:text-match (RFC 4791 §9.7.5).
type calTextMatchXML struct {
	Collation string `xml:"collation,attr"`
	Negate    string `xml:"negate-condition,attr"`
	MatchType string `xml:"match-type,attr"`
	Text      string `xml:",chardata"`
}

// timeRangeXML is CALDAV:time-range (RFC 4791 §9.9), also the shape of
// expand, limit-recurrence-set and limit-freebusy-set (§9.6.5–§9.6.7).
type timeRangeXML struct {
	Start string `xml:"start,attr"`
	End   string `xml:"end,attr"`
}

// calendarDataXML is CALDAV:calendar-data in a request's DAV:prop (RFC 4791
// §9.6): which components and properties to return, and whether to expand
// recurrences or limit the recurrence set.
type calendarDataXML struct {
	ContentType string        `xml:"content-type,attr"`
	Version     string        `xml:"version,attr"`
	Comp        *compSelXML   `xml:"urn:ietf:params:xml:ns:caldav comp"`
	Expand      *timeRangeXML `xml:"urn:ietf:params:xml:ns:caldav expand"`
	Limit       *timeRangeXML `xml:"urn:ietf:params:xml:ns:caldav limit-recurrence-set"`
	LimitFB     *timeRangeXML `xml:"urn:ietf:params:xml:ns:caldav limit-freebusy-set"`
}

// compSelXML is CALDAV:comp inside calendar-data (RFC 4791 §9.6.1).
type compSelXML struct {
	Name    string       `xml:"name,attr"`
	AllProp *struct{}    `xml:"urn:ietf:params:xml:ns:caldav allprop"`
	Props   []propSelXML `xml:"urn:ietf:params:xml:ns:caldav prop"`
	AllComp *struct{}    `xml:"urn:ietf:params:xml:ns:caldav allcomp"`
	Comps   []compSelXML `xml:"urn:ietf:params:xml:ns:caldav comp"`
}

// propSelXML is CALDAV:prop inside calendar-data (RFC 4791 §9.6.4).
type propSelXML struct {
	Name    string `xml:"name,attr"`
	NoValue string `xml:"novalue,attr"`
}

// freeBusyQueryXML is CALDAV:free-busy-query (RFC 4791 §7.10).
type freeBusyQueryXML struct {
	XMLName   xml.Name      `xml:"urn:ietf:params:xml:ns:caldav free-busy-query"`
	TimeRange *timeRangeXML `xml:"urn:ietf:params:xml:ns:caldav time-range"`
}
