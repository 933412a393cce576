package server

import (
	"context"
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
