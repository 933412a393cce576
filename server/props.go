package server

import (
	"sort"
	"strconv"
	"strings"

	"github.com/pimvault/pimvault/account"
	"github.com/pimvault/pimvault/birthday"
	"github.com/pimvault/pimvault/internal/collation"
	"github.com/pimvault/pimvault/server/internal/dav"
	"github.com/pimvault/pimvault/storage"
	"github.com/pimvault/pimvault/syncproto"
)

func (s *Server) principalProps(user string) *dav.PropSet {
	ps := &dav.PropSet{}
	ps.Add(dav.NameResourceType, "<D:collection/><D:principal/>")
	ps.Add(dav.NameGetContentLength, strconv.Itoa(len(principalPage(user))))
	ps.Add(dav.NameDisplayName, dav.XMLEscape(user))
	ps.Add(dav.NamePrincipalURL, dav.HrefXML(dav.PrincipalHref(user)))
	ps.Add(dav.NameAddressBookHome, dav.HrefXML(dav.HomeHref(dav.HomeCards, user)))
	ps.Add(dav.NameCalendarHome, dav.HrefXML(dav.HomeHref(dav.HomeCalendars, user)))
	ps.Add(dav.NameOwner, dav.HrefXML(dav.PrincipalHref(user)))
	ps.Add(dav.NameSupportedReports, "")
	s.schedulingPrincipalProps(ps, user)
	s.sharingPrincipalProps(ps, user)
	dav.CommonProps(ps, user)
	return ps
}

func (s *Server) rootProps(user string) *dav.PropSet {
	ps := &dav.PropSet{}
	ps.Add(dav.NameResourceType, "<D:collection/>")
	ps.Add(dav.NameGetContentLength, strconv.Itoa(len(collectionNote)))
	dav.CommonProps(ps, user)
	return ps
}

func (s *Server) homeProps(p dav.Path) *dav.PropSet {
	ps := &dav.PropSet{}
	ps.Add(dav.NameResourceType, "<D:collection/>")
	ps.Add(dav.NameOwner, dav.HrefXML(dav.PrincipalHref(p.User)))
	ps.Add(dav.NameSupportedReports, "")
	ps.Add(dav.NameGetContentLength, strconv.Itoa(len(collectionNote)))
	dav.CommonProps(ps, p.User)
	return ps
}

// syncToken formats a collection's token: the store's epoch, the
// collection's last change, and the binding to the collection.
func syncToken(epoch string, seq uint64, user, collection string) string {
	return syncproto.Format(syncproto.Token{Epoch: epoch, Seq: seq, Bind: syncproto.Bind(user, collection)})
}

// collectionProps are a collection's properties as viewer (its owner, or a
// sharee) sees them.
func (s *Server) collectionProps(p dav.Path, c storage.Collection, epoch, viewer string) *dav.PropSet {
	ps := &dav.PropSet{}
	base := "<D:collection/><C:addressbook/>"
	if c.Kind == dav.KindCalendar {
		s.calendarProps(ps, c)
		base = "<D:collection/><CAL:calendar/>"
	} else if isScheduleKind(c.Kind) {
		s.schedulingCollectionProps(ps, p.User, c)
	} else {
		ps.Add(dav.NameResourceType, base)
	}
	ps.Add(dav.NameOwner, dav.HrefXML(dav.PrincipalHref(p.User)))
	tok := syncToken(epoch, c.LastSeq, p.User, p.Collection)
	ps.Add(dav.NameSyncToken, dav.XMLEscape(tok))
	ps.Add(dav.NameCTag, dav.XMLEscape(tok))
	if c.Kind != dav.KindCalendar {
		ps.Add(dav.NameSupportedReports, dav.ReportSetXML(dav.ReportAddrMultiget, dav.ReportAddrQuery, dav.ReportSyncCollection))
		ps.Add(dav.NameSupportedAddrData, `<C:address-data-type content-type="text/vcard" version="3.0"/><C:address-data-type content-type="text/vcard" version="4.0"/>`)
		ps.Add(dav.NameMaxResourceSize, strconv.FormatInt(s.cfg.MaxResourceSize, 10))
		ps.Add(dav.NameCardCollationSet, collationSetXML("C"))
	}
	ps.Add(dav.NameQuotaUsed, strconv.FormatInt(c.Bytes, 10))
	if s.cfg.QuotaBytes > 0 {
		ps.Add(dav.NameQuotaAvailable, strconv.FormatInt(max(0, s.cfg.QuotaBytes-c.Bytes), 10))
	}
	dav.CommonProps(ps, p.User)
	// Stored properties (displayname, description, colour, dead properties).
	keys := make([]string, 0, len(c.Props))
	for k := range c.Props {
		if !strings.HasPrefix(k, "{"+account.ShareNS+"}") { // grants: shown as DAV:acl and CS:invite
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		ps.Add(dav.ParseClark(k), string(c.Props[k]))
	}
	s.shareProps(ps, p, c, viewer, base)
	if birthday.IsBirthdays(c) {
		dav.SetViewer(ps, viewer, true) // written by the server from the contacts
	}
	return ps
}

// objectProps are an object's properties as viewer sees them (readOnly: a
// read-only sharee).
func (s *Server) objectProps(p dav.Path, o storage.Object, viewer string, readOnly bool) *dav.PropSet {
	ps := &dav.PropSet{}
	ps.Add(dav.NameResourceType, "")
	ps.Add(dav.NameGetETag, dav.XMLEscape(dav.QuoteETag(o.ETag)))
	ps.Add(dav.NameGetContentType, contentTypeFor(p.CollectionKind()))
	ps.Add(dav.NameGetContentLength, strconv.FormatInt(o.Size, 10))
	ps.Add(dav.NameGetLastModified, dav.HTTPTime(o.Time))
	ps.Add(dav.NameOwner, dav.HrefXML(dav.PrincipalHref(p.User)))
	dav.CommonProps(ps, p.User)
	if viewer != p.User {
		dav.SetViewer(ps, viewer, readOnly)
	}
	return ps
}

// contentTypeFor is the media type of an object of a collection of kind, in
// GET's Content-Type and DAV:getcontenttype. It is spelled without a space
// before the parameter, as CalendarServer does and clients built against it
// compare; RFC 9110 §8.3.1 makes every spelling the same media type.
func contentTypeFor(kind string) string {
	if kind == dav.KindCalendar {
		return "text/calendar;charset=utf-8"
	}
	return "text/vcard;charset=utf-8"
}

// collationSetXML lists the text-match collations as the members of a
// supported-collation-set (RFC 4791 §7.5.1, RFC 6352 §8.3.1), in the namespace
// prefix given.
func collationSetXML(prefix string) string {
	var b strings.Builder
	for _, c := range collation.Supported {
		b.WriteString("<" + prefix + ":supported-collation>" + string(c) + "</" + prefix + ":supported-collation>")
	}
	return b.String()
}
