package web

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"sync"
	"time"
)

// Session bounds.
const (
	maxSessions     = 10000
	sessionIdle     = 30 * time.Minute
	sessionLifetime = 12 * time.Hour
	sessionCookie   = "pimvault_session"
	signinCookie    = "pimvault_signin" // binds the sign-in form's token
	cookiePath      = "/web/"           // under the base path
)

// session is one signed-in browser.
type session struct {
	id      string
	user    string
	csrf    string
	stamp   [32]byte // hash of the account's password hash at sign-in
	appID   string   // the app password signed in with; "" for the account password
	created time.Time
	seen    time.Time
}

// sessions is the in-memory session table: bounded, expiring.
type sessions struct {
	mu   sync.Mutex
	byID map[string]*session
	now  func() time.Time
}

func newSessions() *sessions {
	return &sessions{byID: map[string]*session{}, now: time.Now}
}

func randomToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func stampOf(passwordHash string) [32]byte { return sha256.Sum256([]byte(passwordHash)) }

func (s *sessions) expired(x *session, now time.Time) bool {
	return now.Sub(x.seen) > sessionIdle || now.Sub(x.created) > sessionLifetime
}

// create starts a session for user; when the table is full, expired
// sessions go first, then the least recently used one.
func (s *sessions) create(user, passwordHash, appID string) *session {
	now := s.now()
	x := &session{id: randomToken(), user: user, csrf: randomToken(), stamp: stampOf(passwordHash), appID: appID, created: now, seen: now}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.byID) >= maxSessions {
		var oldest *session
		for id, y := range s.byID {
			if s.expired(y, now) {
				delete(s.byID, id)
				continue
			}
			if oldest == nil || y.seen.Before(oldest.seen) {
				oldest = y
			}
		}
		if len(s.byID) >= maxSessions && oldest != nil {
			delete(s.byID, oldest.id)
		}
	}
	s.byID[x.id] = x
	return x
}

// get returns the live session of id, or nil, and marks it used.
func (s *sessions) get(id string) *session {
	if id == "" {
		return nil
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	x := s.byID[id]
	if x == nil {
		return nil
	}
	if s.expired(x, now) {
		delete(s.byID, id)
		return nil
	}
	x.seen = now
	return x
}

func (s *sessions) drop(id string) {
	s.mu.Lock()
	delete(s.byID, id)
	s.mu.Unlock()
}

func (s *sessions) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.byID)
}

// tokenEqual compares two tokens in constant time; an empty one never
// matches.
func tokenEqual(a, b string) bool {
	return a != "" && b != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// setCookie sets a cookie with the flags every cookie of the pages has.
func (p *Pages) setCookie(w http.ResponseWriter, r *http.Request, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: p.base + cookiePath, MaxAge: maxAge,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
}

func cookieValue(r *http.Request, name string) string {
	c, err := r.Cookie(name)
	if err != nil {
		return ""
	}
	return c.Value
}
