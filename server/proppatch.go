package server

import (
	"encoding/xml"
	"net/http"
	"strings"

	"github.com/pimvault/pimvault/storage"
)

func (s *Server) proppatch(w http.ResponseWriter, r *http.Request, p DAVXPath) {
	if p.Kind != DAVXResCollection {
		s.writeError(w, r, DAVXForbidden(DAVXNSDAV, "cannot-modify-protected-property", "properties can only be changed on collections"))
		return
	}
	if _, err := s.collection(p); err != nil {
		s.writeError(w, r, err)
		return
	}
	ups, err := DAVXReadPropertyUpdate(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if p.Home == DAVXHomeCalendars {
		for _, u := range ups {
			if err := checkCalendarProp(u); err != nil {
				s.writeError(w, r, err)
				return
			}
		}
	}
	ms := DAVXNewMultistatus()
	names := make([]xml.Name, 0, len(ups))
	for _, u := range ups {
		names = append(names, u.Name)
	}
	if bad := DAVXCheckUpdates(ups); len(bad) > 0 {
		byStatus := map[int][]xml.Name{}
		for _, n := range names {
			if bad[n] {
				byStatus[http.StatusForbidden] = append(byStatus[http.StatusForbidden], n)
			} else {
				byStatus[http.StatusFailedDependency] = append(byStatus[http.StatusFailedDependency], n)
			}
		}
		ms.PropStatusResponse(p.Href(), byStatus, map[int]xml.Name{http.StatusForbidden: {Space: DAVXNSDAV, Local: "cannot-modify-protected-property"}})
		ms.Write(w)
		return
	}
	set, remove := DAVXToChange(ups)
	if len(set)+len(remove) > 0 {
		_, err = s.store.Commit(r.Context(), storage.Change{Op: storage.OpSetProps, Principal: p.User,
			Collection: p.Collection, Props: set, Remove: remove})
		if err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	ms.PropStatusResponse(p.Href(), map[int][]xml.Name{http.StatusOK: names}, nil)
	ms.Write(w)
}

// mkcol creates an address book (RFC 5689 extended MKCOL, or a plain MKCOL in
// the address book home) with its initial properties.
func (s *Server) mkcol(w http.ResponseWriter, r *http.Request, p DAVXPath) {
	if p.Kind != DAVXResCollection || p.Home != DAVXHomeCards {
		s.writeError(w, r, DAVXForbidden(DAVXNSDAV, "resource-must-be-null", "collections can only be created in your address book home"))
		return
	}
	body, err := DAVXReadXMLBody(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var ups []DAVXPropUpdate
	if body != nil {
		if ups, err = DAVXParsePropUpdates(body, xml.Name{Space: DAVXNSDAV, Local: "mkcol"}); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	var props []DAVXPropUpdate
	for _, u := range ups {
		if u.Name == DAVXNameResourceType {
			if !strings.Contains(u.Inner, `<addressbook xmlns="`+DAVXNSCardDAV+`">`) {
				s.writeError(w, r, DAVXForbidden(DAVXNSDAV, "valid-resourcetype", "only address books can be created here"))
				return
			}
			continue
		}
		if u.Remove || DAVXProtectedProps[u.Name] {
			s.writeError(w, r, DAVXForbidden(DAVXNSDAV, "cannot-modify-protected-property", "%s cannot be set", DAVXClark(u.Name)))
			return
		}
		props = append(props, u)
	}
	set, _ := DAVXToChange(props)
	_, err = s.store.Commit(r.Context(), storage.Change{Op: storage.OpCreateCollection, Principal: p.User,
		Collection: p.Collection, Kind: DAVXKindAddressBook, Props: set})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Location", p.Href())
	w.WriteHeader(http.StatusCreated)
}
