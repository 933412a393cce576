package replication

import (
	"context"
	"errors"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// leaseWatch is a standby's automatic failover (Config.AutoFailover). It
// reads the store's lease key a few times per TTL. When the key is absent
// (the primary's lease expired, or a primary that shut down released it)
// on every read for Config.AutoFailoverGrace, and the stream holds records
// of the store (a primary existed), it promotes the standby exactly as
// 'pimvault promote' does without --force: take the lease with a create
// that fails when the key exists (so of two standbys that try at once, one
// wins and the other goes on following it), catch up to the end of the
// stream, append an epoch record, accept writes. A read that fails (the
// cluster is out of reach) is not absence: the watch starts over.
type leaseWatch struct {
	f        *Follower
	cancel   context.CancelFunc
	done     chan struct{}
	attempts atomic.Int64 // promotions tried
	lost     atomic.Int64 // promotions another server won
}

func startLeaseWatch(f *Follower) *leaseWatch {
	ctx, cancel := context.WithCancel(context.Background())
	w := &leaseWatch{f: f, cancel: cancel, done: make(chan struct{})}
	go w.run(ctx)
	return w
}

func (w *leaseWatch) stop() {
	if w == nil {
		return
	}
	w.cancel()
	<-w.done
}

func (w *leaseWatch) run(ctx context.Context) {
	defer close(w.done)
	f := w.f
	poll := max(f.cfg.LeaseTTL/10, 100*time.Millisecond)
	var kv jetstream.KeyValue
	var absentSince time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(poll):
		}
		if f.promoted.Load() != nil {
			return
		}
		if kv == nil {
			cctx, cancel := context.WithTimeout(ctx, f.cfg.Timeout)
			b, err := f.c.js.KeyValue(cctx, leaseBucket(f.cfg.Stream))
			cancel()
			if err != nil {
				absentSince = time.Time{} // no bucket yet: no primary ever held a lease
				continue
			}
			kv = b
		}
		cctx, cancel := context.WithTimeout(ctx, f.cfg.Timeout)
		_, err := kv.Get(cctx, f.storeID)
		cancel()
		switch {
		case err == nil:
			absentSince = time.Time{}
			continue
		case !errors.Is(err, jetstream.ErrKeyNotFound):
			absentSince = time.Time{}
			continue
		}
		if absentSince.IsZero() {
			absentSince = time.Now()
			f.cfg.Log.Warn("replication: the primary's lease is gone; promoting if it stays gone", "grace", f.cfg.AutoFailoverGrace)
		}
		if time.Since(absentSince) < f.cfg.AutoFailoverGrace {
			continue
		}
		if last, _, err := f.c.lastRecord(ctx, f.storeID); err != nil || last == 0 {
			continue // no primary ever wrote this store, or the stream is out of reach
		}
		w.attempts.Add(1)
		rep, err := f.promote(ctx, false, false)
		absentSince = time.Time{}
		switch {
		case err == nil:
			f.cfg.Log.Warn("replication: automatic failover: this standby is the primary now", "report", rep.String())
			return
		case errors.Is(err, ErrLeaseHeld):
			w.lost.Add(1)
			f.cfg.Log.Info("replication: automatic failover: another server took the lease first; following it", "err", err)
		default:
			f.cfg.Log.Error("replication: automatic failover failed; still a standby", "err", err)
		}
	}
}
