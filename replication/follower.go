package replication

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/pimvault/pimvault/storage"
)

// followHint is the file in a standby's data directory that says which
// stream message holds the standby's head, so a restart resumes there
// instead of reading the subject from its start. It is only a hint: it is
// checked against the stream and ignored when it does not match.
const followHint = "FOLLOW"

type hint struct {
	StreamSeq uint64 `json:"stream_seq"`
	RecordSeq uint64 `json:"record_seq"`
}

// Follower keeps a standby store up to date from the stream: it reads the
// store's subject with an ordered consumer, checks every message's records
// (checksums, contiguous sequences, the hash chain from the standby's own
// head) and appends them with storage's AppendFrames. It is also the
// standby store's Replicator: every write is refused (503) with a reason.
type Follower struct {
	cfg     Config
	st      *storage.Store
	c       *conn
	storeID string
	dir     string

	streamHead atomic.Uint64 // last record the stream has (polled)
	lastMsg    atomic.Uint64 // stream sequence of the last message applied
	failure    atomic.Pointer[string]
	promoted   atomic.Pointer[Publisher]

	mu     sync.Mutex
	delays []time.Duration // apply delay of recent records (record time → applied here)
	nDelay int

	promoteMu sync.Mutex // one promotion at a time (the admin's, the automatic one)
	watch     *leaseWatch

	aside  string // former data directory set aside by the rejoin ("" when none)
	upTo   uint64 // stop after this record (restore --to-seq); 0: follow forever
	cancel context.CancelFunc
	done   chan struct{}
}

// DiscoverStore returns the store id a standby of dir follows: the one in
// dir's IDENTITY, else storeID, else the only store on the stream.
func DiscoverStore(ctx context.Context, cfg Config, dir, storeID string) (string, error) {
	if b, err := os.ReadFile(filepath.Join(dir, "IDENTITY")); err == nil {
		var id struct {
			StoreID string `json:"store_id"`
		}
		if err := json.Unmarshal(b, &id); err != nil {
			return "", fmt.Errorf("%s/IDENTITY: %w", dir, err)
		}
		if storeID != "" && storeID != id.StoreID {
			return "", fmt.Errorf("%s holds store %s, not %s", dir, id.StoreID, storeID)
		}
		return id.StoreID, nil
	}
	if storeID != "" {
		return storeID, nil
	}
	cfg = cfg.withDefaults()
	c, err := dial(ctx, cfg, "pimvault discover", false)
	if err != nil {
		return "", err
	}
	defer c.close()
	info, err := c.stream.Info(ctx, jetstream.WithSubjectFilter(subjectPrefix+">"))
	if err != nil {
		return "", err
	}
	var ids []string
	for subj := range info.State.Subjects {
		ids = append(ids, subj[len(subjectPrefix):])
	}
	sort.Strings(ids)
	switch len(ids) {
	case 0:
		return "", fmt.Errorf("stream %s holds no store yet: start the primary first", cfg.Stream)
	case 1:
		return ids[0], nil
	}
	return "", fmt.Errorf("stream %s holds %d stores (%v): name one with --store-id", cfg.Stream, len(ids), ids)
}

// OpenStandby opens (creating it when needed) the standby store of storeID
// in dir and starts following the stream into it.
func OpenStandby(ctx context.Context, dir, storeID string, opts storage.Options, cfg Config) (*storage.Store, *Follower, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, nil, err
	}
	c, err := dial(ctx, cfg, "pimvault rejoin "+storeID, false)
	if err != nil {
		return nil, nil, err
	}
	if cfg.SeedBucket != "" {
		if err := seedStandby(ctx, c, cfg, dir, storeID); err != nil {
			c.close()
			return nil, nil, err
		}
	}
	if err := storage.PrepareStandbyDir(dir, storeID); err != nil {
		c.close()
		return nil, nil, err
	}
	aside, err := rejoin(ctx, c, dir, storeID, opts, cfg.Log)
	c.close()
	if err != nil {
		return nil, nil, fmt.Errorf("check the local journal against the stream: %w", err)
	}
	if aside != "" {
		if err := storage.PrepareStandbyDir(dir, storeID); err != nil {
			return nil, nil, err
		}
	}
	opts.Standby = true
	st, err := storage.Open(dir, opts)
	if err != nil {
		return nil, nil, err
	}
	f, err := StartFollower(ctx, st, cfg)
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	f.aside = aside
	return st, f, nil
}

// StartFollower starts following the stream into st, a store opened with
// storage.Options.Standby.
func StartFollower(ctx context.Context, st *storage.Store, cfg Config) (*Follower, error) {
	return startFollower(ctx, st, cfg, 0)
}

