package server

import (
	"net/http"

	"github.com/pimvault/pimvault/account"
	"github.com/pimvault/pimvault/server/internal/dav"
	"github.com/pimvault/pimvault/storage"
)

// propfind answers PROPFIND with Depth 0 or 1 (RFC 4918 §9.1; see
// dav.ReadPropfind for Depth infinity).
func (s *Server) propfind(w http.ResponseWriter, r *http.Request, p dav.Path) {
	depth, req, err := dav.ReadPropfind(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	user := userFrom(r.Context())
	epoch, _, err := s.store.Epoch()
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	ms := dav.NewMultistatus(r.Context(), w, req.Names())
	respond := func(href string, ps *dav.PropSet) {
		found, missing := ps.Pick(req)
		ms.PropResponse(href, found, missing, req.PropName != nil)
	}
	switch p.Kind {
	case dav.ResRoot:
		respond(p.Href(), s.rootProps(user))
		if depth == "1" {
			respond(dav.PrincipalHref(user), s.principalProps(user))
		}
	case dav.ResPrincipals:
		respond(p.Href(), s.rootProps(user))
		if depth == "1" {
			respond(dav.PrincipalHref(user), s.principalProps(user))
		}
	case dav.ResHomes:
		// The collection of homes shows only the signed-in user's own; it
		// supports no report (no sync-collection: it is not synchronised).
		ps := s.rootProps(user)
		ps.Add(dav.NameSupportedReports, "")
		respond(p.Href(), ps)
		if depth == "1" {
			home := dav.Path{Kind: dav.ResHome, Home: p.Home, User: user}
			respond(home.Href(), s.homeProps(home))
		}
	case dav.ResPrincipal:
		respond(p.Href(), s.principalProps(user))
	case dav.ResHome:
		respond(p.Href(), s.homeProps(p))
		if depth == "1" {
			cols, err := s.store.Collections(user)
			if err != nil {
				ms.Fail(s.log, r, err)
				return
			}
			for _, c := range cols {
				if c.Kind != p.CollectionKind() && !(p.Home == dav.HomeCalendars && isScheduleKind(c.Kind)) {
					continue
				}
				cp := dav.Path{Kind: dav.ResCollection, Home: p.Home, User: user, Collection: c.Name}
				ps := s.collectionProps(cp, c, epoch, user)
				s.addExportLength(ps, req, cp, c, epoch)
				respond(cp.Href(), ps)
			}
			// Collections other accounts share with the user, at their owner's
			// URL; not to a pimvault device, whose replica is the account's own
			// data (what a recovery uploads back).
			shared, shares, err := s.sharedCollections(user, p.CollectionKind())
			if deviceOf(r) != "" {
				shared = nil
			}
			if err != nil {
				s.writeError(w, r, err)
				return
			}
			for i, c := range shared {
				cp := dav.Path{Kind: dav.ResCollection, Home: p.Home, User: shares[i].Owner, Collection: c.Name}
				ps := s.collectionProps(cp, c, epoch, user)
				s.addExportLength(ps, req, cp, c, epoch)
				respond(cp.Href(), ps)
			}
		}
	case dav.ResCollection:
		c, err := s.collection(p)
		if err != nil {
			ms.Fail(s.log, r, err)
			return
		}
		ps := s.collectionProps(p, c, epoch, user)
		s.addExportLength(ps, req, p, c, epoch)
		respond(p.Href(), ps)
		readOnly := account.Grants(c)[user] != account.ShareReadWrite
		if depth == "1" {
			fast := s.newMemberLister(p, req)
			err := s.store.Objects(p.User, p.Collection, false, func(o storage.Object) error {
				if err := ms.Err(); err != nil {
					return err
				}
				if fast != nil && p.User == user {
					fast.respond(ms, o)
					return nil
				}
				op := dav.Path{Kind: dav.ResObject, Home: p.Home, User: p.User, Collection: p.Collection, Object: o.Name}
				respond(op.Href(), s.objectProps(op, o, user, readOnly))
				return nil
			})
			if err != nil {
				ms.Fail(s.log, r, err)
				return
			}
		}
	case dav.ResObject:
		o, err := s.object(p)
		if err != nil {
			ms.Fail(s.log, r, err)
			return
		}
		readOnly := false
		if p.User != user {
			readOnly = s.shareAccess(p, user) != account.ShareReadWrite
		}
		ps := s.objectProps(p, o, user, readOnly)
		if tag := s.scheduleTagOf(p); tag != "" && p.Home == dav.HomeCalendars {
			ps.Add(nameScheduleTag, dav.XMLEscape(tag))
		}
		respond(p.Href(), ps)
	}
	ms.Finish(s.log, r)
}

// collection returns the collection p names, if it exists and is of the
// kind its home holds.
func (s *Server) collection(p dav.Path) (storage.Collection, error) {
	c, err := s.store.Collection(p.User, p.Collection)
	if err != nil {
		return c, err
	}
	if c.Kind != p.CollectionKind() && !(p.Home == dav.HomeCalendars && isScheduleKind(c.Kind)) {
		return c, dav.ErrNotFound
	}
	return c, nil
}

// object returns the object p names, from a collection of the right kind.
func (s *Server) object(p dav.Path) (storage.Object, error) {
	if _, err := s.collection(p); err != nil {
		return storage.Object{}, err
	}
	return s.store.Get(p.User, p.Collection, p.Object)
}
