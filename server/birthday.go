package server

import (
	"encoding/json"
	"io"
	"net/http"

	"github.com/pimvault/pimvault/birthday"
	"github.com/pimvault/pimvault/server/internal/dav"
	"github.com/pimvault/pimvault/storage"
)

// syncBirthdays updates owner's birthday calendar after a card changed
// (body nil: it was deleted). A failure is logged: the card's own write has
// succeeded, and enabling the calendar again rebuilds it.
func (s *Server) syncBirthdays(r *http.Request, owner, collection, uid string, body []byte) {
	if _, err := birthday.SyncCard(r.Context(), s.store, owner, collection, uid, body); err != nil {
		s.log.Warn("birthday calendar not updated", "user", owner, "card", uid, "err", err)
	}
}

// birthdayReadOnly refuses a client's write into a birthday calendar.
func (s *Server) birthdayReadOnly(p dav.Path, c storage.Collection) error {
	if !birthday.IsBirthdays(c) {
		return nil
	}
	return dav.NeedPrivileges(p.Href(), "write-content", "the birthday calendar is made from your contacts' BDAY and ANNIVERSARY; change the contacts")
}

// apiBirthdays answers POST /api/birthdays {"enabled": bool}: the signed-in
// user's birthday calendar is created and filled, or deleted.
func (s *Server) apiBirthdays(w http.ResponseWriter, r *http.Request) {
	var b struct {
		Enabled *bool `json:"enabled"`
	}
	dec := json.NewDecoder(io.LimitReader(r.Body, 1024))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&b); err != nil || b.Enabled == nil {
		s.writeAPIError(w, r, dav.BadRequest(`body must be {"enabled": true|false}`))
		return
	}
	user := userFrom(r.Context())
	var err error
	if *b.Enabled {
		err = birthday.Enable(r.Context(), s.store, user)
	} else {
		err = birthday.Disable(r.Context(), s.store, user)
	}
	if err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]bool{"enabled": *b.Enabled})
}
