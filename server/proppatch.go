package server

import (
	"encoding/xml"
	"net/http"
	"strings"

	"github.com/pimvault/pimvault/storage"
)

func (s *Server) proppatch(w http.ResponseWriter, r *http.Request, p davPath) {
	if p.kind != resCollection {
		s.writeError(w, r, forbidden(nsDAV, "cannot-modify-protected-property", "properties can only be changed on collections"))
		return
	}
	if _, err := s.collection(p); err != nil {
		s.writeError(w, r, err)
		return
	}
	ups, err := readPropertyUpdate(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if p.home == homeCalendars {
		for _, u := range ups {
			if err := checkCalendarProp(u); err != nil {
				s.writeError(w, r, err)
				return
			}
		}
	}
	ms := newMultistatus()
	names := make([]xml.Name, 0, len(ups))
	for _, u := range ups {
		names = append(names, u.name)
	}
	if bad := checkUpdates(ups); len(bad) > 0 {
		byStatus := map[int][]xml.Name{}
		for _, n := range names {
			if bad[n] {
				byStatus[http.StatusForbidden] = append(byStatus[http.StatusForbidden], n)
			} else {
				byStatus[http.StatusFailedDependency] = append(byStatus[http.StatusFailedDependency], n)
			}
		}
		ms.propStatusResponse(p.href(), byStatus, map[int]xml.Name{http.StatusForbidden: {Space: nsDAV, Local: "cannot-modify-protected-property"}})
		ms.write(w)
		return
	}
	set, remove := toChange(ups)
	if len(set)+len(remove) > 0 {
		_, err = s.store.Commit(r.Context(), storage.Change{Op: storage.OpSetProps, Principal: p.user,
			Collection: p.collection, Props: set, Remove: remove})
		if err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	ms.propStatusResponse(p.href(), map[int][]xml.Name{http.StatusOK: names}, nil)
	ms.write(w)
}

// mkcol creates an address book (RFC 5689 extended MKCOL, or a plain MKCOL in
// the address book home) with its initial properties.
func (s *Server) mkcol(w http.ResponseWriter, r *http.Request, p davPath) {
	if p.kind != resCollection || p.home != homeCards {
		s.writeError(w, r, forbidden(nsDAV, "resource-must-be-null", "collections can only be created in your address book home"))
		return
	}
	body, err := readXMLBody(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var ups []propUpdate
	if body != nil {
		if ups, err = parsePropUpdates(body, xml.Name{Space: nsDAV, Local: "mkcol"}); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	var props []propUpdate
	for _, u := range ups {
		if u.name == nameResourceType {
			if !strings.Contains(u.inner, `<addressbook xmlns="`+nsCardDAV+`">`) {
				s.writeError(w, r, forbidden(nsDAV, "valid-resourcetype", "only address books can be created here"))
				return
			}
			continue
		}
		if u.remove || protectedProps[u.name] {
			s.writeError(w, r, forbidden(nsDAV, "cannot-modify-protected-property", "%s cannot be set", clark(u.name)))
			return
		}
		props = append(props, u)
	}
	set, _ := toChange(props)
	_, err = s.store.Commit(r.Context(), storage.Change{Op: storage.OpCreateCollection, Principal: p.user,
		Collection: p.collection, Kind: kindAddressBook, Props: set})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Location", p.href())
	w.WriteHeader(http.StatusCreated)
}
