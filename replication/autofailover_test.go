package replication

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/pimvault/pimvault/replication/natstest"
	"github.com/pimvault/pimvault/storage"
)

// crashPublisher stops a primary as a crash would: no more lease
// renewals (the lease is not released), no more publishes, no connection.
func crashPublisher(pub *Publisher, st *storage.Store) {
	pub.lease.mu.Lock()
	pub.lease.lost = errors.New("simulated crash")
	pub.lease.mu.Unlock()
	close(pub.stop)
	<-pub.done
	pub.c.close()
	st.Close()
}

// startPrimary opens a sync primary in a temporary directory with a
// seeded account and n contacts.
func startPrimary(t *testing.T, cfg Config, n int) (*storage.Store, *Publisher) {
	t.Helper()
	ps, err := storage.Open(t.TempDir(), storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	pub, err := StartPublisher(context.Background(), ps, cfg)
	if err != nil {
		t.Fatalf("start publisher: %v", err)
	}
	seed(t, ps)
	if acked, errs := writers(ps, 4, n/4, 0); len(errs) > 0 || len(acked) != n/4*4 {
		t.Fatalf("writes: %d acked, %v", len(acked), errs)
	}
	return ps, pub
}

func startStandby(t *testing.T, cfg Config, ps *storage.Store) (*storage.Store, *Follower) {
	t.Helper()
	ss, fol, err := OpenStandby(context.Background(), filepath.Join(t.TempDir(), "standby"), ps.Identity().StoreID, storage.Options{}, cfg)
	if err != nil {
		t.Fatalf("open standby: %v", err)
	}
	t.Cleanup(func() { fol.Close(); ss.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := fol.WaitFor(ctx, ps.Head()); err != nil {
		t.Fatal(err)
	}
	return ss, fol
}

// TestAutoFailoverOneWinner: two standbys with automatic failover; the
// primary crashes (its lease is neither renewed nor released). Exactly one
// standby takes the lease once it expired, writes its epoch record and
// accepts writes, within the lease TTL plus 5 s; the other stays a standby,
// refuses writes and follows the new primary to the same state.
func TestAutoFailoverOneWinner(t *testing.T) {
	c := natstest.Start(t, 3)
	cfg := testConfig(t, c, Sync)
	cfg.LeaseTTL = 2 * time.Second
	ps, pub := startPrimary(t, cfg, 40)
	scfg := cfg
	scfg.AutoFailover = true
	a, fa := startStandby(t, scfg, ps)
	b, fb := startStandby(t, scfg, ps)
	// While the primary lives, neither standby moves.
	time.Sleep(cfg.LeaseTTL + time.Second)
	if fa.promoted.Load() != nil || fb.promoted.Load() != nil {
		t.Fatal("a standby promoted itself while the primary held its lease")
	}
	oldHead := ps.Head()
	crashPublisher(pub, ps)
	crashed := time.Now()

	var winner, loser *storage.Store
	var wf, lf *Follower
	for winner == nil {
		for i, s := range []*storage.Store{a, b} {
			_, err := s.Commit(context.Background(), contact(9000+i))
			if err == nil {
				winner, loser, wf, lf = a, b, fa, fb
				if i == 1 {
					winner, loser, wf, lf = b, a, fb, fa
				}
				break
			}
			if !errors.Is(err, storage.ErrUnavailable) {
				t.Fatalf("write on a standby during the failover: %v", err)
			}
		}
		if winner == nil && time.Since(crashed) > cfg.LeaseTTL+10*time.Second {
			t.Fatalf("no standby took over within %s", time.Since(crashed))
		}
		time.Sleep(20 * time.Millisecond)
	}
	took := time.Since(crashed)
	t.Logf("automatic failover: first write accepted %s after the primary's crash (lease TTL %s, grace %s)", took.Round(time.Millisecond), cfg.LeaseTTL, scfg.withDefaults().AutoFailoverGrace)
	if took > cfg.LeaseTTL+5*time.Second {
		t.Errorf("first write after %s: want within the lease TTL %s plus 5 s", took, cfg.LeaseTTL)
	}
	if winner.Head() <= oldHead+1 {
		t.Fatalf("the new primary's head %d: want the old primary's %d, an epoch record and a write", winner.Head(), oldHead)
	}
	// The loser stays a standby for good and follows the winner.
	acked, errs := writers(winner, 2, 10, 10000)
	if len(errs) > 0 {
		t.Fatalf("writes on the new primary: %v", errs)
	}
	time.Sleep(cfg.LeaseTTL)
	if lf.promoted.Load() != nil {
		t.Fatal("both standbys promoted themselves")
	}
	if _, err := loser.Commit(context.Background(), contact(9999)); !errors.Is(err, storage.ErrUnavailable) {
		t.Fatalf("a write on the standby that lost: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := lf.WaitFor(ctx, winner.Head()); err != nil {
		t.Fatal(err)
	}
	h1, q1 := stateHash(t, winner)
	h2, q2 := stateHash(t, loser)
	if h1 != h2 || q1 != q2 {
		t.Fatalf("the standby that lost is at %s/%d, the new primary at %s/%d", h2, q2, h1, q1)
	}
	requireObjects(t, loser, acked)
	verifyOK(t, winner)
	t.Logf("winner: %d promotions tried; loser: %d tried, %d lost", wf.watch.attempts.Load(), lf.watch.attempts.Load(), lf.watch.lost.Load())
}

// TestPromoteRaceOneWins: two standbys try to take an expired lease at
// the same moment, as two automatic failovers would: the lease's create
// is revision-checked, so exactly one becomes the primary and the other is
// told the lease is held.
func TestPromoteRaceOneWins(t *testing.T) {
	c := natstest.Start(t, 3)
	cfg := testConfig(t, c, Sync)
	cfg.LeaseTTL = 2 * time.Second
	ps, pub := startPrimary(t, cfg, 8)
	_, fa := startStandby(t, cfg, ps)
	_, fb := startStandby(t, cfg, ps)
	crashPublisher(pub, ps)
	time.Sleep(cfg.LeaseTTL + 500*time.Millisecond) // the lease expires
	var wg sync.WaitGroup
	errs := make([]error, 2)
	start := make(chan struct{})
	for i, f := range []*Follower{fa, fb} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, errs[i] = f.promote(context.Background(), false, false)
		}()
	}
	close(start)
	wg.Wait()
	won := 0
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, ErrLeaseHeld):
			t.Fatalf("the losing promotion: want ErrLeaseHeld, got %v", err)
		}
	}
	if won != 1 {
		t.Fatalf("%d standbys became the primary (errors %v)", won, errs)
	}
	if (fa.promoted.Load() == nil) == (fb.promoted.Load() == nil) {
		t.Fatal("want exactly one promoted follower")
	}
}
