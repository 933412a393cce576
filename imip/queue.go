package imip

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/textproto"
	"time"

	"github.com/pimvault/pimvault/storage"
)

// Outbox is the part of the store the queue reads and writes.
type Outbox interface {
	Outbox(principal string) ([]storage.OutboxEntry, error)
	UpdateOutbox(ctx context.Context, principal string, set []storage.OutboxEntry, done []string) error
}

// Sender hands one message to a relay (SMTP implements it).
type Sender interface {
	Send(ctx context.Context, from string, to []string, msg []byte) error
}

// The outcomes a queue reports to Observe and Settle.
const (
	OutcomeSent   = "sent"   // the relay took the message
	OutcomeFailed = "failed" // given up: refused by the relay, or out of attempts or time
	OutcomeRetry  = "retry"  // not taken this time; tried again later
)

// Defaults of Queue's bounds.
const (
	DefaultMaxAttempts = 10
	DefaultMaxAge      = 48 * time.Hour
	DefaultMinBackoff  = 30 * time.Second
	DefaultMaxBackoff  = 2 * time.Hour
	DefaultPoll        = 10 * time.Second
)

// Queue delivers the store's outbox: each due entry is sent; a sent entry
// is settled (its sender's copy records SCHEDULE-STATUS 1.1 and the entry
// leaves the outbox); a failed attempt is retried with exponential backoff
// and jitter until MaxAttempts or MaxAge, then settled as failed (5.1). A
// relay's permanent refusal (a 5xx reply) fails at once. Delivery is at
// least once: a crash between the relay's acceptance and the settling
// record sends the message again on the next start, with the same
// Message-ID, so a receiver can spot the duplicate.
type Queue struct {
	Store  Outbox
	Mailer Sender
	// Settle records an entry's final outcome (OutcomeSent or
	// OutcomeFailed) and takes it out of the outbox. Nil: only taken out.
	Settle func(ctx context.Context, e storage.OutboxEntry, outcome string) error
	// Observe is told each attempt's outcome (metrics); may be nil.
	Observe func(outcome string)
	// Active, when set, says whether this process may send now: false on
	// a standby, or while the store refuses writes (a message sent that
	// could not be recorded as sent would go out again).
	Active func() bool
	Log    *slog.Logger

	MaxAttempts            int
	MaxAge                 time.Duration
	MinBackoff, MaxBackoff time.Duration
	Poll                   time.Duration // how often the outbox is read when not kicked

	kick chan struct{}
}

// NewQueue returns a queue with the default bounds.
func NewQueue(store Outbox, mailer Sender, log *slog.Logger) *Queue {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Queue{Store: store, Mailer: mailer, Log: log, MaxAttempts: DefaultMaxAttempts, MaxAge: DefaultMaxAge,
		MinBackoff: DefaultMinBackoff, MaxBackoff: DefaultMaxBackoff, Poll: DefaultPoll, kick: make(chan struct{}, 1)}
}

// Kick wakes the queue: a change queued a message.
func (q *Queue) Kick() {
	if q == nil {
		return
	}
	select {
	case q.kick <- struct{}{}:
	default:
	}
}

// Run delivers until ctx ends. Its first pass tries every entry at once,
// whatever its next attempt time: a restart is when a relay or its address
// was fixed.
func (q *Queue) Run(ctx context.Context) {
	all := true
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-q.kick:
		}
		if q.Active == nil || q.Active() {
			if _, err := q.RunOnce(ctx, time.Now(), all); err != nil && ctx.Err() == nil {
				// A newer entry or a store error: nothing is skipped or
				// dropped; the queue waits and reads again.
				q.Log.Error("iMIP queue", "err", err)
			}
			all = false
		}
		if !t.Stop() {
			select {
			case <-t.C:
			default:
			}
		}
		t.Reset(q.Poll)
	}
}

// RunOnce makes one attempt at every entry due at now (every entry with
// all) and returns how many it tried.
func (q *Queue) RunOnce(ctx context.Context, now time.Time, all bool) (int, error) {
	es, err := q.Store.Outbox("")
	if err != nil {
		return 0, err
	}
	tried := 0
	for _, e := range es {
		if ctx.Err() != nil {
			return tried, ctx.Err()
		}
		if !all && e.Next.After(now) {
			continue
		}
		tried++
		down, err := q.attempt(ctx, e, now)
		if err != nil {
			return tried, err
		}
		if down {
			// The relay cannot be reached: the rest wait for the next
			// pass instead of each waiting out a connection timeout.
			break
		}
	}
	return tried, nil
}

// attempt sends one entry and records what happened; down reports that
// the relay could not be reached at all.
func (q *Queue) attempt(ctx context.Context, e storage.OutboxEntry, now time.Time) (down bool, _ error) {
	err := q.Mailer.Send(ctx, e.Envelope, []string{e.To}, e.Message)
	if ctx.Err() != nil {
		return false, ctx.Err() // shutting down: the entry stays as it was
	}
	if err == nil {
		q.observe(OutcomeSent)
		q.Log.Info("iMIP mail sent", "user", e.Principal, "to", e.To, "method", e.Method, "message_id", e.MessageID, "attempts", e.Attempts+1)
		return false, q.settle(ctx, e, OutcomeSent)
	}
	down = unreachable(err)
	e.Attempts++
	e.LastError = err.Error()
	if len(e.LastError) > 500 {
		e.LastError = e.LastError[:500]
	}
	if permanent(err) || e.Attempts >= q.MaxAttempts || now.Sub(e.Created) >= q.MaxAge {
		q.observe(OutcomeFailed)
		q.Log.Warn("iMIP mail given up", "user", e.Principal, "to", e.To, "method", e.Method, "attempts", e.Attempts, "err", err)
		return down, q.settle(ctx, e, OutcomeFailed)
	}
	e.Next = now.Add(q.backoff(e.Attempts))
	q.observe(OutcomeRetry)
	q.Log.Warn("iMIP mail not sent; will retry", "user", e.Principal, "to", e.To, "attempts", e.Attempts, "next", e.Next.Format(time.RFC3339), "err", err)
	return down, q.Store.UpdateOutbox(ctx, e.Principal, []storage.OutboxEntry{e}, nil)
}

// unreachable reports whether err says the relay was not reached: a
// connection refused or timed out, as opposed to a refusal of one message.
func unreachable(err error) bool {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return true
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

func (q *Queue) settle(ctx context.Context, e storage.OutboxEntry, outcome string) error {
	if q.Settle != nil {
		if err := q.Settle(ctx, e, outcome); err == nil {
			return nil
		} else {
			q.Log.Warn("iMIP outcome not recorded on the organizer's copy", "user", e.Principal, "object", e.Object, "err", err)
		}
	}
	return q.Store.UpdateOutbox(ctx, e.Principal, nil, []string{e.ID})
}

func (q *Queue) observe(outcome string) {
	if q.Observe != nil {
		q.Observe(outcome)
	}
}

// backoff is the wait before attempt n+1: MinBackoff doubled per attempt,
// at most MaxBackoff, less up to a fifth at random so that messages queued
// together do not retry together.
func (q *Queue) backoff(n int) time.Duration {
	d := q.MinBackoff
	for i := 1; i < n && d < q.MaxBackoff; i++ {
		d *= 2
	}
	d = min(d, q.MaxBackoff)
	return d - time.Duration(rand.Int64N(int64(d)/5+1))
}

// permanent reports whether a relay refused for good (a 5xx reply).
func permanent(err error) bool {
	var te *textproto.Error
	return errors.As(err, &te) && te.Code >= 500 && te.Code < 600
}
