package replication

import (
	"context"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/pimvault/pimvault/replication/natstest"
	"github.com/pimvault/pimvault/storage"
)

// TestSnapshotBucketTrimRestore: a verified snapshot goes to a JetStream
// object store bucket (read back and verified before its tag is stored);
// the stream is trimmed below it; the stream alone no longer restores,
// and the bucket's snapshot plus the trimmed stream restores the store
// into an empty directory with the primary's state hash.
func TestSnapshotBucketTrimRestore(t *testing.T) {
	c := natstest.Start(t, 3)
	cfg := testConfig(t, c, Sync)
	ps, pub := startPrimary(t, cfg, 40)
	defer func() { pub.Close(); ps.Close() }()
	id := ps.Identity().StoreID
	ctx := context.Background()

	// Nothing in the bucket yet: nothing is trimmed.
	if seq, err := TrimStream(ctx, cfg, "PVSNAP", id); err == nil || seq != 0 {
		t.Fatalf("trim with no bucket: %d %v", seq, err)
	}
	snap := filepath.Join(t.TempDir(), "snap-1.db")
	info, err := ps.Snapshot(ctx, snap)
	if err != nil {
		t.Fatal(err)
	}
	up, err := UploadSnapshot(ctx, cfg, "PVSNAP", snap, t.TempDir())
	if err != nil {
		t.Fatalf("upload: %v", err)
	}
	if up.Info.Seq != info.Seq || !strings.HasPrefix(up.Name, id+"/") {
		t.Fatalf("uploaded %+v, snapshot at %d", up, info.Seq)
	}
	if _, errs := writers(ps, 4, 5, 500); len(errs) > 0 {
		t.Fatal(errs)
	}
	kept, err := TrimStream(ctx, cfg, "PVSNAP", id)
	if err != nil || kept != info.Seq {
		t.Fatalf("trim: kept from %d, %v; snapshot at %d", kept, err, info.Seq)
	}
	// The subject's first message now starts after the snapshot's records.
	conn, err := dial(ctx, withDefaultsT(cfg), "test", false)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.close()
	si, err := conn.stream.Info(ctx, jetstream.WithSubjectFilter(Subject(id)))
	if err != nil {
		t.Fatal(err)
	}
	first, err := conn.stream.GetMsg(ctx, si.State.FirstSeq)
	if err != nil {
		t.Fatal(err)
	}
	if f, _ := strconv.ParseUint(first.Header.Get(hdrFirst), 10, 64); f <= 1 || f > info.Seq+1 || lastRecordOf(first.Header) <= info.Seq {
		t.Fatalf("after the trim the first message holds records %d..%d; the snapshot is at %d", f, lastRecordOf(first.Header), info.Seq)
	}

	// The stream alone cannot rebuild the store any more.
	if _, err := RestoreFromStream(ctx, cfg, filepath.Join(t.TempDir(), "s"), id, 0, storage.Options{}); err == nil {
		t.Fatal("a restore from the trimmed stream alone succeeded")
	}
	out := filepath.Join(t.TempDir(), "restored")
	rep, err := RestoreFromObjectStore(ctx, cfg, "PVSNAP", out, id, 0, storage.Options{})
	if err != nil {
		t.Fatalf("restore from the bucket and the stream: %v", err)
	}
	want, head := stateHash(t, ps)
	if rep.StateHash != want || rep.TargetSeq != head || rep.SnapshotSeq != info.Seq {
		t.Fatalf("restored %s at %d from snapshot %d; primary %s at %d", rep.StateHash, rep.TargetSeq, rep.SnapshotSeq, want, head)
	}
	t.Logf("%s", rep)
	rs, err := storage.Open(out, storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	verifyOK(t, rs)
	rs.Close()
	// A new standby: on an empty directory it cannot follow the trimmed
	// stream; seeded from the bucket it can, and follows new writes.
	bs, bare, err := OpenStandby(ctx, filepath.Join(t.TempDir(), "bare"), id, storage.Options{}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	if err := bare.WaitFor(wctx, ps.Head()); err == nil {
		t.Fatal("a standby on an empty directory followed the trimmed stream")
	}
	cancel()
	bare.Close()
	bs.Close()
	seeded := cfg
	seeded.SeedBucket = "PVSNAP"
	ss, sf, err := OpenStandby(ctx, filepath.Join(t.TempDir(), "seeded"), id, storage.Options{}, seeded)
	if err != nil {
		t.Fatalf("seeded standby: %v", err)
	}
	defer func() { sf.Close(); ss.Close() }()
	if _, errs := writers(ps, 2, 5, 700); len(errs) > 0 {
		t.Fatal(errs)
	}
	wctx, cancel = context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := sf.WaitFor(wctx, ps.Head()); err != nil {
		t.Fatalf("seeded standby: %v", err)
	}
	h1, q1 := stateHash(t, ps)
	if h2, q2 := stateHash(t, ss); h1 != h2 || q1 != q2 {
		t.Fatalf("seeded standby %s at %d, primary %s at %d", h2, q2, h1, q1)
	}
	// A target before the bucket's only snapshot cannot be reached.
	if _, err := RestoreFromObjectStore(ctx, cfg, "PVSNAP", filepath.Join(t.TempDir(), "early"), id, info.Seq-1, storage.Options{}); err == nil {
		t.Fatal("a restore to before the only snapshot succeeded")
	}
}

func TestParseObjectURL(t *testing.T) {
	good := map[string][2]string{
		"nats://h1:4222/SNAP":                         {"nats://h1:4222", "SNAP"},
		"nats://h1:4222,h2:4222,h3:4222/pv-snapshots": {"nats://h1:4222,nats://h2:4222,nats://h3:4222", "pv-snapshots"},
		"tls://a:1,nats://b:2/B_1":                    {"tls://a:1,nats://b:2", "B_1"},
	}
	for in, want := range good {
		urls, bucket, err := ParseObjectURL(in)
		if err != nil || urls != want[0] || bucket != want[1] {
			t.Errorf("ParseObjectURL(%q) = %q %q %v, want %q %q", in, urls, bucket, err, want[0], want[1])
		}
	}
	for _, in := range []string{"", "SNAP", "nats://h1:4222", "nats://h1:4222/", "nats://h1:4222/a.b", "http://h1/SNAP", "nats://h1:4222,/SNAP", "nats://h1/x/SNAP", "nats://h1:4222/" + strings.Repeat("x", 65)} {
		if _, _, err := ParseObjectURL(in); err == nil {
			t.Errorf("ParseObjectURL(%q): no error", in)
		}
	}
}

func FuzzParseObjectURL(f *testing.F) {
	for _, s := range []string{"nats://h1:4222/SNAP", "nats://h1:4222,h2:4222/B", "tls://a:1,nats://b:2/B_1", "nats:///", "/", "a,b/c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		urls, bucket, err := ParseObjectURL(s)
		if err != nil {
			return
		}
		if !bucketName.MatchString(bucket) {
			t.Fatalf("accepted bucket %q", bucket)
		}
		if err := (Config{URLs: urls}).Validate(); err != nil {
			t.Fatalf("accepted URLs %q: %v", urls, err)
		}
		if u2, b2, err := ParseObjectURL(urls + "/" + bucket); err != nil || u2 != urls || b2 != bucket {
			t.Fatalf("round trip of %q: %q %q %v", s, u2, b2, err)
		}
	})
}
