package server

import (
	"strings"

	"github.com/pimvault/pimvault/account"
	"github.com/pimvault/pimvault/server/internal/dav"
	"github.com/pimvault/pimvault/storage"
)

// schedulingPrincipalProps adds a principal's scheduling properties (RFC
// 6638 §2.2.1, §2.3.1, §2.4.1, §2.4.2): its inbox and outbox, its calendar
// user addresses (mailto: of its e-mail addresses, then its principal URL)
// and its type.
func (s *Server) schedulingPrincipalProps(ps *dav.PropSet, user string) {
	ps.Add(nameScheduleInboxURL, dav.HrefXML(inboxHref(user)))
	ps.Add(nameScheduleOutboxURL, dav.HrefXML(outboxHref(user)))
	var b strings.Builder
	if p, err := s.store.Principal(user); err == nil {
		if a, err := account.Decode(p); err == nil {
			for _, e := range s.emailsOf(user, a) {
				b.WriteString(dav.HrefXML("mailto:" + e))
			}
		}
	}
	b.WriteString(dav.HrefXML(dav.PrincipalHref(user)))
	ps.Add(nameCalUserAddressSet, b.String())
	ps.Add(nameCalUserType, "INDIVIDUAL")
}

// schedulingCollectionProps adds the properties of an inbox or outbox
// (RFC 6638 §2.2, §2.3, §9.2).
func (s *Server) schedulingCollectionProps(ps *dav.PropSet, user string, c storage.Collection) {
	if c.Kind == kindOutbox {
		ps.Add(dav.NameResourceType, "<D:collection/><CAL:schedule-outbox/>")
		ps.Add(dav.NameSupportedReports, "")
		return
	}
	ps.Add(dav.NameResourceType, "<D:collection/><CAL:schedule-inbox/>")
	ps.Add(dav.NameSupportedReports, dav.ReportSetXML(reportCalMultiget, dav.ReportSyncCollection))
	if _, set := c.Props[dav.Clark(nameScheduleDefaultCal)]; !set {
		if name, err := s.scheduleCalendar(user, "VEVENT"); err == nil && name != "" {
			cp := dav.Path{Kind: dav.ResCollection, Home: dav.HomeCalendars, User: user, Collection: name}
			ps.Add(nameScheduleDefaultCal, dav.HrefXML(cp.Href()))
		}
	}
}
