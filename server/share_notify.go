package server

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/pimvault/pimvault/account"
	"github.com/pimvault/pimvault/server/internal/dav"
	"github.com/pimvault/pimvault/storage"
)

// CalendarServer notifications (caldav-notifications, caldav-sharing §5):
// a user's invitations to others' collections, and their sharees' answers
// to their own invitations, as Apple's clients read them. The notification
// collection is a view, not stored: its members are the invitations
// waiting for the user (grants in the invited state, see account.Invite)
// and the answers the user has not dismissed (account.ReplySeen), so every notification appears, changes and goes with a
// journalled change of the owner's collection, and cannot disagree with it.
// The user finds it through the principal's CS:notification-URL, reads each
// member (a CS:notification document) with GET, and answers with a
// CS:invite-reply POST to their home (share_reply.go); a DELETE of an
// invitation declines it, a DELETE of an answer dismisses it.

// notificationName is the notification collection's name in the calendar
// home. A stored collection of that name (made before notifications
// existed) keeps its place; its owner then has no notification collection.
const notificationName = "notification"

var (
	nameNotificationURL  = xml.Name{Space: dav.NSCS, Local: "notification-URL"}
	nameNotificationType = xml.Name{Space: dav.NSCS, Local: "notificationtype"}
	nameSharedURL        = xml.Name{Space: dav.NSCS, Local: "shared-url"}
)

// notificationContentType is the media type of a notification's body.
const notificationContentType = "text/xml; charset=utf-8"

func notificationHref(user string) string {
	return dav.Path{Kind: dav.ResCollection, Home: dav.HomeCalendars, User: user, Collection: notificationName}.Href()
}

// sharingPrincipalProps adds the principal's notification collection.
func (s *Server) sharingPrincipalProps(ps *dav.PropSet, user string) {
	ps.Add(nameNotificationURL, dav.HrefXML(notificationHref(user)))
}

// serveSharing answers the requests of the sharing protocol that no other
// handler owns: an invitation reply POSTed to the user's home, and the
// user's notification collection. It returns false for every other
// request.
func (s *Server) serveSharing(w http.ResponseWriter, r *http.Request, p dav.Path, user string) bool {
	if p.User != user {
		return false
	}
	if p.Kind == dav.ResHome && r.Method == http.MethodPost {
		s.inviteReplyPost(w, r, p)
		return true
	}
	if p.Kind == dav.ResCollection && r.Method == http.MethodPost && p.Collection != inboxName && p.Collection != outboxName && p.Collection != notificationName {
		// A CS:share to a collection that does not exist: 404, not 405.
		if _, err := s.store.Collection(user, p.Collection); errors.Is(err, storage.ErrNotFound) {
			s.writeError(w, r, dav.ErrNotFound)
			return true
		}
	}
	if p.Home != dav.HomeCalendars || p.Collection != notificationName || (p.Kind != dav.ResCollection && p.Kind != dav.ResObject) {
		return false
	}
	if _, err := s.store.Collection(user, notificationName); err == nil {
		return false
	}
	s.serveNotifications(w, r, p)
	return true
}

// invitation is one notification: a grant waiting for the user's answer,
// or (reply) a sharee's answer to the user's invitation, not yet dismissed.
type invitation struct {
	account.Share
	uid   string
	reply bool
}

// name is the notification's resource name; an answer's differs from the
// invitation it answers.
func (in invitation) name() string {
	if in.reply {
		return in.uid + "-reply.xml"
	}
	return in.uid + ".xml"
}

func (in invitation) kind() string {
	if in.reply {
		return "invite-reply"
	}
	return "invite-notification"
}

func (in invitation) hostHref() string {
	home := dav.HomeCalendars
	if in.Kind == dav.KindAddressBook {
		home = dav.HomeCards
	}
	return dav.Path{Kind: dav.ResCollection, Home: home, User: in.Owner, Collection: in.Collection}.Href()
}

// invitations lists the invitations waiting for user, oldest first.
func (s *Server) invitations(user string) ([]invitation, error) {
	shares, err := account.SharedWith(s.store, user)
	if err != nil {
		return nil, err
	}
	var out []invitation
	for _, sh := range shares {
		if sh.Status == account.StatusInvited {
			out = append(out, invitation{Share: sh, uid: account.InviteUID(sh.Owner, sh.Collection, user)})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Since.Before(out[j].Since) })
	return out, nil
}

