package replication

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/pimvault/pimvault/storage"
)

// ErrFenced: another writer appended to this store's subject (a standby
// was promoted, or this store's journal diverged from the stream). A fenced
// primary takes no more writes; it may only rejoin as a standby.
var ErrFenced = errors.New("fenced: this server is no longer the primary of its store")

// retryAfter is what a refused write is told while the stream is out of reach.
const retryAfter = 5 * time.Second

// Publisher ships the store's journal records to the stream. It is the
// store's Replicator: in sync mode it publishes each batch before the
// committer answers; in async mode it queues the batch and a sender
// goroutine publishes it, and Ready refuses writes once the queue is older
// or longer than the configured lag.
type Publisher struct {
	cfg     Config
	st      *storage.Store
	c       *conn
	storeID string

	mu        sync.Mutex // serialises publishing and the fields below
	lastMsg   uint64     // stream sequence of the subject's last message (0: none)
	pending   [][]byte   // async: frames handed over but not yet published
	pendFirst uint64     // sequence of pending[0]

	published atomic.Uint64 // last record the stream holds for this store
	oldest    atomic.Int64  // async: Unix ns when the oldest unpublished record was handed over (0: none)
	down      atomic.Pointer[string]
	fenced    atomic.Pointer[error]
	lease     *lease

	kick chan struct{}
	stop chan struct{}
	done chan struct{}
}

// StartPublisher connects to the stream (creating it if needed), checks
// that the stream's record of this store is a prefix of the local journal,
// sends what the stream lacks, and installs itself as the store's
// Replicator. A stream that holds records this store does not have (another
// primary wrote) is refused with ErrFenced. A stream that cannot be reached
// at start is an error; one that goes away later makes writes wait (sync)
// or queue up to the lag bound (async).
func StartPublisher(ctx context.Context, st *storage.Store, cfg Config) (*Publisher, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	id := st.Identity().StoreID
	c, err := dial(ctx, cfg, "pimvault primary "+id, true)
	if err != nil {
		return nil, err
	}
	l, err := acquireLease(ctx, c, id, cfg, false)
	if err != nil {
		c.close()
		return nil, err
	}
	p, err := newPublisher(ctx, st, c, l)
	if err != nil {
		l.release()
		c.close()
		return nil, err
	}
	st.SetReplicator(p)
	return p, nil
}

// newPublisher checks the stream against the local journal, sends what the
// stream lacks and starts the sender; the caller installs it.
func newPublisher(ctx context.Context, st *storage.Store, c *conn, l *lease) (*Publisher, error) {
	id := st.Identity().StoreID
	p := &Publisher{cfg: c.cfg, st: st, c: c, storeID: id, lease: l, kick: make(chan struct{}, 1), stop: make(chan struct{}), done: make(chan struct{})}
	p.mu.Lock()
	err := p.reconcile(ctx)
	if err == nil {
		if cerr := p.catchUp(ctx, st.Head()); cerr != nil && p.fenced.Load() == nil {
			p.markDown(cerr)
		}
		if e := p.fenced.Load(); e != nil {
			err = *e
		}
	}
	p.mu.Unlock()
	if err != nil {
		return nil, err
	}
	go p.loop()
	p.cfg.Log.Info("replication: publishing the journal", "stream", p.cfg.Stream, "subject", Subject(id), "mode", p.cfg.Mode,
		"replicas", c.replicas(), "stream_has", p.published.Load(), "head", st.Head())
	return p, nil
}

// Ready refuses a batch before anything is written when this server is
// fenced, when (sync) the stream is out of reach, or when (async) the
// unreplicated tail passed its bound.
func (p *Publisher) Ready() error {
	if e := p.fenced.Load(); e != nil {
		return &storage.UnavailableError{Why: (*e).Error(), RetryAfter: time.Minute}
	}
	if err := p.lease.valid(); err != nil {
		return &storage.UnavailableError{Why: err.Error(), RetryAfter: retryAfter}
	}
	if p.cfg.Mode == Sync {
		if w := p.down.Load(); w != nil {
			return &storage.UnavailableError{Why: "replication stream unreachable: " + *w, RetryAfter: retryAfter}
		}
		return nil
	}
	lag := p.st.Head() - p.published.Load()
	if lag > p.cfg.MaxLagRecords {
		return &storage.UnavailableError{Why: fmt.Sprintf("async replication is %d records behind (bound %d)", lag, p.cfg.MaxLagRecords), RetryAfter: retryAfter}
	}
	if o := p.oldest.Load(); o != 0 && time.Since(time.Unix(0, o)) > p.cfg.MaxLagTime {
		return &storage.UnavailableError{Why: fmt.Sprintf("async replication is %s behind (bound %s)", time.Since(time.Unix(0, o)).Round(time.Millisecond), p.cfg.MaxLagTime), RetryAfter: retryAfter}
	}
	return nil
}

