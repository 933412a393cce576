package account

import (
	"context"
	"crypto/sha256"
	"sync"

	"golang.org/x/crypto/bcrypt"
)

// Secret is one way to sign in to an account: its password (bcrypt) today,
// per-device app passwords (a SHA-256 of a random token) beside it. An
// account lists its secrets with Secrets; the Verifier tries the cheap ones
// first and runs the costly ones under its CPU limit.
type Secret interface {
	// Match reports whether password is this secret.
	Match(password string) bool
	// Costly reports whether Match is slow on purpose (bcrypt): such checks
	// run at most as many at a time as the verifier allows, and concurrent
	// sign-ins with the same credentials share one.
	Costly() bool
}

// bcryptSecret is the account's password.
type bcryptSecret string

func (h bcryptSecret) Match(password string) bool {
	return bcrypt.CompareHashAndPassword([]byte(h), []byte(password)) == nil
}

func (bcryptSecret) Costly() bool { return true }

// Secrets returns the ways this account can sign in.
func (a Account) Secrets() []Secret {
	return append([]Secret{bcryptSecret(a.PasswordHash)}, a.appSecrets()...)
}

// Verifier checks sign-ins. bcrypt is slow on purpose, so it bounds how
// many costly checks run at once (a semaphore whose wait ends with the
// caller's context: a client that has gone stops costing CPU), and
// concurrent checks of the same credentials share one run (keyed by a
// SHA-256 of name, password and stored hash; the password itself is never
// kept). It remembers nothing once a check is answered.
type Verifier struct {
	sem chan struct{}

	mu      sync.Mutex
	flights map[[32]byte]*flight
}

// flight is one costly check that several sign-ins wait for.
type flight struct {
	done    chan struct{}
	ok      bool
	err     error
	waiters int
	cancel  context.CancelFunc
}

// Limiter is asked before a costly check starts: Begin reserves one
// attempt (an error refuses it and is returned by Verify), and end settles
// it: ran false when the check never ran (every caller left first), else
// matched says whether the password was right. end is called even when
// every caller has left, so a check that ran is never wasted (the caller
// of Verify can remember a right password there). Concurrent sign-ins that
// share one check share one attempt, so a client opening several
// connections with the right password is charged nothing, and parallel
// wrong guesses are each charged before they run.
type Limiter interface {
	Begin() (end func(matched, ran bool), err error)
}

// NewVerifier returns a verifier running at most n costly checks at once.
func NewVerifier(n int) *Verifier {
	if n < 1 {
		n = 1
	}
	return &Verifier{sem: make(chan struct{}, n), flights: map[[32]byte]*flight{}}
}

// Verify reports whether password signs in as name, whose account is acct
// (found false: there is no such account). A missing or disabled account
// costs the same work as a wrong password and answers false. The error is
// the context's, when the caller left before the check could run.
func (v *Verifier) Verify(ctx context.Context, name, password string, acct Account, found bool, lim Limiter) (bool, error) {
	var secrets []Secret
	var hash string
	if found {
		secrets, hash = acct.Secrets(), acct.PasswordHash
		for _, s := range secrets {
			if !s.Costly() && s.Match(password) {
				return !acct.Disabled, nil
			}
		}
	} else {
		secrets = []Secret{bcryptSecret(dummyHash(HashCost))}
	}
	key := sha256.Sum256([]byte(name + "\x00" + password + "\x00" + hash))
	ok, err := v.shared(ctx, key, lim, func() bool {
		match := false
		for _, s := range secrets {
			if s.Costly() && s.Match(password) {
				match = true
				break
			}
		}
		return match
	})
	if err != nil {
		return false, err
	}
	return ok && found && !acct.Disabled, nil
}

// shared runs check once for all concurrent callers with the same key,
// under the semaphore. A caller whose context ends stops waiting; when the
// last one has gone, a check that has not started yet never starts.
func (v *Verifier) shared(ctx context.Context, key [32]byte, lim Limiter, check func() bool) (bool, error) {
	v.mu.Lock()
	f, ok := v.flights[key]
	if !ok || f.waiters == 0 {
		end := func(bool, bool) {}
		if lim != nil {
			var err error
			if end, err = lim.Begin(); err != nil {
				v.mu.Unlock()
				return false, err
			}
		}
		fctx, cancel := context.WithCancel(context.Background())
		f = &flight{done: make(chan struct{}), cancel: cancel}
		v.flights[key] = f
		go v.run(fctx, key, f, check, end)
	}
	f.waiters++
	v.mu.Unlock()
	select {
	case <-f.done:
		return f.ok, f.err
	case <-ctx.Done():
		v.mu.Lock()
		f.waiters--
		if f.waiters == 0 {
			f.cancel()
		}
		v.mu.Unlock()
		return false, ctx.Err()
	}
}

func (v *Verifier) run(ctx context.Context, key [32]byte, f *flight, check func() bool, end func(matched, ran bool)) {
	defer func() {
		end(f.ok, f.err == nil)
		v.mu.Lock()
		if v.flights[key] == f {
			delete(v.flights, key)
		}
		v.mu.Unlock()
		f.cancel()
		close(f.done)
	}()
	select {
	case v.sem <- struct{}{}:
	case <-ctx.Done():
		f.err = ctx.Err()
		return
	}
	defer func() { <-v.sem }()
	if ctx.Err() != nil {
		f.err = ctx.Err()
		return
	}
	f.ok = check()
}

// InFlight returns the number of distinct checks running or waiting (for
// tests and metrics).
func (v *Verifier) InFlight() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return len(v.flights)
}

var (
	dummyMu     sync.Mutex
	dummyHashes = map[int]string{}
)

// dummyHash returns a bcrypt hash of the given cost to compare against when
// there is no account, so that an unknown name costs what a wrong password
// costs.
func dummyHash(cost int) string {
	dummyMu.Lock()
	defer dummyMu.Unlock()
	h, ok := dummyHashes[cost]
	if !ok {
		b, err := bcrypt.GenerateFromPassword([]byte("pimvault-dummy-password"), cost)
		if err != nil {
			panic(err)
		}
		h = string(b)
		dummyHashes[cost] = h
	}
	return h
}
