package server

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/pimvault/pimvault/account"
	"github.com/pimvault/pimvault/server/internal/dav"
)

// The signed-in user's app passwords: GET lists them, POST {"label": …}
// makes one and answers its token once, DELETE …/{id} revokes one. Only the
// account password may manage them: a device signed in with an app password
// cannot mint others or revoke the rest.
func (s *Server) routeAppPasswords(r chi.Router) {
	h := func(f http.HandlerFunc) http.Handler { return s.requireAuth(s.accountPasswordOnly(f)) }
	r.Method(http.MethodGet, "/api/app-passwords", h(s.apiAppPasswordList))
	r.Method(http.MethodPost, "/api/app-passwords", h(s.apiAppPasswordAdd))
	r.Method(http.MethodDelete, "/api/app-passwords/{id}", h(s.apiAppPasswordRevoke))
}

var errAppPasswordForbidden = &dav.Error{Status: http.StatusForbidden, Msg: "app passwords are managed with the account password, not with an app password"}

// accountPasswordOnly refuses a request signed in with an app password.
func (s *Server) accountPasswordOnly(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		_, pw, _ := r.BasicAuth()
		p, err := s.store.Principal(userFrom(r.Context()))
		if err != nil {
			s.writeAPIError(w, r, err)
			return
		}
		acct, err := account.Decode(p)
		if err != nil {
			s.writeAPIError(w, r, err)
			return
		}
		if _, isApp := acct.MatchAppPassword(pw); isApp {
			s.writeAPIError(w, r, errAppPasswordForbidden)
			return
		}
		next(w, r)
	}
}

func (s *Server) apiAppPasswordList(w http.ResponseWriter, r *http.Request) {
	aps, err := account.AppPasswords(s.store, userFrom(r.Context()))
	if err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"app_passwords": aps})
}

func (s *Server) apiAppPasswordAdd(w http.ResponseWriter, r *http.Request) {
	var b struct {
		Label string `json:"label"`
	}
	dec := json.NewDecoder(io.LimitReader(r.Body, 16<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&b); err != nil {
		s.writeAPIError(w, r, dav.BadRequest("app password request: %v", err))
		return
	}
	id, token, err := account.AddAppPassword(r.Context(), s.store, userFrom(r.Context()), b.Label)
	if errors.Is(err, account.ErrBadLabel) || errors.Is(err, account.ErrTooManyAppPassword) {
		err = dav.BadRequest("%v", err)
	}
	if err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusCreated, map[string]string{"id": id, "label": b.Label, "token": token})
}

func (s *Server) apiAppPasswordRevoke(w http.ResponseWriter, r *http.Request) {
	err := account.RevokeAppPassword(r.Context(), s.store, userFrom(r.Context()), chi.URLParam(r, "id"))
	if errors.Is(err, account.ErrNoAppPassword) {
		err = &dav.Error{Status: http.StatusNotFound, Msg: err.Error()}
	}
	if err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
