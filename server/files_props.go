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
func (s *Server) filesPropfind(w http.ResponseWriter, r *http.Request, p DAVXPath) {
	depth, req, err := DAVXReadPropfind(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	n, err := s.resolveFiles(p.User, p.Files)
	if err == nil && !n.exists {
		err = DAVXErrNotFound
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	ms := DAVXNewMultistatus()
	respond := func(href string, ps *DAVXPropSet) {
		found, missing := ps.Pick(req)
		ms.PropResponse(href, found, missing, req.PropName != nil)
	}
	if !n.isColl {
		props, err := s.store.ObjectProps(p.User, filesColl(n.parent()), n.name())
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		respond(filesHref(p.User, n.rel, false), s.filesObjectProps(p.User, n.obj, props))
		ms.Write(w)
		return
	}
	respond(filesHref(p.User, n.rel, true), s.filesCollProps(p.User, n.coll))
	if depth == "1" {
		kids, err := s.filesChildren(p.User, n.rel, false)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		for _, c := range kids {
			rel, _ := filesRel(c.Name)
			respond(filesHref(p.User, rel, true), s.filesCollProps(p.User, c))
		}
		coll := filesColl(n.rel)
		var objs []storage.Object
		if err := s.store.Objects(p.User, coll, false, func(o storage.Object) error {
			objs = append(objs, o)
			return nil
		}); err != nil {
			s.writeError(w, r, err)
			return
		}
		for _, o := range objs {
			props, err := s.store.ObjectProps(p.User, coll, o.Name)
			if isNotFound(err) {
				continue // deleted since the listing
			}
			if err != nil {
				s.writeError(w, r, err)
				return
			}
			rel := append(append([]string(nil), n.rel...), o.Name)
			respond(filesHref(p.User, rel, false), s.filesObjectProps(p.User, o, props))
		}
	}
	ms.Write(w)
}

// addDeadProps adds stored properties in name order, except those served as
// live properties.
func addDeadProps(ps *DAVXPropSet, props map[string][]byte) {
	keys := make([]string, 0, len(props))
	for k := range props {
		if k != propContentType {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		ps.Add(DAVXParseClark(k), string(props[k]))
	}
}

func (s *Server) filesCollProps(user string, c storage.Collection) *DAVXPropSet {
	ps := &DAVXPropSet{}
	ps.Add(DAVXNameResourceType, "<D:collection/>")
	ps.Add(DAVXNameOwner, DAVXHrefXML(DAVXPrincipalHref(user)))
	DAVXCommonProps(ps, user)
	addDeadProps(ps, c.Props)
	return ps
}

func (s *Server) filesObjectProps(user string, o storage.Object, props map[string][]byte) *DAVXPropSet {
	ps := &DAVXPropSet{}
	ps.Add(DAVXNameResourceType, "")
	ps.Add(DAVXNameGetETag, DAVXXMLEscape(DAVXQuoteETag(o.ETag)))
	ps.Add(DAVXNameGetContentType, DAVXXMLEscape(filesContentType(props)))
	ps.Add(DAVXNameGetContentLength, strconv.FormatInt(o.Size, 10))
	ps.Add(DAVXNameGetLastModified, DAVXHTTPTime(o.Time))
	ps.Add(DAVXNameOwner, DAVXHrefXML(DAVXPrincipalHref(user)))
	DAVXCommonProps(ps, user)
	addDeadProps(ps, props)
	return ps
}

// filesProppatch sets and removes dead properties of a collection or a
// resource (RFC 4918 §9.2): all of them or none, in one journalled change.
func (s *Server) filesProppatch(w http.ResponseWriter, r *http.Request, p DAVXPath) {
	n, err := s.resolveFiles(p.User, p.Files)
	if err == nil && !n.exists {
		err = DAVXErrNotFound
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	ups, err := DAVXReadPropertyUpdate(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	href := filesHref(p.User, n.rel, n.isColl)
	names := make([]xml.Name, 0, len(ups))
	for _, u := range ups {
		names = append(names, u.Name)
	}
	ms := DAVXNewMultistatus()
	if bad := DAVXCheckUpdates(ups); len(bad) > 0 {
		byStatus := map[int][]xml.Name{}
		for _, n := range names {
			if bad[n] {
				byStatus[http.StatusForbidden] = append(byStatus[http.StatusForbidden], n)
			} else {
				byStatus[http.StatusFailedDependency] = append(byStatus[http.StatusFailedDependency], n)
			}
		}
		ms.PropStatusResponse(href, byStatus, map[int]xml.Name{http.StatusForbidden: {Space: DAVXNSDAV, Local: "cannot-modify-protected-property"}})
		ms.Write(w)
		return
	}
	for i, u := range ups {
		ups[i].Inner = DAVXWithLang(u.Lang, u.Inner)
	}
	set, remove := DAVXToChange(ups)
	if len(set)+len(remove) > 0 {
		c := storage.Change{Op: storage.OpSetProps, Principal: p.User, Collection: filesColl(n.rel), Props: set, Remove: remove}
		if !n.isColl {
			c.Collection, c.Name = filesColl(n.parent()), n.name()
		}
		if _, err := s.store.Commit(r.Context(), c); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	ms.PropStatusResponse(href, map[int][]xml.Name{http.StatusOK: names}, nil)
	ms.Write(w)
}
