package server

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	mrand "math/rand/v2"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/pimvault/pimvault/account"
	"github.com/pimvault/pimvault/server/internal/admit"
	"github.com/pimvault/pimvault/server/internal/dav"
	"github.com/pimvault/pimvault/storage"
)

const (
	credentialCacheTTL  = 5 * time.Minute
	maxCachedCredential = 10000
	// maxUserNameLen and maxSecretLen bound Basic credentials: longer ones
	// are refused before anything is looked up, keyed or hashed by them.
	maxUserNameLen = 256
	maxSecretLen   = 1024
)

type ctxKey int

const userKey ctxKey = 1

// userFrom returns the signed-in user of a request.
func userFrom(ctx context.Context) string {
	u, _ := ctx.Value(userKey).(string)
	return u
}

// authenticator checks HTTP Basic credentials against the accounts in the
// store. bcrypt is slow on purpose, so the account.Verifier bounds and
// shares the checks, and a verified credential is remembered in memory for
// a few minutes under an HMAC of name and password with a key made at
// start (nothing is written anywhere); the stored hash is kept beside it, so
// a password change or a disabled account invalidates it at once.
type authenticator struct {
	store    Store
	delay    time.Duration
	verifier *account.Verifier
	limits   *signInLimits
	trusted  []netip.Prefix
	cacheKey [32]byte
	// checkWait bounds the wait for a bcrypt slot (then 503).
	checkWait time.Duration

	mu sync.Mutex
	ok map[[32]byte]cachedCredential
}

type cachedCredential struct {
	hash    string // the account's password hash when it was verified
	expires time.Time
}

func newAuthenticator(store Store, delay time.Duration, checks int, checkWait time.Duration, trusted []netip.Prefix) *authenticator {
	a := &authenticator{store: store, delay: delay, verifier: account.NewVerifier(checks), checkWait: checkWait,
		limits: newSignInLimits(), trusted: trusted, ok: map[[32]byte]cachedCredential{}}
	if _, err := rand.Read(a.cacheKey[:]); err != nil {
		panic(err)
	}
	return a
}

func (a *authenticator) credentialKey(user, password string) [32]byte {
	m := hmac.New(sha256.New, a.cacheKey[:])
	m.Write([]byte(user))
	m.Write([]byte{0})
	m.Write([]byte(password))
	var k [32]byte
	copy(k[:], m.Sum(nil))
	return k
}

// cached reports whether user and password were verified recently. It
// reads no store: admission uses it to tell signed-in clients from new
// sign-ins.
func (a *authenticator) cached(user, password string) bool {
	k := a.credentialKey(user, password)
	a.mu.Lock()
	defer a.mu.Unlock()
	c, ok := a.ok[k]
	return ok && time.Now().Before(c.expires)
}

func (a *authenticator) remember(user, password, hash string, now time.Time) {
	k := a.credentialKey(user, password)
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.ok) >= maxCachedCredential {
		for k, v := range a.ok {
			if now.After(v.expires) {
				delete(a.ok, k)
			}
		}
		if len(a.ok) >= maxCachedCredential {
			a.ok = map[[32]byte]cachedCredential{}
		}
	}
	a.ok[k] = cachedCredential{hash: hash, expires: now.Add(credentialCacheTTL)}
}

// signInResult is what a sign-in attempt came to.
type signInResult int

const (
	signedIn signInResult = iota
	wrongCredentials
	tooManyFailures // wait says how long
	gaveUp          // the client left, or its deadline passed, before the check ran
)

// signIn checks user and password from addr. A limited (account, address)
// or address is refused first, whatever the password. A remembered
// credential then passes; any other check reserves a failure from both
// limiters, atomically, when it starts (shared by concurrent sign-ins with
// the same credentials) and gives it back when the password is right.
// The app password signed in with, if any, is returned with signedIn.
func (a *authenticator) signIn(ctx context.Context, user, password, addr string) (signInResult, time.Duration, account.AppPassword) {
	p, err := a.store.Principal(user)
	found := err == nil
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return gaveUp, 0, account.AppPassword{}
	}
	var acct account.Account
	if found {
		if acct, err = account.Decode(p); err != nil {
			found = false
		}
	}
	// The limiters come first even for a remembered credential: otherwise a
	// limited guesser could test guesses against the cache at full speed.
	now := time.Now()
	if wait := a.limits.blocked(user, addr, now); wait > 0 {
		return tooManyFailures, wait, account.AppPassword{}
	}
	if found && !acct.Disabled {
		k := a.credentialKey(user, password)
		a.mu.Lock()
		c, ok := a.ok[k]
		a.mu.Unlock()
		if ok && now.Before(c.expires) && c.hash == acct.PasswordHash {
			return signedIn, 0, account.AppPassword{}
		}
	}
	// The wait for a bcrypt slot is short: past it the client gets 503 and
	// comes back, and the check, once it has run, is remembered anyway.
	vctx, cancel := context.WithTimeout(ctx, a.checkWait)
	defer cancel()
	hash := acct.PasswordHash
	ok, err := a.verifier.Verify(vctx, user, password, acct, found, attempt{limits: a.limits, user: user, addr: addr,
		onMatch: func() {
			if found && !acct.Disabled {
				a.remember(user, password, hash, time.Now())
			}
		}})
	var le *limitedError
	switch {
	case errors.As(err, &le):
		return tooManyFailures, le.wait, account.AppPassword{}
	case err != nil:
		return gaveUp, 0, account.AppPassword{}
	case !ok:
		return wrongCredentials, 0, account.AppPassword{}
	}
	// An app password matched without bcrypt and was not remembered (a
	// revoked one fails at the next request); note its use.
	ap, _ := a.appPassword(user, acct, password)
	return signedIn, 0, ap
}

