package files

import (
	"encoding/xml"
	"net/http"
	"sort"
	"strconv"

	"github.com/pimvault/pimvault/server/internal/dav"
	"github.com/pimvault/pimvault/storage"
)

// filesPropfind answers PROPFIND in the files area (RFC 4918 §9.1), Depth 0
// or 1 (Depth: infinity as dav.ReadPropfind says, as for the other collections).
func (h *Handler) filesPropfind(w http.ResponseWriter, r *http.Request, p dav.Path) {
	depth, req, err := dav.ReadPropfind(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	n, err := h.resolveFiles(p.User, p.Files)
	if err == nil && !n.exists {
		err = dav.ErrNotFound
	}
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	ms := dav.NewMultistatus(r.Context(), w, req.Names())
	respond := func(href string, ps *dav.PropSet) {
		found, missing := ps.Pick(req)
		ms.PropResponse(href, found, missing, req.PropName != nil)
	}
	if !n.isColl {
		props, err := h.store.ObjectProps(p.User, filesColl(n.parent()), n.name())
		if err != nil {
			h.writeError(w, r, err)
			return
		}
		respond(filesHref(p.User, n.rel, false), h.filesObjectProps(p.User, n.obj, props))
		ms.Finish(h.log, r)
		return
	}
	respond(filesHref(p.User, n.rel, true), h.filesCollProps(p.User, n.coll))
	if depth == "1" {
		kids, err := h.filesChildren(p.User, n.rel, false)
		if err != nil {
			ms.Fail(h.log, r, err)
			return
		}
		for _, c := range kids {
			rel, _ := filesRel(c.Name)
			respond(filesHref(p.User, rel, true), h.filesCollProps(p.User, c))
		}
		coll := filesColl(n.rel)
		var objs []storage.Object
		if err := h.store.Objects(p.User, coll, false, func(o storage.Object) error {
			objs = append(objs, o)
			return nil
		}); err != nil {
			ms.Fail(h.log, r, err)
			return
		}
		for _, o := range objs {
			if err := ms.Err(); err != nil {
				ms.Fail(h.log, r, err)
				return
			}
			props, err := h.store.ObjectProps(p.User, coll, o.Name)
			if isNotFound(err) {
				continue // deleted since the listing
			}
			if err != nil {
				ms.Fail(h.log, r, err)
				return
			}
			rel := append(append([]string(nil), n.rel...), o.Name)
			respond(filesHref(p.User, rel, false), h.filesObjectProps(p.User, o, props))
		}
	}
	ms.Finish(h.log, r)
}

// addDeadProps adds stored properties in name order, except those served as
// live properties.
func addDeadProps(ps *dav.PropSet, props map[string][]byte) {
	keys := make([]string, 0, len(props))
	for k := range props {
		if k != propContentType {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		ps.Add(dav.ParseClark(k), string(props[k]))
	}
}

func (h *Handler) filesCollProps(user string, c storage.Collection) *dav.PropSet {
	ps := &dav.PropSet{}
	ps.Add(dav.NameResourceType, "<D:collection/>")
	ps.Add(dav.NameOwner, dav.HrefXML(dav.PrincipalHref(user)))
	dav.CommonProps(ps, user)
	addDeadProps(ps, c.Props)
	return ps
}

func (h *Handler) filesObjectProps(user string, o storage.Object, props map[string][]byte) *dav.PropSet {
	ps := &dav.PropSet{}
	ps.Add(dav.NameResourceType, "")
	ps.Add(dav.NameGetETag, dav.XMLEscape(dav.QuoteETag(o.ETag)))
	ps.Add(dav.NameGetContentType, dav.XMLEscape(filesContentType(props)))
	ps.Add(dav.NameGetContentLength, strconv.FormatInt(o.Size, 10))
	ps.Add(dav.NameGetLastModified, dav.HTTPTime(o.Time))
	ps.Add(dav.NameOwner, dav.HrefXML(dav.PrincipalHref(user)))
	dav.CommonProps(ps, user)
	addDeadProps(ps, props)
	return ps
}

// filesProppatch sets and removes dead properties of a collection or a
// resource (RFC 4918 §9.2): all of them or none, in one journalled change.
func (h *Handler) filesProppatch(w http.ResponseWriter, r *http.Request, p dav.Path) {
	n, err := h.resolveFiles(p.User, p.Files)
	if err == nil && !n.exists {
		err = dav.ErrNotFound
	}
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	ups, err := dav.ReadPropertyUpdate(r)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	href := filesHref(p.User, n.rel, n.isColl)
	names := dav.UpdateNames(ups)
	ms := dav.NewMultistatus(r.Context(), w, names)
	if bad := dav.CheckUpdates(ups); len(bad) > 0 {
		byStatus := map[int][]xml.Name{}
		for _, n := range names {
			if bad[n] {
				byStatus[http.StatusForbidden] = append(byStatus[http.StatusForbidden], n)
			} else {
				byStatus[http.StatusFailedDependency] = append(byStatus[http.StatusFailedDependency], n)
			}
		}
		ms.PropStatusResponse(href, byStatus, map[int]xml.Name{http.StatusForbidden: {Space: dav.NSDAV, Local: "cannot-modify-protected-property"}})
		ms.Finish(h.log, r)
		return
	}
	for i, u := range ups {
		ups[i].Inner = dav.WithLang(u.Lang, u.Inner)
	}
	set, remove := dav.ToChange(ups)
	if len(set)+len(remove) > 0 {
		c := storage.Change{Op: storage.OpSetProps, Principal: p.User, Collection: filesColl(n.rel), Props: set, Remove: remove}
		if !n.isColl {
			c.Collection, c.Name = filesColl(n.parent()), n.name()
		}
		if _, err := h.store.Commit(r.Context(), c); err != nil {
			h.writeError(w, r, err)
			return
		}
	}
	ms.PropStatusResponse(href, map[int][]xml.Name{http.StatusOK: names}, nil)
	ms.Finish(h.log, r)
}
