package admit

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"
)

// Priority orders waiters: High is served before Low.
type Priority int

const (
	// High: clients already signed in (their credentials are cached) and
	// writes.
	High Priority = iota
	// Low: requests that still need a password check.
	Low
)

// Config sizes a Gate. Zero or negative values are replaced by 1 (Limit,
// Queue), by no per-account limit (PerAccount), and by a second (Wait).
type Config struct {
	Limit      int           // tickets held at once
	PerAccount int           // tickets held at once by one account; 0: no limit
	Queue      int           // requests waiting at once
	Wait       time.Duration // longest wait in the queue
	MaxRetry   time.Duration // the longest Retry-After (default a minute)
}

// Busy is the refusal: come back after RetryAfter.
type Busy struct {
	RetryAfter time.Duration
	Why        string
}

func (b *Busy) Error() string {
	return fmt.Sprintf("busy (%s); retry after %v", b.Why, b.RetryAfter)
}

// Seconds is RetryAfter in whole seconds, at least 1 (the Retry-After value).
func (b *Busy) Seconds() int {
	s := int((b.RetryAfter + time.Second - 1) / time.Second)
	if s < 1 {
		s = 1
	}
	return s
}

// Ticket is one admitted request. Release frees its slot; calling it again
// does nothing.
type Ticket struct {
	g       *Gate
	account string
	once    sync.Once
}

// Release frees the ticket's slot for the next waiter.
func (t *Ticket) Release() {
	if t == nil {
		return
	}
	t.once.Do(func() { t.g.release(t.account) })
}

type waiter struct {
	prio    Priority
	account string
	ready   chan struct{} // closed when granted or pushed out
	granted bool
	pushed  bool
}

// Gate is a bounded set of slots with a short, bounded, prioritised queue.
type Gate struct {
	cfg Config

	mu         sync.Mutex
	running    int
	perAccount map[string]int
	queue      []*waiter // High ones before Low ones, each in arrival order
	meter      meter
	now        func() time.Time
}

// NewGate returns a gate with the given limits.
func NewGate(cfg Config) *Gate {
	if cfg.Limit < 1 {
		cfg.Limit = 1
	}
	if cfg.Queue < 1 {
		cfg.Queue = 1
	}
	if cfg.PerAccount < 0 {
		cfg.PerAccount = 0
	}
	if cfg.Wait <= 0 {
		cfg.Wait = time.Second
	}
	if cfg.MaxRetry <= 0 {
		cfg.MaxRetry = time.Minute
	}
	// Until completions are measured, assume a slot finishes a request in
	// a tenth of a second: a storm in the first second is then spread over
	// what the gate can plausibly do, not over the longest Retry-After.
	return &Gate{cfg: cfg, perAccount: map[string]int{}, now: time.Now, meter: meter{rate: float64(10 * cfg.Limit)}}
}

// Config returns the gate's limits after defaults.
func (g *Gate) Config() Config { return g.cfg }

// roomFor reports whether account may take a slot now. g.mu is held.
func (g *Gate) roomFor(account string) bool {
	if g.running >= g.cfg.Limit {
		return false
	}
	return account == "" || g.cfg.PerAccount == 0 || g.perAccount[account] < g.cfg.PerAccount
}

// take gives account a slot. g.mu is held and roomFor was true.
func (g *Gate) take(account string) {
	g.running++
	if account != "" {
		g.perAccount[account]++
	}
}

