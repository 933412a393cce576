package imip_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/pimvault/pimvault/imip"
	"github.com/pimvault/pimvault/imip/imiptest"
	"github.com/pimvault/pimvault/storage"
)

// queueStore is a real store with account alice and a calendar.
func queueStore(t *testing.T) *storage.Store {
	t.Helper()
	st, err := storage.Open(t.TempDir(), storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ctx := context.Background()
	for _, c := range []storage.Change{
		{Op: storage.OpPutPrincipal, Principal: "alice", Body: []byte(`{}`)},
		{Op: storage.OpCreateCollection, Principal: "alice", Collection: "cal", Kind: "calendar"},
	} {
		if _, err := st.Commit(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	return st
}

func enqueue(t *testing.T, st *storage.Store, ids ...string) {
	t.Helper()
	var es []storage.OutboxEntry
	for _, id := range ids {
		es = append(es, storage.OutboxEntry{ID: id, Created: time.Now(), Envelope: "alice@example.org", To: id + "@elsewhere.test",
			Recipient: "mailto:" + id + "@elsewhere.test", Method: "REQUEST", MessageID: "<" + id + "@example.org>", Message: []byte("Subject: x\r\n\r\nx\r\n")})
	}
	if _, err := st.Commit(context.Background(), storage.Change{Op: storage.OpPut, Principal: "alice", Collection: "cal", Name: ids[0] + ".ics", Body: []byte("x"), Outbox: es}); err != nil {
		t.Fatal(err)
	}
}

// TestQueueBackoff: failed attempts wait longer each time, never more than
// MaxBackoff, with jitter; the entry is given up at MaxAttempts with
// Settle told "failed"; Observe sees every outcome.
func TestQueueBackoff(t *testing.T) {
	st := queueStore(t)
	enqueue(t, st, "a1")
	down := &imip.SMTP{Addr: "127.0.0.1:1", Insecure: true, Timeout: time.Second}
	q := imip.NewQueue(st, down, nil)
	q.MaxAttempts, q.MinBackoff, q.MaxBackoff = 6, time.Minute, 5*time.Minute
	var outcomes []string
	q.Observe = func(o string) { outcomes = append(outcomes, o) }
	var settled []string
	q.Settle = func(ctx context.Context, e storage.OutboxEntry, outcome string) error {
		settled = append(settled, e.ID+":"+outcome)
		return st.UpdateOutbox(ctx, e.Principal, nil, []string{e.ID})
	}
	ctx := context.Background()
	now := time.Now()
	var waits []time.Duration
	for i := 0; i < 5; i++ {
		if n, err := q.RunOnce(ctx, now, false); err != nil || n != 1 {
			t.Fatalf("attempt %d: %d %v", i+1, n, err)
		}
		es, _ := st.Outbox("alice")
		if len(es) != 1 || es[0].Attempts != i+1 {
			t.Fatalf("after attempt %d: %+v", i+1, es)
		}
		waits = append(waits, es[0].Next.Sub(now))
		now = es[0].Next
	}
	want := []time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute, 5 * time.Minute, 5 * time.Minute}
	for i, w := range waits {
		if w > want[i] || w < want[i]*4/5 {
			t.Errorf("wait %d: %v, want %v less at most a fifth", i+1, w, want[i])
		}
	}
	if _, err := q.RunOnce(ctx, now, false); err != nil {
		t.Fatal(err)
	}
	if n, _ := st.OutboxLen("alice"); n != 0 || len(settled) != 1 || settled[0] != "a1:failed" {
		t.Fatalf("after MaxAttempts: %d left, settled %v", n, settled)
	}
	if len(outcomes) != 6 || outcomes[0] != imip.OutcomeRetry || outcomes[5] != imip.OutcomeFailed {
		t.Errorf("outcomes %v", outcomes)
	}
}

// TestQueueRun: Run sends at once when started and when kicked, and sends
// nothing while Active says no (a standby).
func TestQueueRun(t *testing.T) {
	st := queueStore(t)
	relay, err := imiptest.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer relay.Close()
	enqueue(t, st, "r1")
	q := imip.NewQueue(st, &imip.SMTP{Addr: relay.Addr, Insecure: true, Timeout: 5 * time.Second}, nil)
	q.Poll = time.Hour
	active := make(chan bool, 1)
	active <- false
	q.Active = func() bool { v := <-active; active <- v; return v }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { q.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	time.Sleep(200 * time.Millisecond)
	q.Kick()
	time.Sleep(200 * time.Millisecond)
	if len(relay.Mails()) != 0 {
		t.Fatal("an inactive queue sent mail")
	}
	<-active
	active <- true
	q.Kick()
	waitFor(t, func() bool { return len(relay.Mails()) == 1 })
	enqueue(t, st, "r2")
	q.Kick()
	waitFor(t, func() bool { return len(relay.Mails()) == 2 })
	if n, _ := st.OutboxLen(""); n != 0 {
		t.Errorf("%d left after sending", n)
	}
}

// TestQueueNewerEntryStops: an entry of a newer format stops the pass with
// a *NewerError and nothing is sent or removed.
func TestQueueNewerEntryStops(t *testing.T) {
	q := imip.NewQueue(newerOutbox{}, senderFunc(func() error { t.Fatal("sent"); return nil }), nil)
	if _, err := q.RunOnce(context.Background(), time.Now(), true); !errors.Is(err, storage.ErrNewer) {
		t.Fatalf("RunOnce: %v, want ErrNewer", err)
	}
}

type newerOutbox struct{}

func (newerOutbox) Outbox(string) ([]storage.OutboxEntry, error) {
	_, err := storage.DecodeOutboxEntry("alice", "x", []byte("\x09{}"))
	return nil, err
}

func (newerOutbox) UpdateOutbox(context.Context, string, []storage.OutboxEntry, []string) error {
	return errors.New("must not be called")
}

type senderFunc func() error

func (f senderFunc) Send(context.Context, string, []string, []byte) error { return f() }

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
	}
}

// TestQueueStopsWhenRelayDown: when the relay cannot be reached, a pass
// stops after one attempt instead of waiting out every message's
// connection; the others keep their attempt count.
func TestQueueStopsWhenRelayDown(t *testing.T) {
	st := queueStore(t)
	enqueue(t, st, "d1", "d2", "d3")
	q := imip.NewQueue(st, &imip.SMTP{Addr: "127.0.0.1:1", Insecure: true, Timeout: time.Second}, nil)
	if n, err := q.RunOnce(context.Background(), time.Now(), true); err != nil || n != 1 {
		t.Fatalf("pass with the relay down: tried %d, %v; want 1", n, err)
	}
	es, _ := st.Outbox("alice")
	tried := 0
	for _, e := range es {
		tried += e.Attempts
	}
	if len(es) != 3 || tried != 1 {
		t.Errorf("entries %d, attempts %d; want 3 and 1", len(es), tried)
	}
}
