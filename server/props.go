package server

import (
	"sort"
	"strconv"

	"github.com/pimvault/pimvault/storage"
	"github.com/pimvault/pimvault/syncproto"
)

func (s *Server) principalProps(user string) *propSet {
	ps := &propSet{}
	ps.add(nameResourceType, "<D:collection/><D:principal/>")
	ps.add(nameDisplayName, xmlEscape(user))
	ps.add(namePrincipalURL, hrefXML(principalHref(user)))
	ps.add(nameAddressBookHome, hrefXML(homeHref(homeCards, user)))
	ps.add(nameCalendarHome, hrefXML(homeHref(homeCalendars, user)))
	ps.add(nameOwner, hrefXML(principalHref(user)))
	ps.add(nameSupportedReports, "")
	commonProps(ps, user)
	return ps
}

func (s *Server) rootProps(user string) *propSet {
	ps := &propSet{}
	ps.add(nameResourceType, "<D:collection/>")
	commonProps(ps, user)
	return ps
}

func (s *Server) homeProps(p davPath) *propSet {
	ps := &propSet{}
	ps.add(nameResourceType, "<D:collection/>")
	ps.add(nameOwner, hrefXML(principalHref(p.user)))
	ps.add(nameSupportedReports, "")
	commonProps(ps, p.user)
	return ps
}

// syncToken formats a collection's token: the store's epoch and the
// collection's last change.
func syncToken(epoch string, seq uint64) string {
	return syncproto.Format(syncproto.Token{Epoch: epoch, Seq: seq})
}

func (s *Server) collectionProps(p davPath, c storage.Collection, epoch string) *propSet {
	ps := &propSet{}
	if c.Kind == kindCalendar {
		s.calendarProps(ps, c)
	} else {
		ps.add(nameResourceType, "<D:collection/><C:addressbook/>")
	}
	ps.add(nameOwner, hrefXML(principalHref(p.user)))
	tok := syncToken(epoch, c.LastSeq)
	ps.add(nameSyncToken, xmlEscape(tok))
	ps.add(nameCTag, xmlEscape(tok))
	if c.Kind != kindCalendar {
		ps.add(nameSupportedReports, reportSetXML(reportAddrMultiget, reportAddrQuery, reportSyncCollection))
		ps.add(nameSupportedAddrData, `<C:address-data-type content-type="text/vcard" version="3.0"/><C:address-data-type content-type="text/vcard" version="4.0"/>`)
		ps.add(nameMaxResourceSize, strconv.FormatInt(s.cfg.MaxResourceSize, 10))
	}
	ps.add(nameQuotaUsed, strconv.FormatInt(c.Bytes, 10))
	if s.cfg.QuotaBytes > 0 {
		ps.add(nameQuotaAvailable, strconv.FormatInt(max(0, s.cfg.QuotaBytes-c.Bytes), 10))
	}
	commonProps(ps, p.user)
	// Stored properties (displayname, description, colour, dead properties).
	keys := make([]string, 0, len(c.Props))
	for k := range c.Props {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		ps.add(parseClark(k), string(c.Props[k]))
	}
	return ps
}

func (s *Server) objectProps(p davPath, o storage.Object) *propSet {
	ps := &propSet{}
	ps.add(nameResourceType, "")
	ps.add(nameGetETag, xmlEscape(quoteETag(o.ETag)))
	ps.add(nameGetContentType, contentTypeFor(p.collectionKind()))
	ps.add(nameGetContentLength, strconv.FormatInt(o.Size, 10))
	ps.add(nameGetLastModified, httpTime(o.Time))
	ps.add(nameOwner, hrefXML(principalHref(p.user)))
	commonProps(ps, p.user)
	return ps
}

func contentTypeFor(kind string) string {
	if kind == kindCalendar {
		return "text/calendar; charset=utf-8"
	}
	return "text/vcard; charset=utf-8"
}
