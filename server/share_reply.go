package server

import (
	"encoding/xml"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/pimvault/pimvault/account"
	"github.com/pimvault/pimvault/server/internal/dav"
	"github.com/pimvault/pimvault/storage"
)

// maxShareXML bounds the body of a CS:share or CS:invite-reply POST: a
// share names at most account.MaxSharees addresses, a reply one.
const maxShareXML = 64 << 10

// inviteReplyXML is CalendarServer's CS:invite-reply (caldav-sharing
// §5.5.3), POSTed by the sharee to their own home: the answer, the shared
// collection (hosturl) and the invitation's uid (in-reply-to).
type inviteReplyXML struct {
	XMLName  xml.Name  `xml:"http://calendarserver.org/ns/ invite-reply"`
	Accepted *struct{} `xml:"http://calendarserver.org/ns/ invite-accepted"`
	Declined *struct{} `xml:"http://calendarserver.org/ns/ invite-declined"`
	HostURL  *struct {
		Href string `xml:"DAV: href"`
	} `xml:"http://calendarserver.org/ns/ hosturl"`
	InReplyTo string `xml:"http://calendarserver.org/ns/ in-reply-to"`
}

// inviteReply is a checked invite-reply: accept or decline, and the
// invitation by its shared collection's path and/or its uid.
type inviteReply struct {
	accept            bool
	owner, collection string // "" when the reply names no hosturl
	uid               string
}

// parseInviteReply reads and checks a CS:invite-reply body.
func parseInviteReply(body []byte) (inviteReply, error) {
	var x inviteReplyXML
	if len(body) == 0 || xml.Unmarshal(body, &x) != nil {
		return inviteReply{}, dav.BadRequest("POST to a home takes a CS:invite-reply body")
	}
	if (x.Accepted == nil) == (x.Declined == nil) {
		return inviteReply{}, dav.BadRequest("a CS:invite-reply holds exactly one of CS:invite-accepted and CS:invite-declined")
	}
	out := inviteReply{accept: x.Accepted != nil, uid: strings.TrimSpace(x.InReplyTo)}
	if x.HostURL != nil {
		p, err := dav.ParsePath(strings.TrimSpace(x.HostURL.Href))
		if err != nil || p.Kind != dav.ResCollection || p.Home == dav.HomeFiles {
			return inviteReply{}, dav.BadRequest("CS:hosturl %q is no shared address book or calendar", x.HostURL.Href)
		}
		out.owner, out.collection = p.User, p.Collection
	}
	if out.owner == "" && out.uid == "" {
		return inviteReply{}, dav.BadRequest("a CS:invite-reply names the invitation by CS:hosturl or CS:in-reply-to")
	}
	if len(out.uid) > 200 {
		return inviteReply{}, dav.BadRequest("CS:in-reply-to is too long")
	}
	return out, nil
}

// readShareXML reads the XML body of a sharing POST: same-origin only (a
// page elsewhere must not share or accept with the credentials a browser
// holds), an XML type no HTML form can send, at most maxShareXML bytes.
func readShareXML(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if err := checkSameOrigin(r); err != nil {
		return nil, err
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/xml" && mt != "text/xml" {
		return nil, &dav.Error{Status: http.StatusUnsupportedMediaType, Msg: "sharing requests take Content-Type: application/xml"}
	}
	tooBig := &dav.Error{Status: http.StatusRequestEntityTooLarge, Msg: "sharing request over 64 KiB"}
	if r.ContentLength > maxShareXML {
		return nil, tooBig
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxShareXML)
	body, err := dav.ReadXMLBody(r)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) || strings.Contains(err.Error(), "request body too large") {
			return nil, tooBig
		}
		return nil, err
	}
	return body, nil
}

// inviteReplyPost answers a CS:invite-reply POSTed to the user's address
// book or calendar home. Accepting puts the shared collection in the
// user's home (at its owner's URL, which the answer's CS:shared-as names);
// declining leaves the home as it was and tells the owner (CS:invite).
func (s *Server) inviteReplyPost(w http.ResponseWriter, r *http.Request, p dav.Path) {
	body, err := readShareXML(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	rep, err := parseInviteReply(body)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	user := p.User
	if rep.owner == "" {
		invs, err := s.invitations(user)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		for _, in := range invs {
			if in.uid == rep.uid {
				rep.owner, rep.collection = in.Owner, in.Collection
			}
		}
		if rep.owner == "" {
			s.writeError(w, r, dav.Forbidden(dav.NSCS, "valid-request", "no invitation %q waits for you", rep.uid))
			return
		}
	}
	if rep.uid != "" && rep.uid != account.InviteUID(rep.owner, rep.collection, user) {
		s.writeError(w, r, dav.Forbidden(dav.NSCS, "valid-request", "CS:in-reply-to does not name the invitation to %s/%s", rep.owner, rep.collection))
		return
	}
	if rep.owner == user {
		s.writeError(w, r, dav.Forbidden(dav.NSCS, "valid-request", "%s/%s is your own", rep.owner, rep.collection))
		return
	}
	if err := s.ownerNotRecovering(rep.owner); err != nil {
		s.writeError(w, r, err)
		return
	}
	sh, err := account.Reply(r.Context(), s.store, user, rep.owner, rep.collection, rep.accept, time.Now())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if !rep.accept {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	// The collection stays at its owner's URL, named without the trailing
	// slash as CalendarServer names it (clients append one).
	in := invitation{Share: sh}
	out := `<?xml version="1.0" encoding="utf-8"?>` + "\n" +
		`<CS:shared-as xmlns:D="DAV:" xmlns:CS="` + dav.NSCS + `">` + dav.HrefXML(strings.TrimSuffix(in.hostHref(), "/")) + "</CS:shared-as>\n"
	w.Header().Set("Content-Type", "application/xml; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	io.WriteString(w, out)
}

// ownerNotRecovering refuses an answer to an invitation while the owner's
// data is recovering: the answer is a change of the owner's collection,
// held back like a sharee's writes to it.
func (s *Server) ownerNotRecovering(owner string) error {
	rs, err := s.store.RecoveryState(owner)
	if errors.Is(err, storage.ErrNotFound) {
		return nil // no such owner: the answer finds no invitation
	}
	if err != nil {
		return err
	}
	if rs.Recovering {
		return dav.ErrRecovering
	}
	return nil
}
