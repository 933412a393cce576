package server

import (
	"sort"
	"strconv"

	"github.com/pimvault/pimvault/storage"
	"github.com/pimvault/pimvault/syncproto"
)

func (s *Server) principalProps(user string) *DAVXPropSet {
	ps := &DAVXPropSet{}
	ps.Add(DAVXNameResourceType, "<D:collection/><D:principal/>")
	ps.Add(DAVXNameDisplayName, DAVXXMLEscape(user))
	ps.Add(DAVXNamePrincipalURL, DAVXHrefXML(DAVXPrincipalHref(user)))
	ps.Add(DAVXNameAddressBookHome, DAVXHrefXML(DAVXHomeHref(DAVXHomeCards, user)))
	ps.Add(DAVXNameCalendarHome, DAVXHrefXML(DAVXHomeHref(DAVXHomeCalendars, user)))
	ps.Add(DAVXNameOwner, DAVXHrefXML(DAVXPrincipalHref(user)))
	ps.Add(DAVXNameSupportedReports, "")
	DAVXCommonProps(ps, user)
	return ps
}

func (s *Server) rootProps(user string) *DAVXPropSet {
	ps := &DAVXPropSet{}
	ps.Add(DAVXNameResourceType, "<D:collection/>")
	DAVXCommonProps(ps, user)
	return ps
}

func (s *Server) homeProps(p DAVXPath) *DAVXPropSet {
	ps := &DAVXPropSet{}
	ps.Add(DAVXNameResourceType, "<D:collection/>")
	ps.Add(DAVXNameOwner, DAVXHrefXML(DAVXPrincipalHref(p.User)))
	ps.Add(DAVXNameSupportedReports, "")
	DAVXCommonProps(ps, p.User)
	return ps
}

// syncToken formats a collection's token: the store's epoch and the
// collection's last change.
func syncToken(epoch string, seq uint64) string {
	return syncproto.Format(syncproto.Token{Epoch: epoch, Seq: seq})
}

func (s *Server) collectionProps(p DAVXPath, c storage.Collection, epoch string) *DAVXPropSet {
	ps := &DAVXPropSet{}
	if c.Kind == DAVXKindCalendar {
		s.calendarProps(ps, c)
	} else {
		ps.Add(DAVXNameResourceType, "<D:collection/><C:addressbook/>")
	}
	ps.Add(DAVXNameOwner, DAVXHrefXML(DAVXPrincipalHref(p.User)))
	tok := syncToken(epoch, c.LastSeq)
	ps.Add(DAVXNameSyncToken, DAVXXMLEscape(tok))
	ps.Add(DAVXNameCTag, DAVXXMLEscape(tok))
	if c.Kind != DAVXKindCalendar {
		ps.Add(DAVXNameSupportedReports, DAVXReportSetXML(DAVXReportAddrMultiget, DAVXReportAddrQuery, DAVXReportSyncCollection))
		ps.Add(DAVXNameSupportedAddrData, `<C:address-data-type content-type="text/vcard" version="3.0"/><C:address-data-type content-type="text/vcard" version="4.0"/>`)
		ps.Add(DAVXNameMaxResourceSize, strconv.FormatInt(s.cfg.MaxResourceSize, 10))
	}
	ps.Add(DAVXNameQuotaUsed, strconv.FormatInt(c.Bytes, 10))
	if s.cfg.QuotaBytes > 0 {
		ps.Add(DAVXNameQuotaAvailable, strconv.FormatInt(max(0, s.cfg.QuotaBytes-c.Bytes), 10))
	}
	DAVXCommonProps(ps, p.User)
	// Stored properties (displayname, description, colour, dead properties).
	keys := make([]string, 0, len(c.Props))
	for k := range c.Props {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		ps.Add(DAVXParseClark(k), string(c.Props[k]))
	}
	return ps
}

func (s *Server) objectProps(p DAVXPath, o storage.Object) *DAVXPropSet {
	ps := &DAVXPropSet{}
	ps.Add(DAVXNameResourceType, "")
	ps.Add(DAVXNameGetETag, DAVXXMLEscape(DAVXQuoteETag(o.ETag)))
	ps.Add(DAVXNameGetContentType, contentTypeFor(p.CollectionKind()))
	ps.Add(DAVXNameGetContentLength, strconv.FormatInt(o.Size, 10))
	ps.Add(DAVXNameGetLastModified, DAVXHTTPTime(o.Time))
	ps.Add(DAVXNameOwner, DAVXHrefXML(DAVXPrincipalHref(p.User)))
	DAVXCommonProps(ps, p.User)
	return ps
}

func contentTypeFor(kind string) string {
	if kind == DAVXKindCalendar {
		return "text/calendar; charset=utf-8"
	}
	return "text/vcard; charset=utf-8"
}
