package server

import (
	"net/http"

	"github.com/pimvault/pimvault/storage"
)

// propfind answers PROPFIND with Depth 0 or 1 (RFC 4918 §9.1; see
// readPropfind for Depth infinity).
func (s *Server) propfind(w http.ResponseWriter, r *http.Request, p davPath) {
	depth, req, err := readPropfind(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	user := userFrom(r.Context())
	ms := newMultistatus()
	respond := func(href string, ps *propSet) {
		found, missing := ps.pick(req)
		ms.propResponse(href, found, missing, req.PropName != nil)
	}
	epoch, _, err := s.store.Epoch()
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	switch p.kind {
	case resRoot:
		respond(p.href(), s.rootProps(user))
		if depth == "1" {
			respond(principalHref(user), s.principalProps(user))
		}
	case resPrincipals:
		respond(p.href(), s.rootProps(user))
		if depth == "1" {
			respond(principalHref(user), s.principalProps(user))
		}
	case resPrincipal:
		respond(p.href(), s.principalProps(user))
	case resHome:
		respond(p.href(), s.homeProps(p))
		if depth == "1" {
			cols, err := s.store.Collections(user)
			if err != nil {
				s.writeError(w, r, err)
				return
			}
			for _, c := range cols {
				if c.Kind != p.collectionKind() {
					continue
				}
				cp := davPath{kind: resCollection, home: p.home, user: user, collection: c.Name}
				respond(cp.href(), s.collectionProps(cp, c, epoch))
			}
		}
	case resCollection:
		c, err := s.collection(p)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		respond(p.href(), s.collectionProps(p, c, epoch))
		if depth == "1" {
			err := s.store.Objects(user, p.collection, false, func(o storage.Object) error {
				op := davPath{kind: resObject, home: p.home, user: user, collection: p.collection, object: o.Name}
				respond(op.href(), s.objectProps(op, o))
				return nil
			})
			if err != nil {
				s.writeError(w, r, err)
				return
			}
		}
	case resObject:
		o, err := s.object(p)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		respond(p.href(), s.objectProps(p, o))
	}
	ms.write(w)
}

// collection returns the collection p names, if it exists and is of the
// kind its home holds.
func (s *Server) collection(p davPath) (storage.Collection, error) {
	c, err := s.store.Collection(p.user, p.collection)
	if err != nil {
		return c, err
	}
	if c.Kind != p.collectionKind() {
		return c, errNotFound
	}
	return c, nil
}

// object returns the object p names, from a collection of the right kind.
func (s *Server) object(p davPath) (storage.Object, error) {
	if _, err := s.collection(p); err != nil {
		return storage.Object{}, err
	}
	return s.store.Get(p.user, p.collection, p.object)
}