// Replicate is called by the committer after the batch is fsynced locally.
func (p *Publisher) Replicate(first uint64, frames [][]byte) error {
	if p.cfg.Mode == Async {
		p.mu.Lock()
		if len(p.pending) == 0 {
			p.pendFirst = first
			p.oldest.Store(time.Now().UnixNano())
		}
		p.pending = append(p.pending, frames...)
		p.mu.Unlock()
		select {
		case p.kick <- struct{}{}:
		default:
		}
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 2*p.cfg.Timeout)
	defer cancel()
	err := p.catchUp(ctx, first-1)
	if err == nil {
		err = p.publishRaw(ctx, first, frames)
	}
	if err != nil {
		if e := p.fenced.Load(); e != nil {
			return &storage.UnavailableError{Why: (*e).Error(), RetryAfter: time.Minute}
		}
		p.markDown(err)
		return &storage.UnavailableError{Why: "replication stream did not acknowledge: " + err.Error(), RetryAfter: retryAfter}
	}
	return nil
}

func (p *Publisher) markDown(err error) {
	why := err.Error()
	if p.down.Swap(&why) == nil {
		p.cfg.Log.Warn("replication: stream unreachable; sync writes are refused (503) until it is back", "err", err, "stream", p.cfg.Stream)
	}
	select {
	case p.kick <- struct{}{}:
	default:
	}
}

// loop retries while the stream is out of reach and sends the async queue.
func (p *Publisher) loop() {
	defer close(p.done)
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-p.kick:
		case <-t.C:
		}
		if p.fenced.Load() != nil {
			continue
		}
		if err := p.flush(); err != nil {
			if p.fenced.Load() == nil {
				p.markDown(err)
			}
			select { // back off a little
			case <-p.stop:
				return
			case <-time.After(250 * time.Millisecond):
			}
			continue
		}
		if p.down.Swap(nil) != nil {
			p.cfg.Log.Info("replication: stream reachable again; writes accepted", "stream_has", p.published.Load())
		}
	}
}

// flush sends everything the stream lacks: in sync mode the records written
// before a failure, in async mode the queue.
func (p *Publisher) flush() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 4*p.cfg.Timeout)
	defer cancel()
	if p.cfg.Mode == Sync {
		return p.catchUp(ctx, p.st.Head())
	}
	for len(p.pending) > 0 {
		if err := p.catchUp(ctx, p.pendFirst-1); err != nil {
			return err
		}
		n := len(p.pending)
		if err := p.publishRaw(ctx, p.pendFirst, p.pending); err != nil {
			return err
		}
		p.pending, p.pendFirst = p.pending[n:], p.pendFirst+uint64(n)
	}
	p.pending = nil
	p.oldest.Store(0)
	return p.catchUp(ctx, p.st.Head())
}

// publishRaw publishes the frames of records first.. (those the stream
// already has are skipped), in messages no larger than the servers take.
func (p *Publisher) publishRaw(ctx context.Context, first uint64, frames [][]byte) error {
	fis := make([]storage.FrameInfo, 0, len(frames))
	for i, f := range frames {
		if first+uint64(i) <= p.published.Load() {
			continue
		}
		fi, err := storage.ParseFrames(f)
		if err != nil || len(fi) != 1 || fi[0].Seq != first+uint64(i) {
			return fmt.Errorf("frame %d handed to replication does not decode as itself: %v", first+uint64(i), err)
		}
		fis = append(fis, fi[0])
	}
	return p.publishFrames(ctx, fis)
}

// catchUp publishes the records after what the stream has up to upTo from
// the local journal.
func (p *Publisher) catchUp(ctx context.Context, upTo uint64) error {
	if p.published.Load() >= upTo {
		return nil
	}
	var batch []storage.FrameInfo
	err := p.st.ReadFrames(p.published.Load()+1, upTo, func(f storage.FrameInfo) error {
		batch = append(batch, f)
		if len(batch) >= 4096 {
			err := p.publishFrames(ctx, batch)
			batch = batch[:0]
			return err
		}
		return nil
	})
	if err == nil && len(batch) > 0 {
		err = p.publishFrames(ctx, batch)
	}
	return err
}

// publishFrames sends consecutive records following p.published, split so
// that every message fits the servers' max_payload.
func (p *Publisher) publishFrames(ctx context.Context, frames []storage.FrameInfo) error {
	limit := int(p.c.nc.MaxPayload()) - 4096
	for len(frames) > 0 {
		n, size := 0, 0
		for n < len(frames) && (n == 0 || size+len(frames[n].Frame) <= limit) {
			size += len(frames[n].Frame)
			n++
		}
		if size > limit {
			return fmt.Errorf("record %d is %d bytes, more than the NATS servers' max_payload allows", frames[0].Seq, size)
		}
		if err := p.publishMsg(ctx, frames[:n]); err != nil {
			return err
		}
		frames = frames[n:]
	}
	return nil
}