// refuseBody, for a request with a body, makes the server close the
// connection after this answer instead of reading the rest of a body nobody
// will use: Go's server would otherwise read up to 256 KB of it after the
// handler, at the sender's pace. The read deadline in the past ends that
// read at once (not supported by test recorders, which read nothing
// anyway). A request without a body keeps its connection, so a client that
// comes back after Retry-After needs no new one.
func refuseBody(w http.ResponseWriter, r *http.Request) {
	if r.ContentLength == 0 {
		return
	}
	w.Header().Set("Connection", "close")
	http.NewResponseController(w).SetReadDeadline(time.Now())
}

// SignInError is a refused sign-in: Status is 401 (wrong name or password,
// unknown or disabled account, too long), 429 (too many failed attempts;
// come back after RetryAfter) or 503 (the check could not run in time; come
// back after RetryAfter).
type SignInError struct {
	Status int
	Msg    string
	Wait   time.Duration
}

func (e *SignInError) Error() string { return e.Msg }

// RetryAfter is how long a throttled client should wait (0 for a 401).
func (e *SignInError) RetryAfter() time.Duration { return e.Wait }

// HTTPStatus is the status the refusal is answered with.
func (e *SignInError) HTTPStatus() int { return e.Status }

// SignIn checks a user name and password with the rules every sign-in
// follows, DAV's Basic authentication and the web pages' form alike: the
// length bounds, the limits on failed attempts, the one account check
// (unknown, disabled and wrong all fail alike) and the delay before a
// failure answers, waited outside the admission slot. It returns nil or a
// *SignInError.
func (s *Server) SignIn(r *http.Request, user, password string) error {
	_, err := s.signInAs(r, user, password)
	return err
}

// signInAs is SignIn that also returns the app password signed in with
// (zero: the account password).
func (s *Server) signInAs(r *http.Request, user, password string) (account.AppPassword, error) {
	if len(user) > maxUserNameLen || len(password) > maxSecretLen {
		s.reportSignIn("failed")
		return account.AppPassword{}, &SignInError{Status: http.StatusUnauthorized, Msg: "user name or password too long"}
	}
	addr := clientAddr(r, s.auth.trusted)
	res, wait, ap := s.auth.signIn(r.Context(), user, password, addr)
	switch res {
	case tooManyFailures:
		s.reportSignIn("throttled")
		return ap, &SignInError{Status: http.StatusTooManyRequests, Msg: "too many failed sign-ins from this address; try again later", Wait: wait}
	case gaveUp:
		s.reportSignIn("gave_up")
		// Soon: the check may be running for other connections and is
		// remembered once it has.
		return ap, &SignInError{Status: http.StatusServiceUnavailable, Msg: "sign-in could not be checked in time; try again later",
			Wait: time.Second + mrand.N(4*time.Second)}
	case wrongCredentials:
		s.reportSignIn("failed")
		s.log.Warn("failed sign-in", "user", user, "addr", addr)
		releaseTicket(r.Context()) // the wait below holds no admission slot
		select {
		case <-time.After(s.auth.delay):
		case <-r.Context().Done():
		}
		return ap, &SignInError{Status: http.StatusUnauthorized, Msg: "wrong user name or password"}
	}
	s.reportSignIn("ok")
	return ap, nil
}

// requireAuth admits requests with valid Basic credentials and puts the user
// in the context. Failed attempts wait (outside the admission slot), and
// are rate limited per account and address and per address (429 with
// Retry-After once the limit is reached). No refusal reads the body.
func (s *Server) requireAuth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pw, ok := r.BasicAuth()
		if !ok {
			s.reportSignIn("no_credentials")
			refuseBody(w, r)
			s.writeError(w, r, &dav.Error{Status: http.StatusUnauthorized, Msg: "sign in required"})
			return
		}
		ap, err := s.signInAs(r, user, pw)
		if err != nil {
			se := err.(*SignInError)
			refuseBody(w, r)
			switch se.Status {
			case http.StatusTooManyRequests:
				dav.LogRefusal(s.log, r, se.Status, se.Msg+" (user "+user+")")
				w.Header().Set("Retry-After", strconv.Itoa(int(se.Wait/time.Second)+1))
				http.Error(w, se.Msg, se.Status)
				return
			case http.StatusServiceUnavailable:
				s.writeBusy(w, r, &admit.Busy{RetryAfter: se.Wait, Why: "password checks busy"})
				return
			}
			s.writeError(w, r, &dav.Error{Status: se.Status, Msg: se.Msg})
			return
		}
		if !s.admitRecovery(w, r, user, ap) {
			return
		}
		if err := s.ensureDefaults(r.Context(), user); err != nil {
			s.writeError(w, r, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), userKey, user)))
	})
}

// reportSignIn reports a sign-in outcome to Config.OnSignIn.
func (s *Server) reportSignIn(outcome string) {
	if s.cfg.OnSignIn != nil {
		s.cfg.OnSignIn(outcome)
	}
}
