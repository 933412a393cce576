package server

import (
	"encoding/xml"
	"net/http"
	"sort"
	"strconv"

	"github.com/pimvault/pimvault/storage"
)

// filesPropfind answers PROPFIND in the files area (RFC 4918 §9.1), Depth 0
// or 1 (infinity is answered as 1, as for the other collections).
func (s *Server) filesPropfind(w http.ResponseWriter, r *http.Request, p davPath) {
	depth, req, err := readPropfind(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	n, err := s.resolveFiles(p.user, p.files)
	if err == nil && !n.exists {
		err = errNotFound
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	ms := newMultistatus()
	respond := func(href string, ps *propSet) {
		found, missing := ps.pick(req)
		ms.propResponse(href, found, missing, req.PropName != nil)
	}
	if !n.isColl {
		props, err := s.store.ObjectProps(p.user, filesColl(n.parent()), n.name())
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		respond(filesHref(p.user, n.rel, false), s.filesObjectProps(p.user, n.obj, props))
		ms.write(w)
		return
	}
	respond(filesHref(p.user, n.rel, true), s.filesCollProps(p.user, n.coll))
	if depth == "1" {
		kids, err := s.filesChildren(p.user, n.rel, false)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		for _, c := range kids {
			rel, _ := filesRel(c.Name)
			respond(filesHref(p.user, rel, true), s.filesCollProps(p.user, c))
		}
		coll := filesColl(n.rel)
		var objs []storage.Object
		if err := s.store.Objects(p.user, coll, false, func(o storage.Object) error {
			objs = append(objs, o)
			return nil
		}); err != nil {
			s.writeError(w, r, err)
			return
		}
		for _, o := range objs {
			props, err := s.store.ObjectProps(p.user, coll, o.Name)
			if isNotFound(err) {
				continue // deleted since the listing
			}
			if err != nil {
				s.writeError(w, r, err)
				return
			}
			rel := append(append([]string(nil), n.rel...), o.Name)
			respond(filesHref(p.user, rel, false), s.filesObjectProps(p.user, o, props))
		}
	}
	ms.write(w)
}

// addDeadProps adds stored properties in name order, except those served as
// live properties.
func addDeadProps(ps *propSet, props map[string][]byte) {
	keys := make([]string, 0, len(props))
	for k := range props {
		if k != propContentType {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		ps.add(parseClark(k), string(props[k]))
	}
}

func (s *Server) filesCollProps(user string, c storage.Collection) *propSet {
	ps := &propSet{}
	ps.add(nameResourceType, "<D:collection/>")
	ps.add(nameOwner, hrefXML(principalHref(user)))
	commonProps(ps, user)
	addDeadProps(ps, c.Props)
	return ps
}

func (s *Server) filesObjectProps(user string, o storage.Object, props map[string][]byte) *propSet {
	ps := &propSet{}
	ps.add(nameResourceType, "")
	ps.add(nameGetETag, xmlEscape(quoteETag(o.ETag)))
	ps.add(nameGetContentType, xmlEscape(filesContentType(props)))
	ps.add(nameGetContentLength, strconv.FormatInt(o.Size, 10))
	ps.add(nameGetLastModified, httpTime(o.Time))
	ps.add(nameOwner, hrefXML(principalHref(user)))
	commonProps(ps, user)
	addDeadProps(ps, props)
	return ps
}

// filesProppatch sets and removes dead properties of a collection or a
// resource (RFC 4918 §9.2): all of them or none, in one journalled change.
func (s *Server) filesProppatch(w http.ResponseWriter, r *http.Request, p davPath) {
	n, err := s.resolveFiles(p.user, p.files)
	if err == nil && !n.exists {
		err = errNotFound
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	ups, err := readPropertyUpdate(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	href := filesHref(p.user, n.rel, n.isColl)
	names := make([]xml.Name, 0, len(ups))
	for _, u := range ups {
		names = append(names, u.name)
	}
	ms := newMultistatus()
	if bad := checkUpdates(ups); len(bad) > 0 {
		byStatus := map[int][]xml.Name{}
		for _, n := range names {
			if bad[n] {
				byStatus[http.StatusForbidden] = append(byStatus[http.StatusForbidden], n)
			} else {
				byStatus[http.StatusFailedDependency] = append(byStatus[http.StatusFailedDependency], n)
			}
		}
		ms.propStatusResponse(href, byStatus, map[int]xml.Name{http.StatusForbidden: {Space: nsDAV, Local: "cannot-modify-protected-property"}})
		ms.write(w)
		return
	}
	for i, u := range ups {
		ups[i].inner = withLang(u.lang, u.inner)
	}
	set, remove := toChange(ups)
	if len(set)+len(remove) > 0 {
		c := storage.Change{Op: storage.OpSetProps, Principal: p.user, Collection: filesColl(n.rel), Props: set, Remove: remove}
		if !n.isColl {
			c.Collection, c.Name = filesColl(n.parent()), n.name()
		}
		if _, err := s.store.Commit(r.Context(), c); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	ms.propStatusResponse(href, map[int][]xml.Name{http.StatusOK: names}, nil)
	ms.write(w)
}
