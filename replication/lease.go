package replication

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// ErrLeaseHeld: another server holds the store's lease.
var ErrLeaseHeld = errors.New("the store's primary lease is held by another server")

// leaseValue is what the lease key holds.
type leaseValue struct {
	Holder string    `json:"holder"` // host, pid and a random part
	Since  time.Time `json:"since"`
}

// lease is the primary's hold on its store in a JetStream key-value bucket
// whose entries expire after the TTL. It is renewed every TTL/3 with a
// revision-checked update, so a renewal fails once anyone else wrote the
// key. It counts as held only until TTL·3/4 after the last renewal that was
// sent and acknowledged (local monotonic clock, measured from before the
// send, so it ends before the server lets the entry expire).
type lease struct {
	kv     jetstream.KeyValue
	key    string
	holder string
	ttl    time.Duration
	log    func(msg string, args ...any)

	mu      sync.Mutex
	rev     uint64
	renewed time.Time // send time of the last acknowledged write
	lost    error
	stop    chan struct{}
	done    chan struct{}
}

func leaseBucket(stream string) string { return stream + "-LEASES" }

// acquireLeaseWait is acquireLease, retried while another server holds the
// lease, until ctx ends (a dead primary's lease expires after its TTL).
func acquireLeaseWait(ctx context.Context, c *conn, storeID string, cfg Config, force bool) (*lease, error) {
	for {
		l, err := acquireLease(ctx, c, storeID, cfg, force)
		if err == nil || !errors.Is(err, ErrLeaseHeld) {
			return l, err
		}
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// acquireLease takes the lease of storeID: it must be free (never taken,
// released, or expired) unless it is already ours.
func acquireLease(ctx context.Context, c *conn, storeID string, cfg Config, force bool) (*lease, error) {
	cfg = cfg.withDefaults()
	bucket := leaseBucket(cfg.Stream)
	var kv jetstream.KeyValue
	var err error
	for attempt := 0; attempt < 20; attempt++ {
		cctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
		kv, err = c.js.KeyValue(cctx, bucket)
		if errors.Is(err, jetstream.ErrBucketNotFound) {
			replicas := c.replicas()
			if replicas < 1 {
				replicas = 1
			}
			kv, err = c.js.CreateKeyValue(cctx, jetstream.KeyValueConfig{Bucket: bucket, Description: "pimvault primary leases, one key per store",
				History: 1, TTL: cfg.LeaseTTL, Storage: jetstream.FileStorage, Replicas: replicas})
		}
		cancel()
		if err == nil || ctx.Err() != nil {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	if err != nil {
		return nil, fmt.Errorf("lease bucket %s: %w", bucket, err)
	}
	ttl := cfg.LeaseTTL
	if st, err := kv.Status(ctx); err == nil && st.TTL() > 0 && st.TTL() != ttl {
		cfg.Log.Warn("replication: the lease bucket's TTL differs from --lease-ttl; using the bucket's", "bucket", bucket, "ttl", st.TTL())
		ttl = st.TTL()
	}
	host, _ := os.Hostname()
	l := &lease{kv: kv, key: storeID, ttl: ttl, holder: fmt.Sprintf("%s/%d/%d", host, os.Getpid(), time.Now().UnixNano()),
		log: cfg.Log.Warn, stop: make(chan struct{}), done: make(chan struct{})}
	val, _ := json.Marshal(leaseValue{Holder: l.holder, Since: time.Now().UTC()})
	sent := time.Now()
	cctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	rev, err := kv.Create(cctx, storeID, val)
	if err != nil && force {
		// The operator says the holder is dead. Overwriting the key makes
		// the holder's next revision-checked renewal fail (it fences
		// itself), and the stream's expected-sequence check refuses its
		// appends in any case.
		sent = time.Now()
		rev, err = kv.Put(cctx, storeID, val)
		if err == nil {
			cfg.Log.Warn("replication: took the primary lease by force", "store", storeID)
		}
	}
	if err != nil {
		if e, gerr := kv.Get(cctx, storeID); gerr == nil {
			var lv leaseValue
			json.Unmarshal(e.Value(), &lv)
			return nil, fmt.Errorf("%w: %s, renewed %s ago; it expires %s after its last renewal: stop that server, or wait",
				ErrLeaseHeld, lv.Holder, time.Since(e.Created()).Round(time.Millisecond), ttl)
		}
		if isWrongRevision(err) {
			// The create lost to another writer of the key (whose entry
			// could not be read just now): held all the same.
			return nil, fmt.Errorf("%w: another server created the key first (%v)", ErrLeaseHeld, err)
		}
		return nil, fmt.Errorf("take the lease: %w", err)
	}
	l.rev, l.renewed = rev, sent
	go l.renewLoop()
	return l, nil
}

func (l *lease) renewLoop() {
	defer close(l.done)
	t := time.NewTicker(l.ttl / 3)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
		}
		l.mu.Lock()
		rev, lost := l.rev, l.lost
		l.mu.Unlock()
		if lost != nil {
			return
		}
		val, _ := json.Marshal(leaseValue{Holder: l.holder, Since: time.Now().UTC()})
		sent := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), l.ttl/3)
		nrev, err := l.kv.Update(ctx, l.key, val, rev)
		cancel()
		conflict := isWrongRevision(err)
		if conflict {
			// The key changed: it expired while the cluster was out of
			// reach, an earlier renewal's answer was lost, or another
			// server took it.
			ctx, cancel := context.WithTimeout(context.Background(), l.ttl/3)
			sent = time.Now()
			nrev, err = l.retake(ctx, val)
			cancel()
		}
		l.mu.Lock()
		switch {
		case err == nil:
			l.rev, l.renewed = nrev, sent
			if conflict {
				l.log("replication: lease renewed after a revision conflict (it had expired, or an earlier renewal's answer was lost)")
			}
		case errors.Is(err, ErrLeaseHeld):
			l.lost = fmt.Errorf("%w: the lease was taken by another server", ErrFenced)
			l.log("replication: lease lost; refusing writes", "err", err)
		default:
			l.log("replication: lease renewal failed; writes stop when it runs out", "err", err, "left", l.ttl*3/4-time.Since(l.renewed))
		}
		l.mu.Unlock()
	}
}

