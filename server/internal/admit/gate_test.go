package admit

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestGateLimitsAndQueue(t *testing.T) {
	g := NewGate(Config{Limit: 2, PerAccount: 1, Queue: 2, Wait: 2 * time.Second})
	ctx := context.Background()
	a, err := g.Acquire(ctx, High, "alice")
	if err != nil {
		t.Fatal(err)
	}
	b, err := g.Acquire(ctx, High, "bob")
	if err != nil {
		t.Fatal(err)
	}
	// Full: two waiters queue, the third arrival is refused at once.
	got := make(chan *Ticket, 2)
	go func() { t1, _ := g.Acquire(ctx, Low, "carol"); got <- t1 }()
	waitFor(t, g, 1)
	go func() { t2, _ := g.Acquire(ctx, High, "dave"); got <- t2 }()
	waitFor(t, g, 2)
	start := time.Now()
	_, err = g.Acquire(ctx, Low, "erin")
	var busy *Busy
	if !errors.As(err, &busy) || time.Since(start) > 100*time.Millisecond {
		t.Fatalf("full queue: got %v after %v, want an immediate *Busy", err, time.Since(start))
	}
	if busy.Seconds() < 1 || busy.RetryAfter > time.Minute {
		t.Fatalf("Retry-After %v out of [1s, 1m]", busy.RetryAfter)
	}
	// A freed slot goes to the High waiter (dave) before the earlier Low one.
	a.Release()
	a.Release() // idempotent
	first := <-got
	if first == nil || first.account != "dave" {
		t.Fatalf("first granted: %+v, want dave", first)
	}
	b.Release()
	second := <-got
	if second == nil || second.account != "carol" {
		t.Fatalf("second granted: %+v, want carol", second)
	}
	first.Release()
	second.Release()
	if s := g.Stats(); s != (Stats{}) {
		t.Fatalf("after all releases: %+v", s)
	}
}

func waitFor(t *testing.T, g *Gate, waiting int) {
	t.Helper()
	for i := 0; i < 1000; i++ {
		if g.Stats().Waiting == waiting {
			return
		}
		time.Sleep(time.Millisecond)
	}
	t.Fatalf("never %d waiting: %+v", waiting, g.Stats())
}

func TestGatePerAccountDoesNotBlockOthers(t *testing.T) {
	g := NewGate(Config{Limit: 3, PerAccount: 1, Queue: 4, Wait: 5 * time.Second})
	ctx := context.Background()
	a, _ := g.Acquire(ctx, High, "alice")
	done := make(chan error, 1)
	go func() {
		t2, err := g.Acquire(ctx, High, "alice") // waits for alice's own slot
		if err == nil {
			t2.Release()
		}
		done <- err
	}()
	waitFor(t, g, 1)
	b, err := g.Acquire(ctx, Low, "bob")
	if err != nil {
		t.Fatalf("bob behind alice's per-account wait: %v", err)
	}
	b.Release()
	a.Release()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestGateWaitAndContextEnd(t *testing.T) {
	g := NewGate(Config{Limit: 1, Queue: 4, Wait: 150 * time.Millisecond})
	held, _ := g.Acquire(context.Background(), High, "")
	start := time.Now()
	if _, err := g.Acquire(context.Background(), High, ""); err == nil {
		t.Fatal("granted past the limit")
	}
	if d := time.Since(start); d < 100*time.Millisecond || d > 2*time.Second {
		t.Fatalf("wait took %v, want about 150ms", d)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(20 * time.Millisecond); cancel() }()
	start = time.Now()
	if _, err := g.Acquire(ctx, High, ""); err == nil || time.Since(start) > 120*time.Millisecond {
		t.Fatalf("cancelled waiter: %v after %v", err, time.Since(start))
	}
	held.Release()
	if s := g.Stats(); s != (Stats{}) {
		t.Fatalf("after release: %+v", s)
	}
}

func TestGateHighPushesOutLow(t *testing.T) {
	g := NewGate(Config{Limit: 1, Queue: 1, Wait: 5 * time.Second})
	held, _ := g.Acquire(context.Background(), High, "")
	lowErr := make(chan error, 1)
	go func() { _, err := g.Acquire(context.Background(), Low, "new"); lowErr <- err }()
	waitFor(t, g, 1)
	highDone := make(chan *Ticket, 1)
	go func() { tk, _ := g.Acquire(context.Background(), High, "old"); highDone <- tk }()
	if err := <-lowErr; err == nil {
		t.Fatal("the Low waiter was not pushed out")
	}
	held.Release()
	if tk := <-highDone; tk == nil {
		t.Fatal("the High arrival was refused")
	} else {
		tk.Release()
	}
}

// A storm against a small gate: every Acquire ends, holders never exceed
// the limits, and the gate is empty afterwards.
func TestGateStorm(t *testing.T) {
	const limit, per = 4, 2
	g := NewGate(Config{Limit: limit, PerAccount: per, Queue: 16, Wait: 50 * time.Millisecond})
	var running atomic.Int32
	var perAcct [8]atomic.Int32
	var wg sync.WaitGroup
	var granted, refused atomic.Int32
	for i := 0; i < 400; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			acct := string(rune('a' + i%8))
			tk, err := g.Acquire(context.Background(), Priority(i%2), acct)
			if err != nil {
				refused.Add(1)
				return
			}
			granted.Add(1)
			if n := running.Add(1); n > limit {
				t.Errorf("%d running, limit %d", n, limit)
			}
			if n := perAcct[i%8].Add(1); n > per {
				t.Errorf("%d running for one account, limit %d", n, per)
			}
			time.Sleep(time.Millisecond)
			perAcct[i%8].Add(-1)
			running.Add(-1)
			tk.Release()
		}(i)
	}
	wg.Wait()
	if granted.Load() == 0 || refused.Load() == 0 || granted.Load()+refused.Load() != 400 {
		t.Fatalf("granted %d refused %d", granted.Load(), refused.Load())
	}
	if s := g.Stats(); s != (Stats{}) {
		t.Fatalf("after the storm: %+v", s)
	}
}

func TestRetryAfterGrowsWithBacklog(t *testing.T) {
	g := NewGate(Config{Limit: 1, Queue: 1, Wait: time.Second, MaxRetry: time.Minute})
	now := time.Unix(1000, 0)
	g.now = func() time.Time { return now }
	held, _ := g.Acquire(context.Background(), High, "")
	// One completion per second, then 600 refusals in one second: the
	// spread must reach tens of seconds (capped at the minute).
	var maxRetry time.Duration
	for i := 0; i < 600; i++ {
		b := g.refuse("test")
		if b.RetryAfter > maxRetry {
			maxRetry = b.RetryAfter
		}
		if b.RetryAfter < time.Second || b.RetryAfter > time.Minute {
			t.Fatalf("Retry-After %v out of bounds", b.RetryAfter)
		}
	}
	if maxRetry < 20*time.Second {
		t.Fatalf("600 refusals at rate 1/s spread only up to %v", maxRetry)
	}
	held.Release()
}