// Acquire admits a request of account (may be "": no per-account limit)
// at prio, waiting at most the gate's Wait and never past ctx. The error is
// a *Busy.
func (g *Gate) Acquire(ctx context.Context, prio Priority, account string) (*Ticket, error) {
	g.mu.Lock()
	if g.roomFor(account) && !g.queuedAhead(prio, account) {
		g.take(account)
		g.mu.Unlock()
		return &Ticket{g: g, account: account}, nil
	}
	if len(g.queue) >= g.cfg.Queue && !g.pushOutLow(prio) {
		busy := g.refuse("queue full")
		g.mu.Unlock()
		return nil, busy
	}
	w := &waiter{prio: prio, account: account, ready: make(chan struct{})}
	g.enqueue(w)
	g.mu.Unlock()

	timer := time.NewTimer(g.cfg.Wait)
	defer timer.Stop()
	select {
	case <-w.ready:
	case <-timer.C:
	case <-ctx.Done():
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if w.granted {
		return &Ticket{g: g, account: account}, nil
	}
	if !w.pushed {
		g.remove(w)
	}
	why := "waited too long"
	if w.pushed {
		why = "pushed out by a signed-in client"
	} else if ctx.Err() != nil {
		why = "client left"
	}
	return nil, g.refuse(why)
}

// queuedAhead reports whether a waiter that could run now would be passed
// by a new arrival at prio. Waiters blocked only by their own account's
// limit do not hold others back. g.mu is held.
func (g *Gate) queuedAhead(prio Priority, account string) bool {
	for _, w := range g.queue {
		if w.prio <= prio && g.roomFor(w.account) {
			return true
		}
	}
	return false
}

// enqueue puts w after every waiter of its priority or a higher one.
func (g *Gate) enqueue(w *waiter) {
	i := len(g.queue)
	for i > 0 && g.queue[i-1].prio > w.prio {
		i--
	}
	g.queue = append(g.queue, nil)
	copy(g.queue[i+1:], g.queue[i:])
	g.queue[i] = w
}

func (g *Gate) remove(w *waiter) {
	for i, x := range g.queue {
		if x == w {
			g.queue = append(g.queue[:i], g.queue[i+1:]...)
			return
		}
	}
}

// pushOutLow makes room in a full queue for a High arrival by refusing the
// newest Low waiter. g.mu is held.
func (g *Gate) pushOutLow(prio Priority) bool {
	if prio != High || len(g.queue) == 0 {
		return false
	}
	last := g.queue[len(g.queue)-1]
	if last.prio != Low {
		return false
	}
	g.queue = g.queue[:len(g.queue)-1]
	last.pushed = true
	close(last.ready)
	return true
}

func (g *Gate) release(account string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.running--
	if account != "" {
		if g.perAccount[account] <= 1 {
			delete(g.perAccount, account)
		} else {
			g.perAccount[account]--
		}
	}
	g.meter.add(g.now(), 1, 0)
	g.dispatch()
}

// dispatch grants slots to waiters in queue order while there is room.
// g.mu is held.
func (g *Gate) dispatch() {
	for i := 0; i < len(g.queue) && g.running < g.cfg.Limit; {
		w := g.queue[i]
		if !g.roomFor(w.account) {
			i++
			continue
		}
		g.queue = append(g.queue[:i], g.queue[i+1:]...)
		g.take(w.account)
		w.granted = true
		close(w.ready)
	}
}

// refuse counts a refusal and returns it with a jittered Retry-After: the
// backlog (waiting plus recently refused) over the recent completion rate,
// at least one second and at most MaxRetry. g.mu is held.
func (g *Gate) refuse(why string) *Busy {
	now := g.now()
	g.meter.add(now, 0, 1)
	rate, refused := g.meter.read(now)
	if floor := float64(g.cfg.Limit); rate < floor {
		rate = floor // every slot finishes at least one request a second
	}
	spread := time.Duration(float64(len(g.queue)+refused) / rate * float64(time.Second))
	if spread < time.Second {
		spread = time.Second
	}
	if spread > g.cfg.MaxRetry-time.Second {
		spread = g.cfg.MaxRetry - time.Second
	}
	retry := time.Second + time.Duration(rand.Int64N(int64(spread)+1))
	return &Busy{RetryAfter: retry, Why: why}
}

// Stats is a snapshot of a gate, for tests and metrics.
type Stats struct {
	Running, Waiting, Accounts int
}

// Stats returns the gate's current counts.
func (g *Gate) Stats() Stats {
	g.mu.Lock()
	defer g.mu.Unlock()
	return Stats{Running: g.running, Waiting: len(g.queue), Accounts: len(g.perAccount)}
}