func startFollower(ctx context.Context, st *storage.Store, cfg Config, upTo uint64) (*Follower, error) {
	cfg = cfg.withDefaults()
	id := st.Identity().StoreID
	c, err := dial(ctx, cfg, "pimvault standby "+id, false)
	if err != nil {
		return nil, err
	}
	f := &Follower{cfg: c.cfg, st: st, c: c, storeID: id, dir: st.Dir(), upTo: upTo, delays: make([]time.Duration, 0, 4096), done: make(chan struct{})}
	st.SetReplicator(f)
	var rctx context.Context
	rctx, f.cancel = context.WithCancel(context.Background())
	go f.run(rctx)
	if cfg.AutoFailover && upTo == 0 {
		f.watch = startLeaseWatch(f)
	}
	cfg.Log.Info("replication: following the stream as a standby", "stream", cfg.Stream, "subject", Subject(id), "head", st.Head(), "auto_failover", cfg.AutoFailover)
	return f, nil
}

// Ready refuses every write on a standby.
func (f *Follower) Ready() error {
	if p := f.promoted.Load(); p != nil {
		return p.Ready()
	}
	return &storage.UnavailableError{Why: "this server is a standby (it follows the primary through stream " + f.cfg.Stream + "); write to the primary", RetryAfter: 30 * time.Second}
}

// Replicate is only called once the standby was promoted.
func (f *Follower) Replicate(first uint64, frames [][]byte) error {
	if p := f.promoted.Load(); p != nil {
		return p.Replicate(first, frames)
	}
	return f.Ready()
}

func (f *Follower) setFailure(err error) {
	why := err.Error()
	if old := f.failure.Swap(&why); old == nil || *old != why {
		f.cfg.Log.Error("replication: standby stopped applying the stream", "err", err)
	}
}

