package web

import (
	"errors"
	"net/http"
	"strings"

	"github.com/pimvault/pimvault/account"
)

// App passwords on the devices page: listed, added (the token shown once,
// on the answer to the POST) and revoked through the account package's own
// functions, the ones the CLI and /api/app-passwords call. As with the API,
// only a session signed in with the account password may manage them: a
// device's app password cannot mint others or revoke the rest.

var errAppPasswordSession = &pageError{Status: http.StatusForbidden,
	Msg: "App passwords are managed after signing in with the account password, not with an app password."}

// devicesView is the devices page's data; token is a new app password's
// token, shown on this one answer only.
func (p *Pages) devicesView(x *req, newLabel, token string) (map[string]any, error) {
	st, err := p.store.PrincipalState(x.user)
	if err != nil {
		return nil, err
	}
	aps, err := account.AppPasswords(p.store, x.user)
	if err != nil {
		return nil, err
	}
	return map[string]any{"Devices": deviceRows(st), "Recovery": st.Recovery,
		"AppPasswords": aps, "CanManage": x.sess.appID == "", "NewLabel": newLabel, "NewToken": token}, nil
}

func (p *Pages) addAppPassword(x *req) error {
	if x.sess.appID != "" {
		return errAppPasswordSession
	}
	label := strings.TrimSpace(x.r.PostFormValue("label"))
	_, token, err := account.AddAppPassword(x.r.Context(), p.store, x.user, label)
	if errors.Is(err, account.ErrBadLabel) || errors.Is(err, account.ErrTooManyAppPassword) {
		data, derr := p.devicesView(x, "", "")
		if derr != nil {
			return derr
		}
		return p.show(x, http.StatusBadRequest, "devices", view{Title: "Devices", Nav: "devices", Error: err.Error(), Data: data})
	}
	if err != nil {
		return err
	}
	p.log.Info("web app password added", "user", x.user, "label", label)
	data, err := p.devicesView(x, label, token)
	if err != nil {
		return err
	}
	return p.show(x, http.StatusOK, "devices", view{Title: "Devices", Nav: "devices", Data: data})
}

func (p *Pages) revokeAppPassword(x *req) error {
	if x.sess.appID != "" {
		return errAppPasswordSession
	}
	out, err := account.RevokeAppPassword(x.r.Context(), p.store, x.user, x.r.PathValue("id"))
	if errors.Is(err, account.ErrNoAppPassword) {
		return &pageError{Status: http.StatusNotFound, Msg: "There is no such app password (it may have been revoked already)."}
	}
	if err != nil {
		return err
	}
	p.log.Info("web app password revoked", "user", x.user, "id", x.r.PathValue("id"))
	if len(out.Devices) > 0 {
		return redirect(x, "/web/devices", "revoked-devices")
	}
	return redirect(x, "/web/devices", "revoked")
}