// publishMsg publishes one message of consecutive records that follow what
// the stream has, expecting the subject's last message to be ours.
func (p *Publisher) publishMsg(ctx context.Context, frames []storage.FrameInfo) error {
	if frames[0].Seq != p.published.Load()+1 {
		return fmt.Errorf("internal: publishing record %d after %d", frames[0].Seq, p.published.Load())
	}
	last := frames[len(frames)-1].Seq
	for attempt := 0; attempt < 2; attempt++ {
		if err := p.lease.valid(); err != nil {
			return err
		}
		pctx, cancel := context.WithTimeout(ctx, p.cfg.Timeout)
		ack, err := p.c.js.PublishMsg(pctx, newMessage(p.storeID, frames, p.lastMsg))
		cancel()
		if err == nil {
			p.lastMsg = ack.Sequence
			p.published.Store(last)
			return nil
		}
		var apiErr *jetstream.APIError
		if !errors.As(err, &apiErr) || (apiErr.ErrorCode != jetstream.JSErrCodeStreamWrongLastSequence && apiErr.ErrorCode != jetstream.JSErrCodeStreamWrongLastSequenceConstant) {
			return err
		}
		// The subject moved: either an earlier attempt of ours landed
		// (its acknowledgement was lost) or another writer appended.
		if err := p.reconcile(ctx); err != nil {
			return err
		}
		if p.published.Load() >= last {
			return nil
		}
		if p.published.Load()+1 != frames[0].Seq {
			// Part of it landed: send the rest.
			k := p.published.Load() + 1 - frames[0].Seq
			frames = frames[k:]
		}
	}
	return fmt.Errorf("stream subject keeps moving under this writer")
}

// reconcile reads the subject's last message and checks it against the
// local journal: its records must be ones this store wrote (same sequence,
// same chain hash). It sets what the stream has, or fences this server.
func (p *Publisher) reconcile(ctx context.Context) error {
	cctx, cancel := context.WithTimeout(ctx, p.cfg.Timeout)
	defer cancel()
	m, err := p.c.stream.GetLastMsgForSubject(cctx, Subject(p.storeID))
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		p.lastMsg = 0
		p.published.Store(0)
		return nil
	}
	if err != nil {
		return fmt.Errorf("read the stream's last record: %w", err)
	}
	frames, err := parseMessage(p.storeID, m.Header, m.Data)
	if err != nil {
		return p.fence(fmt.Errorf("the stream's last message (sequence %d) does not check: %v", m.Sequence, err))
	}
	last := frames[len(frames)-1]
	head := p.st.Head()
	if last.Seq > head {
		return p.fence(fmt.Errorf("the stream holds record %d, after this store's head %d: another primary has written", last.Seq, head))
	}
	var local [32]byte
	if err := p.st.ReadFrames(last.Seq, last.Seq, func(f storage.FrameInfo) error { local = f.Hash; return nil }); err != nil {
		return fmt.Errorf("read local record %d: %w", last.Seq, err)
	}
	if local != last.Hash {
		return p.fence(fmt.Errorf("the stream's record %d differs from this store's (the journals diverged: another primary has written)", last.Seq))
	}
	p.lastMsg = m.Sequence
	p.published.Store(last.Seq)
	return nil
}

func (p *Publisher) fence(err error) error {
	err = fmt.Errorf("%w: %v; this server refuses writes: restart it as a standby (serve --follow), which sets aside what was never replicated", ErrFenced, err)
	if p.fenced.CompareAndSwap(nil, &err) {
		p.cfg.Log.Error("replication: fenced", "err", err)
	}
	return err
}

// Status describes the publisher for 'pimvault status'.
func (p *Publisher) Status() string {
	s := fmt.Sprintf("replication: primary (%s), stream %s (%d replicas), subject %s\nreplicated through sequence %d (head %d)\n",
		p.cfg.Mode, p.cfg.Stream, p.c.replicas(), Subject(p.storeID), p.published.Load(), p.st.Head())
	ok := true
	if e := p.fenced.Load(); e != nil {
		s += "replication state: FENCED: " + (*e).Error() + "\n"
		ok = false
	}
	if err := p.lease.valid(); err != nil {
		s += "replication state: lease not held: " + err.Error() + "\n"
		ok = false
	}
	if w := p.down.Load(); w != nil {
		s += "replication state: stream unreachable: " + *w + "\n"
		ok = false
	}
	if ok {
		s += "replication state: ok\n"
	}
	return s + p.lease.status()
}

// Close sends what is queued (within the timeout), stops the publisher,
// releases the lease and disconnects. The store must not write after it.
func (p *Publisher) Close() error {
	closed := errors.New("replication closed (the server is shutting down)")
	defer p.fenced.CompareAndSwap(nil, &closed)
	close(p.stop)
	<-p.done
	err := p.flush()
	p.lease.release()
	p.c.close()
	return err
}
