package server

import (
	"context"
	"crypto/sha256"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/pimvault/pimvault/account"
	"github.com/pimvault/pimvault/server/internal/dav"
)

// Limits on failed sign-ins: a burst, then one more try per interval.
const (
	failBurstAccount    = 5
	failEveryAccount    = 10 * time.Second
	failBurstAddress    = 20
	failEveryAddress    = 2 * time.Second
	credentialCacheTTL  = 5 * time.Minute
	maxTrackedLimiters  = 10000
	maxCachedCredential = 10000
)

type ctxKey int

const userKey ctxKey = 1

// userFrom returns the signed-in user of a request.
func userFrom(ctx context.Context) string {
	u, _ := ctx.Value(userKey).(string)
	return u
}

// authenticator checks HTTP Basic credentials against the accounts in the
// store. bcrypt is slow on purpose, so a verified credential is remembered
// for a few minutes, keyed by a hash of the user, the password and the stored
// hash (a password change or a disabled account invalidates it at once).
type authenticator struct {
	store Store
	delay time.Duration

	mu      sync.Mutex
	ok      map[[32]byte]time.Time
	perUser map[string]*limiterEntry
	perAddr map[string]*limiterEntry
}

type limiterEntry struct {
	lim  *rate.Limiter
	seen time.Time
}

func newAuthenticator(store Store, delay time.Duration) *authenticator {
	return &authenticator{store: store, delay: delay, ok: map[[32]byte]time.Time{},
		perUser: map[string]*limiterEntry{}, perAddr: map[string]*limiterEntry{}}
}

func limiterFor(m map[string]*limiterEntry, key string, every time.Duration, burst int, now time.Time) *rate.Limiter {
	e, ok := m[key]
	if !ok {
		if len(m) >= maxTrackedLimiters {
			for k, v := range m {
				if now.Sub(v.seen) > time.Duration(burst)*every {
					delete(m, k)
				}
			}
		}
		e = &limiterEntry{lim: rate.NewLimiter(rate.Every(every), burst)}
		m[key] = e
	}
	e.seen = now
	return e.lim
}

// blocked reports whether the account or address has no failed attempts
// left, and when to come back.
func (a *authenticator) blocked(user, addr string, now time.Time) (bool, time.Duration) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, lim := range []*rate.Limiter{
		limiterFor(a.perUser, user, failEveryAccount, failBurstAccount, now),
		limiterFor(a.perAddr, addr, failEveryAddress, failBurstAddress, now),
	} {
		if lim.TokensAt(now) < 1 {
			r := lim.ReserveN(now, 1)
			d := r.DelayFrom(now)
			r.CancelAt(now)
			return true, d
		}
	}
	return false, 0
}

func (a *authenticator) recordFailure(user, addr string, now time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	limiterFor(a.perUser, user, failEveryAccount, failBurstAccount, now).AllowN(now, 1)
	limiterFor(a.perAddr, addr, failEveryAddress, failBurstAddress, now).AllowN(now, 1)
}

// check verifies user and password. It returns false for unknown users,
// disabled accounts and wrong passwords alike.
func (a *authenticator) check(user, password string) bool {
	p, err := a.store.Principal(user)
	if err != nil {
		account.CompareDummy(password) // same cost as a real check
		return false
	}
	acct, err := account.Decode(p)
	if err != nil || acct.Disabled {
		return false
	}
	key := sha256.Sum256([]byte(user + "\x00" + password + "\x00" + acct.PasswordHash))
	now := time.Now()
	a.mu.Lock()
	exp, cached := a.ok[key]
	a.mu.Unlock()
	if cached && now.Before(exp) {
		return true
	}
	if !acct.PasswordMatches(password) {
		return false
	}
	a.mu.Lock()
	if len(a.ok) >= maxCachedCredential {
		for k, v := range a.ok {
			if now.After(v) {
				delete(a.ok, k)
			}
		}
		if len(a.ok) >= maxCachedCredential {
			a.ok = map[[32]byte]time.Time{}
		}
	}
	a.ok[key] = now.Add(credentialCacheTTL)
	a.mu.Unlock()
	return true
}

func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// requireAuth admits requests with valid Basic credentials and puts the user
// in the context. Failed attempts wait, and are rate limited per account and
// per address (429 with Retry-After once the limit is reached).
func (s *Server) requireAuth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pw, ok := r.BasicAuth()
		if !ok {
			s.signedIn("no_credentials")
			s.writeError(w, r, &dav.Error{Status: http.StatusUnauthorized, Msg: "sign in required"})
			return
		}
		addr := clientAddr(r)
		if blocked, wait := s.auth.blocked(user, addr, time.Now()); blocked {
			s.signedIn("throttled")
			w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
			http.Error(w, "too many failed sign-ins; try again later", http.StatusTooManyRequests)
			return
		}
		if !s.auth.check(user, pw) {
			s.signedIn("failed")
			s.auth.recordFailure(user, addr, time.Now())
			s.log.Warn("failed sign-in", "user", user, "addr", addr)
			select {
			case <-time.After(s.auth.delay):
			case <-r.Context().Done():
			}
			s.writeError(w, r, &dav.Error{Status: http.StatusUnauthorized, Msg: "wrong user name or password"})
			return
		}
		s.signedIn("ok")
		if !s.admitRecovery(w, r, user) {
			return
		}
		if err := s.ensureDefaults(r.Context(), user); err != nil {
			s.writeError(w, r, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), userKey, user)))
	})
}

// signedIn reports a sign-in outcome to Config.OnSignIn.
func (s *Server) signedIn(outcome string) {
	if s.cfg.OnSignIn != nil {
		s.cfg.OnSignIn(outcome)
	}
}
