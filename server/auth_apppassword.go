package server

import (
	"context"
	"net/http"
	"time"

	"github.com/pimvault/pimvault/account"
	"github.com/pimvault/pimvault/storage"
)

// appPassword returns the account's app password that password is, if any
// (account.MatchAppPassword: one SHA-256, no bcrypt, never cached, so a revoked
// one is refused at the next request), and notes its use.
func (a *authenticator) appPassword(user string, acct account.Account, password string) (account.AppPassword, bool) {
	ap, ok := acct.MatchAppPassword(password)
	if !ok {
		return account.AppPassword{}, false
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	// A failed note (a store refusing writes) does not refuse the sign-in.
	_ = account.NoteAppPasswordUse(ctx, a.store, user, ap, time.Now())
	return ap, true
}

// deviceCredential is how the device registry records an app password a
// request signed in with (zero: the account password).
func deviceCredential(ap account.AppPassword) storage.DeviceCredential {
	return storage.DeviceCredential{AppPasswordID: ap.ID, AppPasswordLabel: ap.Label}
}

// davCredentialAllowed applies Config.DAVAppPasswordsOnly to a signed-in DAV
// request: only an app password of the user passes.
func (s *Server) davCredentialAllowed(r *http.Request) bool {
	if !s.cfg.DAVAppPasswordsOnly {
		return true
	}
	_, pw, _ := r.BasicAuth()
	p, err := s.store.Principal(userFrom(r.Context()))
	if err != nil {
		return false
	}
	acct, err := account.Decode(p)
	if err != nil {
		return false
	}
	_, ok := acct.MatchAppPassword(pw)
	return ok
}
