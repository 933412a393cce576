package device

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"
)

func TestBackoffFullJitterBounds(t *testing.T) {
	for _, r := range []float64{0, 0.25, 0.999} {
		b := &Backoff{Base: time.Second, Max: 8 * time.Second, Rand: func() float64 { return r }}
		for attempt := 0; attempt < 40; attempt++ {
			ceiling := min(8*time.Second, time.Second<<min(attempt, 20))
			d := b.Delay(attempt, 0)
			want := time.Duration(r * float64(ceiling))
			if d != want {
				t.Errorf("rand %v attempt %d: delay %v, want %v", r, attempt, d, want)
			}
		}
	}
}

func TestBackoffRetryAfterFloorAndCap(t *testing.T) {
	b := &Backoff{Base: time.Second, Max: 4 * time.Second, MaxRetryAfter: 30 * time.Second, Rand: func() float64 { return 0.5 }}
	if d := b.Delay(0, 10*time.Second); d != 10*time.Second {
		t.Errorf("Retry-After 10s: delay %v, want 10s", d)
	}
	if d := b.Delay(0, time.Hour); d != 30*time.Second {
		t.Errorf("Retry-After 1h: delay %v, want the 30s cap", d)
	}
	if got := parseRetryAfter("120", time.Now()); got != 2*time.Minute {
		t.Errorf("parse 120: %v", got)
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if got := parseRetryAfter(now.Add(90*time.Second).Format(http.TimeFormat), now); got != 90*time.Second {
		t.Errorf("parse HTTP date: %v", got)
	}
	if got := parseRetryAfter("soon", now); got != 0 {
		t.Errorf("parse garbage: %v", got)
	}
	// Delays past what a Duration holds (they overflowed into negative
	// waits, i.e. no wait at all) are the longest wait, then capped.
	for _, v := range []string{"9223372037", "99999999999999999999999"} {
		if got := parseRetryAfter(v, now); got <= 0 {
			t.Errorf("parse %s: %v, want a long positive wait", v, got)
		}
		if d := b.Delay(0, parseRetryAfter(v, now)); d != 30*time.Second {
			t.Errorf("Retry-After %s: delay %v, want the 30s cap", v, d)
		}
	}
	for _, v := range []string{"-1", "-99999999999999999999999"} {
		if got := parseRetryAfter(v, now); got != 0 {
			t.Errorf("parse %s: %v, want 0", v, got)
		}
	}
}

func TestBackoffDoRetriesOnlyRetryable(t *testing.T) {
	var slept []time.Duration
	b := &Backoff{Attempts: 4, Sleep: func(ctx context.Context, d time.Duration) error { slept = append(slept, d); return nil }, Rand: func() float64 { return 0 }}
	calls := 0
	err := b.Do(context.Background(), func() error {
		calls++
		if calls < 3 {
			return &StatusError{Code: 503, RetryAfter: 5 * time.Second}
		}
		return nil
	})
	if err != nil || calls != 3 || len(slept) != 2 || slept[0] != 5*time.Second {
		t.Fatalf("err %v calls %d slept %v; want success on the 3rd call after two 5s pauses", err, calls, slept)
	}
	calls, slept = 0, nil
	err = b.Do(context.Background(), func() error { calls++; return &StatusError{Code: 412} })
	if calls != 1 || len(slept) != 0 || statusCode(err) != 412 {
		t.Fatalf("a 412 was retried: calls %d err %v", calls, err)
	}
	calls = 0
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	b.Sleep = sleepCtx
	err = b.Do(ctx, func() error { calls++; return &StatusError{Code: 503, RetryAfter: time.Hour} })
	if calls != 1 || !errors.Is(err, err) || statusCode(err) != 503 {
		t.Fatalf("cancelled context: calls %d err %v, want one call and the 503", calls, err)
	}
}
