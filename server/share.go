package server

import (
	"errors"
	"net/http"
	"sort"
	"time"

	"github.com/pimvault/pimvault/account"
	"github.com/pimvault/pimvault/server/internal/dav"
	"github.com/pimvault/pimvault/storage"
)

// Sharing on the DAV side. A sharee reaches a shared collection at its
// owner's URL (/dav/calendars/<owner>/<name>/), listed in the sharee's own
// home; everything else of the owner stays 404 to them. The grant decides
// the methods: read gives GET, HEAD, PROPFIND, REPORT and OPTIONS;
// read-write adds PUT and DELETE of objects. Changing the collection itself
// (properties, delete, sharing it on) is the owner's alone; a sharee's
// DELETE of the collection removes it from their home only (leaveShare). Sync tokens,
// reports and recovery are the owner's collection's, unchanged. Only an
// accepted grant counts: an invitation gives nothing until it is accepted.

// shareAccess is user's grant on another account's collection or object
// ("" when none).
func (s *Server) shareAccess(p dav.Path, user string) string {
	if p.Kind != dav.ResCollection && p.Kind != dav.ResObject {
		return ""
	}
	c, err := s.store.Collection(p.User, p.Collection)
	if err != nil || c.Kind != p.CollectionKind() {
		return ""
	}
	return account.Grants(c)[user]
}

// admitShared decides a request of user to another account's path p. It
// answers (and returns false) when the request may not go on: 404 without
// a grant, 403 need-privileges for what the grant does not give, 503 while
// the owner's data is recovering.
func (s *Server) admitShared(w http.ResponseWriter, r *http.Request, p dav.Path, user string) bool {
	access := s.shareAccess(p, user)
	if access == "" {
		s.writeError(w, r, dav.ErrNotFound)
		return false
	}
	var need string
	switch r.Method {
	case "OPTIONS", "GET", "HEAD", "PROPFIND", "REPORT":
	case "PUT":
		if access != account.ShareReadWrite || p.Kind != dav.ResObject {
			need = "write-content"
		}
	case "DELETE":
		if p.Kind == dav.ResCollection {
			// CalendarServer's unsubscribe: the sharee removes the shared
			// collection from their home; the owner's stays as it is.
			s.leaveShare(w, r, p, user)
			return false
		}
		if access != account.ShareReadWrite {
			need = "unbind"
		}
	case "PROPPATCH":
		need = "write-properties"
	case "POST":
		need = "share"
	default:
		need = "bind"
	}
	if need != "" {
		s.writeError(w, r, dav.NeedPrivileges(p.Href(), need, "%s is shared with you %s; %s needs the %s privilege", p.Href(), accessWords(access), r.Method, need))
		return false
	}
	if gatedPath(r.URL.Path) {
		rs, err := s.store.RecoveryState(p.User)
		if err != nil || rs.Recovering {
			s.writeError(w, r, dav.ErrRecovering)
			return false
		}
	}
	return true
}

// leaveShare answers a sharee's DELETE of the shared collection: their
// grant becomes declined (the collection leaves their home, the owner sees
// invite-declined) and nothing of the owner's data changes. Like the
// sharee's other changes it waits while the owner's data recovers.
func (s *Server) leaveShare(w http.ResponseWriter, r *http.Request, p dav.Path, user string) {
	if err := s.ownerNotRecovering(p.User); err != nil {
		s.writeError(w, r, err)
		return
	}
	if _, err := account.Reply(r.Context(), s.store, user, p.User, p.Collection, false, time.Now()); err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func accessWords(access string) string {
	if access == account.ShareReadWrite {
		return "to read and write"
	}
	return "read-only"
}

// sharedCollections returns the collections of kind shared with user, with
// their grants, owner and name order.
func (s *Server) sharedCollections(user, kind string) ([]storage.Collection, []account.Share, error) {
	shares, err := account.SharedWith(s.store, user)
	if err != nil {
		return nil, nil, err
	}
	var cols []storage.Collection
	var out []account.Share
	for _, sh := range shares {
		if sh.Kind != kind || sh.Status != account.StatusAccepted {
			continue
		}
		c, err := s.store.Collection(sh.Owner, sh.Collection)
		if errors.Is(err, storage.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		cols, out = append(cols, c), append(out, sh)
	}
	return cols, out, nil
}

// shareProps adds to a collection's properties what sharing shows: the ACL
// (RFC 3744 §5.5), CalendarServer's sharing properties, and, for a sharee,
// their own principal and privileges.
func (s *Server) shareProps(ps *dav.PropSet, p dav.Path, c storage.Collection, viewer string, base string) {
	if c.Kind != dav.KindCalendar && c.Kind != dav.KindAddressBook {
		return
	}
	grants := account.Grants(c)
	aces := []dav.ACE{{Principal: dav.PrincipalHref(p.User), All: true}}
	sharees := make([]string, 0, len(grants))
	for u := range grants {
		sharees = append(sharees, u)
	}
	sort.Strings(sharees)
	for _, u := range sharees {
		if viewer == p.User || viewer == u {
			aces = append(aces, dav.ACE{Principal: dav.PrincipalHref(u), Write: grants[u] == account.ShareReadWrite})
		}
	}
	ps.Add(dav.NameACL, dav.ACLXML(aces))
	if viewer != p.User {
		dav.SetViewer(ps, viewer, grants[viewer] != account.ShareReadWrite)
		ps.Add(dav.NameResourceType, base+"<CS:shared/>")
		ps.Add(nameSharedURL, dav.HrefXML(p.Href()))
		// The sharee sees who shares it with them and their own entry,
		// not the other sharees.
		if g, ok := account.AllGrants(c)[viewer]; ok {
			ps.Add(nameInvite, inviteXML(p.User, map[string]account.Share{viewer: g}))
		}
		return
	}
	ps.Add(nameAllowedSharing, "<CS:can-be-shared/>")
	all := account.AllGrants(c)
	if len(all) == 0 {
		return
	}
	ps.Add(dav.NameResourceType, base+"<CS:shared-owner/>")
	ps.Add(nameInvite, inviteXML(p.User, all))
}

// inviteXML is the CS:invite property of a shared collection
// (caldav-sharing §5.2.2): the owner, and each sharee with their answer
// (accepted, no response yet, declined) and access.
func inviteXML(owner string, all map[string]account.Share) string {
	sharees := make([]string, 0, len(all))
	for u := range all {
		sharees = append(sharees, u)
	}
	sort.Strings(sharees)
	inv := "<CS:organizer>" + dav.HrefXML(dav.PrincipalHref(owner)) + "<CS:common-name>" + dav.XMLEscape(owner) + "</CS:common-name></CS:organizer>"
	for _, u := range sharees {
		g := all[u]
		mode := "<CS:read/>"
		if g.Access == account.ShareReadWrite {
			mode = "<CS:read-write/>"
		}
		state := "<CS:invite-accepted/>"
		switch g.Status {
		case account.StatusInvited:
			state = "<CS:invite-noresponse/>"
		case account.StatusDeclined:
			state = "<CS:invite-declined/>"
		}
		inv += "<CS:user>" + dav.HrefXML(dav.PrincipalHref(u)) + "<CS:common-name>" + dav.XMLEscape(u) + "</CS:common-name>" + state + "<CS:access>" + mode + "</CS:access></CS:user>"
	}
	return inv
}
