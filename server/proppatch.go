package server

import (
	"encoding/xml"
	"net/http"
	"strings"

	"github.com/pimvault/pimvault/account"
	"github.com/pimvault/pimvault/server/internal/dav"
	"github.com/pimvault/pimvault/storage"
)

func (s *Server) proppatch(w http.ResponseWriter, r *http.Request, p dav.Path) {
	if p.Kind != dav.ResCollection {
		s.writeError(w, r, dav.Forbidden(dav.NSDAV, "cannot-modify-protected-property", "properties can only be changed on collections"))
		return
	}
	if _, err := s.collection(p); err != nil {
		s.writeError(w, r, err)
		return
	}
	ups, err := dav.ReadPropertyUpdate(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	for _, u := range ups {
		if u.Name.Space == account.ShareNS {
			s.writeError(w, r, dav.Forbidden(dav.NSDAV, "cannot-modify-protected-property", "sharing is changed by a share request, not PROPPATCH"))
			return
		}
	}
	if p.Home == dav.HomeCalendars {
		for _, u := range ups {
			if err := checkCalendarProp(u); err != nil {
				s.writeError(w, r, err)
				return
			}
		}
	}
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
		ms.PropStatusResponse(p.Href(), byStatus, map[int]xml.Name{http.StatusForbidden: {Space: dav.NSDAV, Local: "cannot-modify-protected-property"}})
		ms.Finish(s.log, r)
		return
	}
	set, remove := dav.ToChange(ups)
	if len(set)+len(remove) > 0 {
		_, err = s.store.Commit(r.Context(), storage.Change{Op: storage.OpSetProps, Principal: p.User,
			Collection: p.Collection, Props: set, Remove: remove})
		if err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	ms.PropStatusResponse(p.Href(), map[int][]xml.Name{http.StatusOK: names}, nil)
	ms.Finish(s.log, r)
}

// mkcol creates an address book (RFC 5689 extended MKCOL, or a plain MKCOL in
// the address book home) with its initial properties.
func (s *Server) mkcol(w http.ResponseWriter, r *http.Request, p dav.Path) {
	if p.Kind != dav.ResCollection || p.Home != dav.HomeCards {
		s.writeError(w, r, dav.Forbidden(dav.NSDAV, "resource-must-be-null", "collections can only be created in your address book home"))
		return
	}
	body, err := dav.ReadXMLBody(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var ups []dav.PropUpdate
	if body != nil {
		if ups, err = dav.ParsePropUpdates(body, xml.Name{Space: dav.NSDAV, Local: "mkcol"}); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	var props []dav.PropUpdate
	for _, u := range ups {
		if u.Name == dav.NameResourceType {
			if !strings.Contains(u.Inner, `<addressbook xmlns="`+dav.NSCardDAV+`">`) {
				s.writeError(w, r, dav.Forbidden(dav.NSDAV, "valid-resourcetype", "only address books can be created here"))
				return
			}
			continue
		}
		if u.Remove || dav.ProtectedProps[u.Name] {
			s.writeError(w, r, dav.Forbidden(dav.NSDAV, "cannot-modify-protected-property", "%s cannot be set", dav.Clark(u.Name)))
			return
		}
		props = append(props, u)
	}
	set, _ := dav.ToChange(props)
	_, err = s.store.Commit(r.Context(), storage.Change{Op: storage.OpCreateCollection, Principal: p.User,
		Collection: p.Collection, Kind: dav.KindAddressBook, Props: set, SeenToken: seenToken(r)})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Location", p.Href())
	w.WriteHeader(http.StatusCreated)
}