// retake renews the lease after a revision conflict: when the key still
// names this holder (a renewal whose answer was lost) it is updated at its
// current revision; when it expired it is created again; when another
// server holds it, ErrLeaseHeld. Other errors are transient.
func (l *lease) retake(ctx context.Context, val []byte) (uint64, error) {
	e, err := l.kv.Get(ctx, l.key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		rev, err := l.kv.Create(ctx, l.key, val)
		if isWrongRevision(err) {
			return 0, ErrLeaseHeld // someone created it first
		}
		return rev, err
	}
	if err != nil {
		return 0, err
	}
	var lv leaseValue
	if json.Unmarshal(e.Value(), &lv) != nil || lv.Holder != l.holder {
		return 0, fmt.Errorf("%w: %s", ErrLeaseHeld, lv.Holder)
	}
	return l.kv.Update(ctx, l.key, val, e.Revision())
}

func isWrongRevision(err error) bool {
	var apiErr *jetstream.APIError
	return errors.Is(err, jetstream.ErrKeyExists) || (errors.As(err, &apiErr) &&
		(apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence || apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant))
}

// valid is nil while the lease is held.
func (l *lease) valid() error {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lost != nil {
		return l.lost
	}
	if left := l.ttl*3/4 - time.Since(l.renewed); left <= 0 {
		return fmt.Errorf("the primary lease was not renewed for %s (TTL %s)", time.Since(l.renewed).Round(time.Millisecond), l.ttl)
	}
	return nil
}

func (l *lease) status() string {
	if l == nil {
		return ""
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return fmt.Sprintf("lease: %s in bucket %s (TTL %s), renewed %s ago\n", l.holder, l.kv.Bucket(), l.ttl, time.Since(l.renewed).Round(time.Millisecond))
}

// release deletes the lease (only if it is still ours) so a standby can be
// promoted at once after a clean shutdown.
func (l *lease) release() {
	if l == nil {
		return
	}
	close(l.stop)
	<-l.done
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.lost != nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	l.kv.Delete(ctx, l.key, jetstream.LastRevision(l.rev))
	l.lost = errors.New("lease released")
}
