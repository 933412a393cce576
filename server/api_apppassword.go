package server

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"sort"

	"github.com/go-chi/chi/v5"

	"github.com/pimvault/pimvault/account"
	"github.com/pimvault/pimvault/server/internal/dav"
	"github.com/pimvault/pimvault/storage"
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
	r.Method(http.MethodGet, "/api/devices", s.requireAuth(http.HandlerFunc(s.apiDevices)))
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

// appPasswordJSON is an app password as GET /api/app-passwords lists it:
// with the pimvault devices that sign in with it.
type appPasswordJSON struct {
	account.AppPasswordInfo
	Devices []string `json:"devices"`
}

func (s *Server) apiAppPasswordList(w http.ResponseWriter, r *http.Request) {
	user := userFrom(r.Context())
	aps, err := account.AppPasswords(s.store, user)
	if err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	st, err := s.store.PrincipalState(user)
	if err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	out := make([]appPasswordJSON, len(aps))
	for i, ap := range aps {
		out[i] = appPasswordJSON{AppPasswordInfo: ap, Devices: []string{}}
		for id, d := range st.Devices {
			if d.AppPasswordID == ap.ID && d.CredentialRevoked.IsZero() {
				out[i].Devices = append(out[i].Devices, id)
			}
		}
		sort.Strings(out[i].Devices)
	}
	writeJSON(w, http.StatusOK, map[string]any{"app_passwords": out})
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

// apiAppPasswordRevoke answers what the revocation did: the devices that
// signed in with it (now marked in the registry) and, while the account is
// RECOVERING, the devices its recovery still waits for.
func (s *Server) apiAppPasswordRevoke(w http.ResponseWriter, r *http.Request) {
	user, id := userFrom(r.Context()), chi.URLParam(r, "id")
	out, err := account.RevokeAppPasswordWithin(r.Context(), s.store, user, id, s.cfg.RecoveryDeviceWindow)
	if errors.Is(err, account.ErrNoAppPassword) {
		err = &dav.Error{Status: http.StatusNotFound, Msg: err.Error()}
	}
	if err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	st, err := s.store.PrincipalState(user)
	if err != nil {
		st = storage.PrincipalState{}
	}
	writeJSON(w, http.StatusOK, revocationJSON{ID: id, Devices: deviceRefs(st, out.Devices), Recovering: out.Recovering,
		Waiting: deviceRefs(st, out.Waiting), RecoveryClosed: out.Closed, NoReport: out.NoReport})
}

// revocationJSON is the answer to DELETE /api/app-passwords/{id}.
type revocationJSON struct {
	ID             string      `json:"id"`
	Devices        []deviceRef `json:"devices"`
	Recovering     bool        `json:"recovering"`
	Waiting        []deviceRef `json:"waiting,omitempty"`
	RecoveryClosed bool        `json:"recovery_closed,omitempty"`
	NoReport       bool        `json:"no_device_reported,omitempty"`
}

// deviceRef names a device of the registry with its app password's label.
type deviceRef struct {
	ID      string `json:"id"`
	Label   string `json:"label,omitempty"`
	Revoked bool   `json:"app_password_revoked,omitempty"`
}

func deviceRefs(st storage.PrincipalState, ids []string) []deviceRef {
	out := make([]deviceRef, 0, len(ids))
	for _, id := range ids {
		d := st.Devices[id]
		out = append(out, deviceRef{ID: id, Label: d.AppPasswordLabel, Revoked: !d.CredentialRevoked.IsZero()})
	}
	return out
}
