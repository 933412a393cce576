package replication

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pimvault/pimvault/replication/natstest"
	"github.com/pimvault/pimvault/storage"
)

// commitEventually retries one write until it is acknowledged or the
// deadline passes (a stream electing a new leader refuses for a moment).
func commitEventually(t *testing.T, s *storage.Store, id int, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		_, err := s.Commit(context.Background(), contact(id))
		if err == nil {
			return
		}
		if !errors.Is(err, storage.ErrUnavailable) {
			t.Fatalf("write %d: want success or ErrUnavailable, got %v", id, err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("write %d not accepted within %s: %v", id, within, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestSyncSurvivesOneNATSNodeNotTwo: with one of three NATS nodes down,
// sync writes go on; with two down they are refused with ErrUnavailable
// (nothing acknowledged); when the nodes return, writes resume and a
// standby built from the stream alone equals the primary.
func TestSyncSurvivesOneNATSNodeNotTwo(t *testing.T) {
	if testing.Short() {
		t.Skip("stops and restarts NATS nodes (about 20 s); skipped with -short")
	}
	c := natstest.Start(t, 3)
	cfg := testConfig(t, c, Sync)
	ps, err := storage.Open(t.TempDir(), storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer ps.Close()
	pub, err := StartPublisher(context.Background(), ps, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	seed(t, ps)
	acked, errs := writers(ps, 4, 10, 0)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	c.Stop(0)
	commitEventually(t, ps, 100, 15*time.Second)
	more, errs := writers(ps, 4, 10, 200)
	if len(errs) > 0 {
		t.Fatalf("one NATS node down: sync writes failed: %v", errs)
	}
	acked = append(append(acked, 100), more...)

	c.Stop(1)
	refused := false
	for i := 0; i < 50 && !refused; i++ {
		res, err := ps.Commit(context.Background(), contact(300+i))
		switch {
		case errors.Is(err, storage.ErrUnavailable):
			refused = true
			var ue *storage.UnavailableError
			if !errors.As(err, &ue) || ue.RetryAfter <= 0 {
				t.Fatalf("refusal without a retry time: %v", err)
			}
		case err != nil:
			t.Fatalf("two NATS nodes down: want ErrUnavailable, got %v", err)
		default:
			// The majority may not have noticed yet; this one was acked.
			acked = append(acked, 300+i)
			_ = res
		}
	}
	if !refused {
		t.Fatal("two of three NATS nodes down: sync writes still acknowledged")
	}
	if !strings.Contains(pub.Status(), "stream unreachable") {
		t.Fatalf("status does not say why writes are refused:\n%s", pub.Status())
	}
	c.Restart(0)
	c.Restart(1)
	commitEventually(t, ps, 400, 30*time.Second)
	acked = append(acked, 400)
	requireObjects(t, ps, acked)

	// The stream holds everything: a standby from it alone equals the primary.
	ss, fol, err := OpenStandby(context.Background(), filepath.Join(t.TempDir(), "sb"), ps.Identity().StoreID, storage.Options{}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer ss.Close()
	defer fol.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := fol.WaitFor(ctx, ps.Head()); err != nil {
		t.Fatal(err)
	}
	h1, _ := stateHash(t, ps)
	h2, _ := stateHash(t, ss)
	if h1 != h2 {
		t.Fatalf("standby from the stream %s, primary %s", h2, h1)
	}
	requireObjects(t, ss, acked)
}

// TestAsyncLagBound: an async primary keeps taking writes while the stream
// is down until its unreplicated tail reaches --max-lag, then refuses;
// when the stream returns, the tail drains and writes resume.
func TestAsyncLagBound(t *testing.T) {
	c := natstest.Start(t, 1)
	cfg := testConfig(t, c, Async)
	cfg.MaxLagRecords, cfg.MaxLagTime, cfg.AllowSingleReplica = 20, time.Hour, true
	// The lag bound must stop the writes, not the lease running out while
	// the stream is down (¾ of a short TTL passes quickly on a loaded
	// machine).
	cfg.LeaseTTL = time.Minute
	ps, err := storage.Open(t.TempDir(), storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer ps.Close()
	pub, err := StartPublisher(context.Background(), ps, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	seed(t, ps)
	c.Stop(0)
	n := 0
	var lastErr error
	for i := 0; i < 100; i++ {
		if _, err := ps.Commit(context.Background(), contact(i)); err != nil {
			lastErr = err
			break
		}
		n++
	}
	if !errors.Is(lastErr, storage.ErrUnavailable) {
		t.Fatalf("async with the stream down: want ErrUnavailable after the lag bound, got %v after %d writes", lastErr, n)
	}
	if lag := ps.Head() - pub.published.Load(); n < 15 || lag > cfg.MaxLagRecords+1 {
		t.Fatalf("async accepted %d writes with the stream down, unreplicated tail %d (bound %d)", n, lag, cfg.MaxLagRecords)
	}
	c.Restart(0)
	commitEventually(t, ps, 500, 30*time.Second)
	deadline := time.Now().Add(10 * time.Second)
	for pub.published.Load() != ps.Head() && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if pub.published.Load() != ps.Head() {
		t.Fatalf("async tail did not drain: stream %d, head %d", pub.published.Load(), ps.Head())
	}
}