// notices lists user's notifications, oldest first: the invitations
// waiting for them and the answers of their sharees they have not
// dismissed.
func (s *Server) notices(user string) ([]invitation, error) {
	out, err := s.invitations(user)
	if err != nil {
		return nil, err
	}
	mine, err := account.SharesOf(s.store, user)
	if err != nil {
		return nil, err
	}
	for _, sh := range mine {
		if sh.Status != account.StatusInvited && !sh.Since.IsZero() {
			out = append(out, invitation{Share: sh, uid: account.InviteUID(user, sh.Collection, sh.Sharee), reply: true})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Since.Before(out[j].Since) })
	return out, nil
}

// notificationXML is the CS:notification document of an invitation
// (caldav-sharing §5.4.1), naming the sharee and the owner by their
// principal URLs, as CalendarServer does.
func (s *Server) notificationXML(in invitation) []byte {
	addr := dav.PrincipalHref
	summary := in.Collection
	if c, err := s.store.Collection(in.Owner, in.Collection); err == nil {
		if d := strings.TrimSpace(propText(c.Props[dav.Clark(dav.NameDisplayName)])); d != "" {
			summary = d
		}
	}
	access := "<CS:read/>"
	if in.Access == account.ShareReadWrite {
		access = "<CS:read-write/>"
	}
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="utf-8"?>` + "\n")
	b.WriteString(`<CS:notification xmlns:D="DAV:" xmlns:CS="` + dav.NSCS + `">`)
	b.WriteString("<CS:dtstamp>" + in.Since.UTC().Format("20060102T150405Z") + "</CS:dtstamp>")
	if in.reply {
		// caldav-sharing §5.4.2: the sharee's answer, to the owner.
		answer := "<CS:invite-declined/>"
		if in.Status == account.StatusAccepted {
			answer = "<CS:invite-accepted/>"
		}
		b.WriteString(`<CS:invite-reply shared-type="` + in.Kind + `">`)
		b.WriteString(dav.HrefXML(addr(in.Sharee)))
		b.WriteString(answer)
		b.WriteString("<CS:hosturl>" + dav.HrefXML(in.hostHref()) + "</CS:hosturl>")
		b.WriteString("<CS:in-reply-to>" + in.uid + "</CS:in-reply-to>")
		b.WriteString("<CS:summary>" + dav.XMLEscape(summary) + "</CS:summary>")
		b.WriteString("</CS:invite-reply></CS:notification>\n")
		return []byte(b.String())
	}
	b.WriteString(`<CS:invite-notification shared-type="` + in.Kind + `">`)
	b.WriteString("<CS:uid>" + in.uid + "</CS:uid>")
	b.WriteString(dav.HrefXML(addr(in.Sharee)))
	b.WriteString("<CS:invite-noresponse/>")
	b.WriteString("<CS:access>" + access + "</CS:access>")
	b.WriteString("<CS:hosturl>" + dav.HrefXML(in.hostHref()) + "</CS:hosturl>")
	b.WriteString("<CS:organizer>" + dav.HrefXML(addr(in.Owner)) + "<CS:common-name>" + dav.XMLEscape(in.Owner) + "</CS:common-name></CS:organizer>")
	b.WriteString("<CS:summary>" + dav.XMLEscape(summary) + "</CS:summary>")
	b.WriteString("</CS:invite-notification></CS:notification>\n")
	return []byte(b.String())
}

func notificationETag(body []byte) string {
	h := sha256.Sum256(body)
	return hex.EncodeToString(h[:16])
}

// serveNotifications answers a request to the user's notification
// collection or one of its members.
func (s *Server) serveNotifications(w http.ResponseWriter, r *http.Request, p dav.Path) {
	switch r.Method {
	case "OPTIONS":
		dav.WriteOptions(w, p)
		return
	case "PROPFIND", "GET", "HEAD", "DELETE":
	default:
		w.Header().Set("Allow", "OPTIONS, GET, HEAD, DELETE, PROPFIND")
		s.writeError(w, r, &dav.Error{Status: http.StatusMethodNotAllowed, Msg: "the notification collection is read and its invitations are answered by a CS:invite-reply POST to your home, or declined by DELETE"})
		return
	}
	invs, err := s.notices(p.User)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	bodies := make([][]byte, len(invs))
	for i, in := range invs {
		bodies[i] = s.notificationXML(in)
	}
	find := func() (int, bool) {
		for i, in := range invs {
			if in.name() == p.Object {
				return i, true
			}
		}
		s.writeError(w, r, dav.ErrNotFound)
		return 0, false
	}
	switch {
	case r.Method == "PROPFIND":
		s.notificationPropfind(w, r, p, invs, bodies)
	case p.Kind == dav.ResCollection:
		w.Header().Set("Allow", "OPTIONS, PROPFIND")
		s.writeError(w, r, &dav.Error{Status: http.StatusMethodNotAllowed, Msg: "the notification collection itself is only listed (PROPFIND)"})
	case r.Method == "DELETE":
		i, ok := find()
		if !ok {
			return
		}
		if err := s.ownerNotRecovering(invs[i].Owner); err != nil {
			s.writeError(w, r, err)
			return
		}
		if invs[i].reply {
			err = account.ReplySeen(r.Context(), s.store, p.User, invs[i].Collection, invs[i].Sharee)
		} else {
			_, err = account.Reply(r.Context(), s.store, p.User, invs[i].Owner, invs[i].Collection, false, time.Now())
		}
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	default:
		i, ok := find()
		if !ok {
			return
		}
		w.Header().Set("Content-Type", notificationContentType)
		w.Header().Set("ETag", dav.QuoteETag(notificationETag(bodies[i])))
		w.Header().Set("Content-Length", strconv.Itoa(len(bodies[i])))
		w.Header().Set("Last-Modified", dav.HTTPTime(invs[i].Since.UnixNano()))
		if r.Method == "GET" {
			w.Write(bodies[i])
		}
	}
}

// notificationPropfind lists the notification collection (Depth 0 or 1)
// or describes one notification.
func (s *Server) notificationPropfind(w http.ResponseWriter, r *http.Request, p dav.Path, invs []invitation, bodies [][]byte) {
	depth, req, err := dav.ReadPropfind(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	member := func(i int) *dav.PropSet {
		ps := &dav.PropSet{}
		ps.Add(dav.NameResourceType, "")
		ps.Add(dav.NameGetETag, dav.XMLEscape(dav.QuoteETag(notificationETag(bodies[i]))))
		ps.Add(dav.NameGetContentType, notificationContentType)
		ps.Add(dav.NameGetContentLength, strconv.Itoa(len(bodies[i])))
		ps.Add(dav.NameGetLastModified, dav.HTTPTime(invs[i].Since.UnixNano()))
		ps.Add(nameNotificationType, `<CS:`+invs[i].kind()+` shared-type="`+invs[i].Kind+`"/>`)
		ps.Add(dav.NameOwner, dav.HrefXML(dav.PrincipalHref(p.User)))
		dav.CommonProps(ps, p.User)
		return ps
	}
	ms := dav.NewMultistatus(r.Context(), w, req.Names())
	respond := func(href string, ps *dav.PropSet) {
		found, missing := ps.Pick(req)
		ms.PropResponse(href, found, missing, req.PropName != nil)
	}
	col := dav.Path{Kind: dav.ResCollection, Home: dav.HomeCalendars, User: p.User, Collection: notificationName}
	if p.Kind == dav.ResObject {
		found := false
		for i, in := range invs {
			if in.name() == p.Object {
				respond(p.Href(), member(i))
				found = true
			}
		}
		if !found {
			ms.Fail(s.log, r, storage.ErrNotFound)
			return
		}
		ms.Finish(s.log, r)
		return
	}
	all := sha256.New()
	for _, b := range bodies {
		all.Write(b)
	}
	ps := &dav.PropSet{}
	ps.Add(dav.NameResourceType, "<D:collection/><CS:notification/>")
	ps.Add(dav.NameDisplayName, "Notifications")
	ps.Add(dav.NameCTag, hex.EncodeToString(all.Sum(nil)[:16]))
	ps.Add(dav.NameOwner, dav.HrefXML(dav.PrincipalHref(p.User)))
	ps.Add(dav.NameSupportedReports, "")
	dav.CommonProps(ps, p.User)
	respond(col.Href(), ps)
	if depth == "1" {
		for i, in := range invs {
			op := col
			op.Kind, op.Object = dav.ResObject, in.name()
			respond(op.Href(), member(i))
		}
	}
	ms.Finish(s.log, r)
}

// propText is the text of a stored property value (canonical inner XML),
// without markup; "" when it does not parse.
func propText(inner []byte) string {
	d := xml.NewDecoder(strings.NewReader("<v>" + string(inner) + "</v>"))
	var b strings.Builder
	for {
		tok, err := d.Token()
		if err != nil {
			if err == io.EOF {
				return b.String()
			}
			return ""
		}
		if cd, ok := tok.(xml.CharData); ok {
			b.Write(cd)
		}
	}
}
