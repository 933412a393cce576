package replication

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// PromoteReport says what a promotion did.
type PromoteReport struct {
	StreamHead uint64 // last record on the stream when the lease was taken
	Head       uint64 // the new primary's head after its epoch record
	Epoch      string
	Took       time.Duration
}

func (r PromoteReport) String() string {
	return fmt.Sprintf("promoted to primary: caught up to record %d of the stream, new epoch %s at sequence %d (took %s)\n",
		r.StreamHead, r.Epoch, r.Head, r.Took.Round(time.Millisecond))
}

// Promote makes this standby the primary: it takes the store's lease
// (waiting for a dead primary's lease to expire, or at once with force),
// applies the stream to its end, stops following, starts publishing with
// the stream's last message as the expected one (so the old primary can
// never append again), and writes an epoch record through the stream.
func (f *Follower) Promote(ctx context.Context, force bool) (PromoteReport, error) {
	return f.promote(ctx, force, true)
}

// promote is Promote; without wait, a lease another server holds fails at
// once with ErrLeaseHeld (the automatic failover lost the race).
func (f *Follower) promote(ctx context.Context, force, wait bool) (PromoteReport, error) {
	f.promoteMu.Lock()
	defer f.promoteMu.Unlock()
	start := time.Now()
	if f.promoted.Load() != nil {
		return PromoteReport{}, errors.New("already the primary")
	}
	var l *lease
	var err error
	if wait {
		lctx, cancel := context.WithTimeout(ctx, f.cfg.LeaseTTL+2*f.cfg.Timeout)
		l, err = acquireLeaseWait(lctx, f.c, f.storeID, f.cfg, force)
		cancel()
	} else {
		l, err = acquireLease(ctx, f.c, f.storeID, f.cfg, force)
	}
	if err != nil {
		return PromoteReport{}, fmt.Errorf("promote: %w (with --force the lease is taken at once: only when the old primary is surely dead)", err)
	}
	fail := func(err error) (PromoteReport, error) {
		l.release()
		return PromoteReport{}, fmt.Errorf("promote: %w", err)
	}
	// With the lease held nobody else may start publishing; read where the
	// stream ends and apply up to there.
	target, _, err := f.c.lastRecord(ctx, f.storeID)
	if err != nil {
		return fail(fmt.Errorf("read the end of the stream: %w", err))
	}
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	err = f.WaitFor(wctx, target)
	cancel()
	if err != nil {
		return fail(fmt.Errorf("catch up to record %d: %w", target, err))
	}
	f.stopFollowing()
	if w := f.failure.Load(); w != nil && f.st.Head() < target {
		return fail(errors.New(*w))
	}
	p, err := newPublisher(ctx, f.st, f.c, l)
	if err != nil {
		return fail(err)
	}
	f.promoted.Store(p)
	epoch, err := f.st.StartEpoch(ctx, "promoted from standby")
	if err != nil {
		// The server is the primary now; the epoch record is retried by
		// nobody, so report it: writes go through the publisher as usual.
		return PromoteReport{StreamHead: target, Head: f.st.Head(), Took: time.Since(start)}, fmt.Errorf("promoted, but the epoch record failed: %w", err)
	}
	f.cfg.Log.Warn("replication: promoted to primary", "stream_head", target, "epoch", epoch, "head", f.st.Head())
	return PromoteReport{StreamHead: target, Head: f.st.Head(), Epoch: epoch, Took: time.Since(start)}, nil
}
