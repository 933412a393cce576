package dav

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// KeyedLimiter allows events per key (a client address, an account) at a
// steady rate with a burst. Its memory is bounded whatever the keys: past
// maxKeys it forgets every key (all start again with a full burst), which
// a flood of new keys can only use to earn one burst per key.
type KeyedLimiter struct {
	mu      sync.Mutex
	every   time.Duration
	burst   int
	maxKeys int
	m       map[string]*rate.Limiter
}

// NewKeyedLimiter allows one event per every, burst at once, per key.
func NewKeyedLimiter(every time.Duration, burst, maxKeys int) *KeyedLimiter {
	return &KeyedLimiter{every: every, burst: burst, maxKeys: maxKeys, m: map[string]*rate.Limiter{}}
}

// Allow reports whether an event for key may happen now, and counts it.
func (k *KeyedLimiter) Allow(key string) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	l, ok := k.m[key]
	if !ok {
		if len(k.m) >= k.maxKeys {
			k.m = map[string]*rate.Limiter{}
		}
		l = rate.NewLimiter(rate.Every(k.every), k.burst)
		k.m[key] = l
	}
	return l.Allow()
}
