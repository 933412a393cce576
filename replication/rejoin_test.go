package replication

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pimvault/pimvault/replication/natstest"
	"github.com/pimvault/pimvault/storage"
)

// TestFormerPrimaryRejoins: a primary wrote records the stream never got,
// a standby was promoted and wrote its own; the former primary, started as
// a standby on its own directory, sets that directory aside (it still holds
// the unreplicated records), continues from the common record and reaches
// the new primary's state hash.
func TestFormerPrimaryRejoins(t *testing.T) {
	c := natstest.Start(t, 1)
	cfg := testConfig(t, c, Sync)
	cfg.AllowSingleReplica = true
	adir := filepath.Join(t.TempDir(), "a")
	a, err := storage.Open(adir, storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	pub, err := StartPublisher(context.Background(), a, cfg)
	if err != nil {
		t.Fatal(err)
	}
	seed(t, a)
	writers(a, 2, 10, 0)
	// The primary is cut off: three more records reach only its own journal.
	pub.lease.release()
	close(pub.stop)
	<-pub.done
	pub.c.close()
	a.SetReplicator(nil)
	for i := 100; i < 103; i++ {
		if _, err := a.Commit(context.Background(), contact(i)); err != nil {
			t.Fatal(err)
		}
	}
	aHead := a.Head()
	a.Close()

	ss, fol, err := OpenStandby(context.Background(), filepath.Join(t.TempDir(), "b"), "", storage.Options{}, cfg)
	if err == nil {
		t.Fatal("OpenStandby without a store id must fail")
	}
	id := readStoreID(t, adir)
	ss, fol, err = OpenStandby(context.Background(), filepath.Join(t.TempDir(), "b"), id, storage.Options{}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer ss.Close()
	defer fol.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := fol.Promote(ctx, false); err != nil {
		t.Fatal(err)
	}
	writers(ss, 2, 5, 200)

	a2, f2, err := OpenStandby(context.Background(), adir, id, storage.Options{}, cfg)
	if err != nil {
		t.Fatalf("former primary as standby: %v", err)
	}
	defer a2.Close()
	defer f2.Close()
	if err := f2.WaitFor(ctx, ss.Head()); err != nil {
		t.Fatal(err)
	}
	h1, q1 := stateHash(t, ss)
	h2, q2 := stateHash(t, a2)
	if h1 != h2 || q1 != q2 {
		t.Fatalf("rejoined %s at %d, primary %s at %d", h2, q2, h1, q1)
	}
	if !strings.Contains(f2.Status(), "kept aside") || f2.aside == "" {
		t.Fatalf("status does not name the directory set aside:\n%s", f2.Status())
	}
	// The directory set aside still holds the unreplicated records.
	old, err := storage.Open(f2.aside, storage.Options{Standby: true})
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	if old.Head() != aHead {
		t.Fatalf("set-aside directory at %d, the former primary was at %d", old.Head(), aHead)
	}
	if _, err := old.Get("alice", "contacts", contact(101).Name); err != nil {
		t.Fatalf("unreplicated record not kept aside: %v", err)
	}
	if _, err := a2.Get("alice", "contacts", contact(101).Name); err == nil {
		t.Fatal("the rejoined standby still has a record the stream never had")
	}
}

func readStoreID(t *testing.T, dir string) string {
	b, err := os.ReadFile(filepath.Join(dir, "IDENTITY"))
	if err != nil {
		t.Fatal(err)
	}
	i := strings.Index(string(b), `"store_id": "`)
	return string(b[i+13 : i+45])
}
