package replication

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/pimvault/pimvault/replication/natstest"
	"github.com/pimvault/pimvault/storage"
)

func testLog(t *testing.T) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func testConfig(t *testing.T, c *natstest.Cluster, mode Mode) Config {
	return Config{URLs: c.URLs(), Mode: mode, Timeout: 2 * time.Second, LeaseTTL: 3 * time.Second, Log: testLog(t)}
}

func contact(i int) storage.Change {
	uid := fmt.Sprintf("u%d", i)
	return storage.Change{Op: storage.OpPut, Principal: "alice", Collection: "contacts", Name: uid + ".vcf",
		Body: []byte(fmt.Sprintf("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:%s\r\nFN:P %d\r\nEND:VCARD\r\n", uid, i)), Meta: storage.ObjectMeta{UID: uid, Component: "VCARD"}}
}

func seed(t *testing.T, s *storage.Store) {
	t.Helper()
	ctx := context.Background()
	if _, err := s.Commit(ctx, storage.Change{Op: storage.OpPutPrincipal, Principal: "alice", Body: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Commit(ctx, storage.Change{Op: storage.OpCreateCollection, Principal: "alice", Collection: "contacts", Kind: "addressbook"}); err != nil {
		t.Fatal(err)
	}
}

func stateHash(t *testing.T, s *storage.Store) (string, uint64) {
	t.Helper()
	h, seq, err := s.StateHash()
	if err != nil {
		t.Fatal(err)
	}
	return h, seq
}

func verifyOK(t *testing.T, s *storage.Store) {
	t.Helper()
	rep, err := s.Verify(context.Background())
	if err != nil || !rep.OK() {
		t.Fatalf("verify: %v\n%v", err, rep)
	}
}

// writers runs n goroutines that each commit k contacts and returns the
// numbers of the acknowledged ones and the errors of the others.
func writers(s *storage.Store, n, k, base int) (acked []int, errs []error) {
	var mu sync.Mutex
	var wg sync.WaitGroup
	for w := 0; w < n; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < k; i++ {
				id := base + w*k + i
				_, err := s.Commit(context.Background(), contact(id))
				mu.Lock()
				if err == nil {
					acked = append(acked, id)
				} else {
					errs = append(errs, err)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return acked, errs
}

func requireObjects(t *testing.T, s *storage.Store, ids []int) {
	t.Helper()
	for _, id := range ids {
		want := contact(id)
		obj, err := s.Get("alice", "contacts", want.Name)
		if err != nil {
			t.Fatalf("acknowledged object %s: %v", want.Name, err)
		}
		if string(obj.Body) != string(want.Body) {
			t.Fatalf("object %s differs", want.Name)
		}
	}
}

// TestSyncPrimaryStandbyPromote: a sync primary under 8 writers, a standby
// built from the stream alone with the same state hash; the primary
// closes without releasing (its lease runs out), the standby is promoted,
// takes writes, and the old primary, started again, is fenced.
func TestSyncPrimaryStandbyPromote(t *testing.T) {
	c := natstest.Start(t, 3)
	cfg := testConfig(t, c, Sync)
	pdir, sdir := t.TempDir(), filepath.Join(t.TempDir(), "standby")
	ps, err := storage.Open(pdir, storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	pub, err := StartPublisher(context.Background(), ps, cfg)
	if err != nil {
		t.Fatalf("start publisher: %v", err)
	}
	seed(t, ps)
	acked, errs := writers(ps, 8, 25, 0)
	if len(errs) > 0 || len(acked) != 200 {
		t.Fatalf("sync writes with a healthy cluster: %d acked, errors %v", len(acked), errs)
	}
	if got := pub.published.Load(); got != ps.Head() {
		t.Fatalf("stream has %d, head %d: sync mode acknowledged unreplicated records", got, ps.Head())
	}
	id, err := DiscoverStore(context.Background(), cfg, sdir, "")
	if err != nil || id != ps.Identity().StoreID {
		t.Fatalf("discover store: %q, %v", id, err)
	}
	ss, fol, err := OpenStandby(context.Background(), sdir, id, storage.Options{}, cfg)
	if err != nil {
		t.Fatalf("open standby: %v", err)
	}
	defer ss.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := fol.WaitFor(ctx, ps.Head()); err != nil {
		t.Fatal(err)
	}
	h1, q1 := stateHash(t, ps)
	h2, q2 := stateHash(t, ss)
	if h1 != h2 || q1 != q2 {
		t.Fatalf("standby %s at %d, primary %s at %d", h2, q2, h1, q1)
	}
	if _, err := ss.Commit(context.Background(), contact(9999)); !errors.Is(err, storage.ErrUnavailable) {
		t.Fatalf("a write on the standby: want ErrUnavailable, got %v", err)
	}
	// More writes while the standby follows live.
	acked2, errs := writers(ps, 4, 10, 1000)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	acked = append(acked, acked2...)
	if err := fol.WaitFor(ctx, ps.Head()); err != nil {
		t.Fatal(err)
	}
	if l := fol.Lag(); l.Samples == 0 {
		t.Fatalf("no apply delays recorded: %+v", l)
	}
	// The primary dies without releasing its lease: stop its renewals
	// and its connection as a crash would.
	pub.lease.mu.Lock()
	pub.lease.lost = errors.New("simulated crash")
	pub.lease.mu.Unlock()
	close(pub.stop)
	<-pub.done
	pub.c.close()
	oldHead := ps.Head()
	ps.Close()

	rep, err := fol.Promote(ctx, false)
	if err != nil {
		t.Fatalf("promote: %v", err)
	}
	if rep.StreamHead != oldHead || rep.Head != oldHead+1 {
		t.Fatalf("promote report %+v, old primary's head %d", rep, oldHead)
	}
	requireObjects(t, ss, acked)
	acked3, errs := writers(ss, 4, 10, 2000)
	if len(errs) > 0 {
		t.Fatalf("writes on the promoted standby: %v", errs)
	}
	requireObjects(t, ss, acked3)
	verifyOK(t, ss)

	// The old primary comes back: it cannot take the lease while the new
	// primary holds it, and even by force its journal is behind the stream.
	ps, err = storage.Open(pdir, storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer ps.Close()
	if _, err := StartPublisher(context.Background(), ps, cfg); !errors.Is(err, ErrLeaseHeld) {
		t.Fatalf("old primary restarted: want ErrLeaseHeld, got %v", err)
	}
	conn, err := dial(context.Background(), withDefaultsT(cfg), "test", false)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.close()
	l, err := acquireLease(context.Background(), conn, ps.Identity().StoreID, cfg, true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := newPublisher(context.Background(), ps, conn, l); !errors.Is(err, ErrFenced) {
		t.Fatalf("old primary with a forced lease: want ErrFenced, got %v", err)
	}
	// The forced lease made the new primary lose its own: it refuses writes
	// within its renewal period instead of writing beside another.
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := ss.Commit(context.Background(), contact(5000))
		if errors.Is(err, storage.ErrUnavailable) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("new primary still writes after its lease was taken: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	l.release()
}

func withDefaultsT(c Config) Config { return c.withDefaults() }
