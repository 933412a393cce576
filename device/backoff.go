package device

import (
	"context"
	"math/rand/v2"
	"sync"
	"time"
)

// Backoff retries an operation that failed with a retryable error (503,
// 429, a gateway or network error) after a pause chosen with full jitter
// (a uniform random delay in [0, min(Max, Base·2^attempt)]), and never
// sooner than the server's Retry-After (capped at MaxRetryAfter), so that
// a fleet coming back after an outage does not return in lockstep.
type Backoff struct {
	Base          time.Duration // first ceiling; default 500ms
	Max           time.Duration // largest ceiling; default 2m
	MaxRetryAfter time.Duration // cap on an honoured Retry-After; default 10m
	Attempts      int           // tries in all; default 6

	// Sleep waits for d or until ctx ends; tests replace it so that they
	// do not wait. Default: a timer.
	Sleep func(ctx context.Context, d time.Duration) error
	// Rand returns a number in [0, 1); default math/rand/v2.
	Rand func() float64

	mu sync.Mutex
}

func (b *Backoff) defaults() {
	if b.Base <= 0 {
		b.Base = 500 * time.Millisecond
	}
	if b.Max <= 0 {
		b.Max = 2 * time.Minute
	}
	if b.MaxRetryAfter <= 0 {
		b.MaxRetryAfter = 10 * time.Minute
	}
	if b.Attempts <= 0 {
		b.Attempts = 6
	}
	if b.Sleep == nil {
		b.Sleep = sleepCtx
	}
	if b.Rand == nil {
		b.Rand = rand.Float64
	}
}

// Delay is the pause before retry number attempt (0-based), given the
// server's Retry-After (0 if none).
func (b *Backoff) Delay(attempt int, retryAfter time.Duration) time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.defaults()
	ceiling := b.Max
	if attempt < 30 && b.Base<<attempt < b.Max {
		ceiling = b.Base << attempt
	}
	d := time.Duration(b.Rand() * float64(ceiling))
	if retryAfter > b.MaxRetryAfter {
		retryAfter = b.MaxRetryAfter
	}
	return max(d, retryAfter)
}

// Do runs op until it succeeds, fails with an error that is not
// retryable, the attempts are used up, or ctx ends.
func (b *Backoff) Do(ctx context.Context, op func() error) error {
	b.mu.Lock()
	b.defaults()
	attempts, sleep := b.Attempts, b.Sleep
	b.mu.Unlock()
	var err error
	for i := 0; i < attempts; i++ {
		if err = op(); err == nil {
			return nil
		}
		ok, ra := retryable(err)
		if !ok || i == attempts-1 {
			return err
		}
		if serr := sleep(ctx, b.Delay(i, ra)); serr != nil {
			return err
		}
	}
	return err
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
