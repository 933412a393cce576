package server

import (
	"crypto/sha256"
	"sync"
	"time"
)

// Limits on failed sign-ins: a burst, then one more try per interval, per
// (account, address) and per address. There is no limit per account alone:
// one address's failures must never lock the account's owner out from
// another address.
const (
	failBurstAccountAddr = 5
	failEveryAccountAddr = 10 * time.Second
	failBurstAddress     = 20
	failEveryAddress     = 2 * time.Second
	maxTrackedLimiters   = 10000
)

// bucket is a token bucket: burst tokens, one more every interval.
type bucket struct {
	tokens float64
	last   time.Time
}

// failLimiter keeps the buckets of failed sign-ins by a fixed-size hash of
// their key, so its memory is bounded by maxTrackedLimiters entries of a
// few dozen bytes whatever the names and addresses look like.
type failLimiter struct {
	every time.Duration
	burst float64

	m map[[16]byte]*bucket
}

func newFailLimiter(every time.Duration, burst int) *failLimiter {
	return &failLimiter{every: every, burst: float64(burst), m: map[[16]byte]*bucket{}}
}

func limiterKey(parts ...string) [16]byte {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	var k [16]byte
	copy(k[:], h.Sum(nil))
	return k
}

// refill brings b up to now and reports whether it is full (it then says
// nothing a new bucket would not say).
func (l *failLimiter) refill(b *bucket, now time.Time) bool {
	if d := now.Sub(b.last); d > 0 {
		b.tokens += float64(d) / float64(l.every)
		b.last = now
	}
	if b.tokens >= l.burst {
		b.tokens = l.burst
		return true
	}
	return false
}

// peek returns the bucket of key brought up to now, or nil when there is
// none (a full bucket).
func (l *failLimiter) peek(key [16]byte, now time.Time) *bucket {
	b, ok := l.m[key]
	if !ok {
		return nil
	}
	if l.refill(b, now) {
		delete(l.m, key)
		return nil
	}
	return b
}

// wait returns how long until key has a token; 0 if it has one now.
func (l *failLimiter) wait(key [16]byte, now time.Time) time.Duration {
	b := l.peek(key, now)
	if b == nil || b.tokens >= 1 {
		return 0
	}
	return time.Duration((1 - b.tokens) * float64(l.every))
}

// take spends one token of key (wait returned 0).
func (l *failLimiter) take(key [16]byte, now time.Time) {
	b := l.peek(key, now)
	if b == nil {
		if len(l.m) >= maxTrackedLimiters {
			l.evict(now)
		}
		b = &bucket{tokens: l.burst, last: now}
		l.m[key] = b
	}
	b.tokens--
}

// give returns a token taken by take (the attempt turned out right).
func (l *failLimiter) give(key [16]byte, now time.Time) {
	if b := l.peek(key, now); b != nil {
		b.tokens++
		if l.refill(b, now) {
			delete(l.m, key)
		}
	}
}

// evict makes room: first every bucket that has refilled, then, if the
// table is still full, arbitrary ones (map order), so an attacker who fills
// the table with fresh keys only forgets their own old failures faster.
func (l *failLimiter) evict(now time.Time) {
	for k, b := range l.m {
		if l.refill(b, now) {
			delete(l.m, k)
		}
	}
	for k := range l.m {
		if len(l.m) < maxTrackedLimiters*9/10 {
			break
		}
		delete(l.m, k)
	}
}

// signInLimits reserves a failure from both limiters before a password is
// checked, under one lock, so parallel guesses cannot all pass a check that
// only counts afterwards; a right password gives its reservation back.
// Concurrent sign-ins with the same credentials share one check and so one
// reservation (account.Limiter).
type signInLimits struct {
	mu       sync.Mutex
	acctAddr *failLimiter
	addr     *failLimiter
}

func newSignInLimits() *signInLimits {
	return &signInLimits{
		acctAddr: newFailLimiter(failEveryAccountAddr, failBurstAccountAddr),
		addr:     newFailLimiter(failEveryAddress, failBurstAddress),
	}
}

// reservation is one attempt's hold on both limiters.
type reservation struct {
	acctAddr, addr [16]byte
}

// reserve takes a token from (user, addr) and from addr, or none and says
// how long to wait.
func (s *signInLimits) reserve(user, addr string, now time.Time) (reservation, time.Duration) {
	r := reservation{acctAddr: limiterKey(user, addr), addr: limiterKey(addr)}
	s.mu.Lock()
	defer s.mu.Unlock()
	wait := max(s.acctAddr.wait(r.acctAddr, now), s.addr.wait(r.addr, now))
	if wait > 0 {
		return r, wait
	}
	s.acctAddr.take(r.acctAddr, now)
	s.addr.take(r.addr, now)
	return r, 0
}

// blocked returns how long until (user, addr) and addr both have a token;
// 0 when they do. It takes nothing.
func (s *signInLimits) blocked(user, addr string, now time.Time) time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return max(s.acctAddr.wait(limiterKey(user, addr), now), s.addr.wait(limiterKey(addr), now))
}

// limitedError refuses an attempt: wait before the next.
type limitedError struct{ wait time.Duration }

func (e *limitedError) Error() string { return "too many failed sign-ins" }

// attempt is the account.Limiter of one sign-in: Begin reserves from both
// limiters, the end gives the reservation back unless the password was
// wrong.
type attempt struct {
	limits     *signInLimits
	user, addr string
	onMatch    func() // remembers the credential, even when its clients have left
}

func (a attempt) Begin() (func(matched, ran bool), error) {
	r, wait := a.limits.reserve(a.user, a.addr, time.Now())
	if wait > 0 {
		return nil, &limitedError{wait: wait}
	}
	return func(matched, ran bool) {
		if matched || !ran {
			a.limits.cancel(r, time.Now())
		}
		if matched && a.onMatch != nil {
			a.onMatch()
		}
	}, nil
}

// cancel gives a reservation back.
func (s *signInLimits) cancel(r reservation, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.acctAddr.give(r.acctAddr, now)
	s.addr.give(r.addr, now)
}

// size returns the number of tracked buckets (tests).
func (s *signInLimits) size() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.acctAddr.m) + len(s.addr.m)
}