func (f *Follower) run(ctx context.Context) {
	defer close(f.done)
	go f.pollHead(ctx)
	for ctx.Err() == nil {
		err := f.follow(ctx)
		if ctx.Err() != nil || errors.Is(err, errReachedTarget) {
			return
		}
		if err != nil {
			f.setFailure(err)
			if errors.Is(err, storage.ErrCorrupt) || errors.Is(err, errGap) {
				return // needs an operator; status says why
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
}

var (
	errGap           = errors.New("records missing from the stream")
	errReachedTarget = errors.New("reached the record to stop at")
)

// startSeq is the stream sequence to read from: after the hinted message
// when it holds the standby's head, else the subject's start.
func (f *Follower) startSeq(ctx context.Context) uint64 {
	head := f.st.Head()
	if head == 0 {
		return 1
	}
	b, err := os.ReadFile(filepath.Join(f.dir, followHint))
	var h hint
	if err != nil || json.Unmarshal(b, &h) != nil || h.RecordSeq != head {
		return 1
	}
	cctx, cancel := context.WithTimeout(ctx, f.cfg.Timeout)
	defer cancel()
	m, err := f.c.stream.GetMsg(cctx, h.StreamSeq)
	if err != nil || m.Subject != Subject(f.storeID) || lastRecordOf(m.Header) != head {
		return 1
	}
	return h.StreamSeq + 1
}

// follow reads the subject from the standby's position until an error.
func (f *Follower) follow(ctx context.Context) error {
	cons, err := f.c.stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{Subject(f.storeID)},
		DeliverPolicy:  jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:    f.startSeq(ctx),
	})
	if err != nil {
		return fmt.Errorf("consumer: %w", err)
	}
	it, err := cons.Messages()
	if err != nil {
		return fmt.Errorf("consumer: %w", err)
	}
	defer it.Stop()
	go func() { <-ctx.Done(); it.Stop() }()
	lastHint := time.Now()
	for {
		m, err := it.Next()
		if err != nil {
			return err
		}
		md, err := m.Metadata()
		if err != nil {
			return err
		}
		if err := f.apply(ctx, m.Headers(), m.Data(), md.Sequence.Stream); err != nil {
			return err
		}
		if f.failure.Load() != nil {
			f.failure.Store(nil)
			f.cfg.Log.Info("replication: standby applying the stream again", "head", f.st.Head())
		}
		if f.upTo > 0 && f.st.Head() >= f.upTo {
			return errReachedTarget
		}
		if time.Since(lastHint) > time.Second {
			f.writeHint()
			lastHint = time.Now()
		}
	}
}

// apply checks one message and appends the records the standby lacks.
func (f *Follower) apply(ctx context.Context, h map[string][]string, data []byte, streamSeq uint64) error {
	frames, err := parseMessage(f.storeID, h, data)
	if err != nil {
		return fmt.Errorf("stream message %d: %w", streamSeq, err)
	}
	head := f.st.Head()
	for len(frames) > 0 && frames[0].Seq <= head {
		frames = frames[1:]
	}
	for f.upTo > 0 && len(frames) > 0 && frames[len(frames)-1].Seq > f.upTo {
		frames = frames[:len(frames)-1]
	}
	if len(frames) == 0 {
		f.lastMsg.Store(streamSeq)
		return nil
	}
	if frames[0].Seq != head+1 {
		return fmt.Errorf("stream message %d starts at record %d but the standby is at %d: %w (a stream trimmed below a snapshot in an object store bucket: restore with 'pimvault restore --from-nats-object nats://…/BUCKET --out DIR', then follow from DIR)", streamSeq, frames[0].Seq, head, errGap)
	}
	if _, err := f.st.AppendFrames(ctx, frames); err != nil {
		return fmt.Errorf("stream message %d: %w", streamSeq, err)
	}
	f.lastMsg.Store(streamSeq)
	now := time.Now()
	f.mu.Lock()
	for _, fr := range frames {
		d := now.Sub(time.Unix(0, fr.Time))
		if len(f.delays) < cap(f.delays) {
			f.delays = append(f.delays, d)
		} else {
			f.delays[f.nDelay%cap(f.delays)] = d
		}
		f.nDelay++
	}
	f.mu.Unlock()
	if last := frames[len(frames)-1].Seq; last > f.streamHead.Load() {
		f.streamHead.Store(last)
	}
	return nil
}

func (f *Follower) writeHint() {
	b, _ := json.Marshal(hint{StreamSeq: f.lastMsg.Load(), RecordSeq: f.st.Head()})
	tmp := filepath.Join(f.dir, followHint+".tmp")
	if os.WriteFile(tmp, b, 0o600) == nil {
		os.Rename(tmp, filepath.Join(f.dir, followHint))
	}
}

// pollHead learns the last record the stream has, for the lag.
func (f *Follower) pollHead(ctx context.Context) {
	t := time.NewTicker(500 * time.Millisecond)
	defer t.Stop()
	for {
		if last, _, err := f.c.lastRecord(ctx, f.storeID); err == nil && last > f.streamHead.Load() {
			f.streamHead.Store(last)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// lastRecord returns the last record sequence the stream has for storeID
// and the stream sequence of its message (0, 0 when none).
func (c *conn) lastRecord(ctx context.Context, storeID string) (uint64, uint64, error) {
	cctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	m, err := c.stream.GetLastMsgForSubject(cctx, Subject(storeID))
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return 0, 0, nil
	}
	if err != nil {
		return 0, 0, err
	}
	return lastRecordOf(m.Header), m.Sequence, nil
}

// Lag is how far the standby is behind the stream.
type Lag struct {
	Records  uint64        // records the stream has that the standby has not applied
	P50, P99 time.Duration // apply delay (record written on the primary → applied here) of recent records
	Samples  int
}

// Lag returns the current lag and the recent apply delays.
func (f *Follower) Lag() Lag {
	var l Lag
	if sh, h := f.streamHead.Load(), f.st.Head(); sh > h {
		l.Records = sh - h
	}
	f.mu.Lock()
	ds := append([]time.Duration(nil), f.delays...)
	f.mu.Unlock()
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	if l.Samples = len(ds); l.Samples > 0 {
		l.P50, l.P99 = ds[len(ds)/2], ds[len(ds)*99/100]
	}
	return l
}

// WaitFor waits until the standby has applied record seq.
func (f *Follower) WaitFor(ctx context.Context, seq uint64) error {
	for f.st.Head() < seq {
		if w := f.failure.Load(); w != nil && f.isStopped() {
			return errors.New(*w)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("standby at %d, waiting for %d: %w", f.st.Head(), seq, ctx.Err())
		case <-time.After(5 * time.Millisecond):
		}
	}
	return nil
}

func (f *Follower) isStopped() bool {
	select {
	case <-f.done:
		return true
	default:
		return false
	}
}

// PromoteAdmin is Promote for the admin socket.
func (f *Follower) PromoteAdmin(ctx context.Context, force bool) (string, error) {
	rep, err := f.Promote(ctx, force)
	if err != nil {
		return "", err
	}
	return rep.String(), nil
}

// Status describes the standby for 'pimvault status'.
func (f *Follower) Status() string {
	if p := f.promoted.Load(); p != nil {
		return p.Status()
	}
	l := f.Lag()
	s := fmt.Sprintf("replication: standby, stream %s, subject %s\nstandby lag: %d records (stream has %d, applied %d)\n",
		f.cfg.Stream, Subject(f.storeID), l.Records, f.streamHead.Load(), f.st.Head())
	if l.Samples > 0 {
		s += fmt.Sprintf("standby apply delay over the last %d records: p50 %s, p99 %s\n", l.Samples, l.P50.Round(time.Microsecond), l.P99.Round(time.Microsecond))
	}
	if w := f.failure.Load(); w != nil {
		s += "standby error: " + *w + "\n"
	}
	if f.aside != "" {
		s += "kept aside at rejoin (records never replicated): " + f.aside + "\n"
	}
	if w := f.watch; w != nil {
		s += fmt.Sprintf("auto-failover: on (promotes %s after the primary's lease expired; %d tried, %d won by another server)\n",
			f.cfg.AutoFailoverGrace, w.attempts.Load(), w.lost.Load())
	}
	return s
}

// stopFollowing ends the read loop (promote, Close).
func (f *Follower) stopFollowing() {
	f.cancel()
	<-f.done
	f.writeHint()
}

// Close stops following (or, once promoted, publishing) and disconnects.
func (f *Follower) Close() error {
	f.watch.stop()
	if p := f.promoted.Load(); p != nil {
		return p.Close()
	}
	f.stopFollowing()
	f.c.close()
	return nil
}
