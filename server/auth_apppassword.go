package server

import (
	"context"
	"net/http"
	"time"

	"github.com/pimvault/pimvault/account"
)

// appPassword reports whether password is one of the account's app passwords
// (account.MatchAppPassword: one SHA-256, no bcrypt, never cached, so a revoked
// one is refused at the next request) and notes its use.
func (a *authenticator) appPassword(user string, acct account.Account, password string) bool {
	ap, ok := acct.MatchAppPassword(password)
	if !ok {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	// A failed note (a store refusing writes) does not refuse the sign-in.
	_ = account.NoteAppPasswordUse(ctx, a.store, user, ap, time.Now())
	return true
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
