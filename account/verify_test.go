package account

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// countingSecret counts its costly checks.
type countingSecret struct {
	pw    string
	calls *atomic.Int32
	delay time.Duration
}

func (c countingSecret) Match(p string) bool {
	c.calls.Add(1)
	time.Sleep(c.delay)
	return p == c.pw
}
func (countingSecret) Costly() bool { return true }

func TestVerifierSharesConcurrentChecks(t *testing.T) {
	v := NewVerifier(2)
	hash, _ := bcrypt.GenerateFromPassword([]byte("correct horse"), bcrypt.MinCost)
	acct := Account{PasswordHash: string(hash)}
	var calls atomic.Int32
	key := [32]byte{1}
	var wg sync.WaitGroup
	var oks atomic.Int32
	for i := 0; i < 50; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, err := v.shared(context.Background(), key, nil, func() bool {
				return countingSecret{pw: "x", calls: &calls, delay: 100 * time.Millisecond}.Match("x")
			})
			if err == nil && ok {
				oks.Add(1)
			}
		}()
	}
	wg.Wait()
	if calls.Load() > 2 || oks.Load() != 50 {
		t.Fatalf("50 concurrent checks of one credential ran %d times, %d ok", calls.Load(), oks.Load())
	}
	// Through Verify, with real bcrypt: right, wrong, disabled, unknown.
	for _, c := range []struct {
		acct  Account
		found bool
		pw    string
		want  bool
	}{
		{acct, true, "correct horse", true},
		{acct, true, "wrong horse", false},
		{Account{PasswordHash: string(hash), Disabled: true}, true, "correct horse", false},
		{Account{}, false, "correct horse", false},
	} {
		ok, err := v.Verify(context.Background(), "ann", c.pw, c.acct, c.found, nil)
		if err != nil || ok != c.want {
			t.Errorf("Verify(%+v, found %v, %q) = %v, %v; want %v", c.acct, c.found, c.pw, ok, err, c.want)
		}
	}
	if n := v.InFlight(); n != 0 {
		t.Fatalf("%d flights left", n)
	}
}

// A caller that leaves while waiting for the CPU gets its context's error
// at once, and a check nobody waits for any more never runs.
func TestVerifierWaitHonoursContext(t *testing.T) {
	v := NewVerifier(1)
	var calls atomic.Int32
	release := make(chan struct{})
	go v.shared(context.Background(), [32]byte{1}, nil, func() bool { <-release; return true })
	for v.InFlight() == 0 {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond) // the first check holds the only slot
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := v.shared(ctx, [32]byte{2}, nil, func() bool { calls.Add(1); return true })
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > time.Second {
		t.Fatalf("waiting caller: %v after %v", err, time.Since(start))
	}
	close(release)
	for v.InFlight() != 0 {
		time.Sleep(time.Millisecond)
	}
	if calls.Load() != 0 {
		t.Fatal("a check ran after its only caller had left")
	}
}

func TestPasswordOver72BytesRefused(t *testing.T) {
	for _, pw := range []string{strings.Repeat("a", 73), strings.Repeat("é", 40)} {
		err := checkPassword(pw)
		if !errors.Is(err, ErrBadPassword) || !strings.Contains(err.Error(), "72") {
			t.Errorf("password of %d bytes: %v", len(pw), err)
		}
	}
	if err := checkPassword(strings.Repeat("a", 72)); err != nil {
		t.Errorf("72 bytes: %v", err)
	}
}

// countingLimiter allows n attempts and counts Begin calls.
type countingLimiter struct {
	begun  *atomic.Int32
	failed *atomic.Int32
	n      int32
}

func (l countingLimiter) Begin() (func(bool, bool), error) {
	if l.begun.Add(1) > l.n {
		return nil, errors.New("limited")
	}
	return func(matched, ran bool) {
		if ran && !matched {
			l.failed.Add(1)
		}
	}, nil
}

// Concurrent sign-ins with the same credentials begin one attempt; a
// wrong password is settled as a failure, a right one is not.
func TestVerifierBeginsOneAttemptPerSharedCheck(t *testing.T) {
	v := NewVerifier(1)
	hash, _ := bcrypt.GenerateFromPassword([]byte("correct horse"), 6)
	acct := Account{PasswordHash: string(hash)}
	for _, c := range []struct {
		pw         string
		wantFailed int32
	}{{"correct horse", 0}, {"wrong horse!", 1}} {
		var begun, failed atomic.Int32
		lim := countingLimiter{begun: &begun, failed: &failed, n: 1}
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := 0; i < 20; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				v.Verify(context.Background(), "ann", c.pw, acct, true, lim)
			}()
		}
		close(start)
		wg.Wait()
		for v.InFlight() != 0 {
			time.Sleep(time.Millisecond)
		}
		if failed.Load() != c.wantFailed || begun.Load() < 1 {
			t.Errorf("%q: %d begun, %d failed; want >=1 begun, %d failed", c.pw, begun.Load(), failed.Load(), c.wantFailed)
		}
	}
}
