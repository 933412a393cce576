package replication

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/pimvault/pimvault/storage"
)

// Snapshots in a JetStream object store bucket. 'pimvault backup --to
// nats://…/BUCKET' stores a verified snapshot there as two objects,
// <store id>/<snapshot name> (the store.db copy) and <store id>/<snapshot
// name>.json (its tag). The tag is stored last, and only after the copy
// read back from the bucket verified against it (checksums, chain hash,
// state hash), so a tag in the bucket names a snapshot that restores.
// The stream may then be trimmed below the newest such snapshot — the
// rule of local journal retention — and a restore starts from it and
// applies the stream after it.

// bucketName is a JetStream object store bucket name.
var bucketName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// ParseObjectURL splits nats://h1:4222,h2:4222/BUCKET (each host may carry
// its own nats:// or tls://) into the server URLs and the bucket.
func ParseObjectURL(s string) (urls, bucket string, err error) {
	i := strings.LastIndexByte(s, '/')
	if i < 0 || !strings.Contains(s[:i], "://") {
		return "", "", fmt.Errorf("%q: want nats://host:port[,host:port…]/BUCKET", s)
	}
	bucket = s[i+1:]
	if !bucketName.MatchString(bucket) {
		return "", "", fmt.Errorf("%q: bucket %q: 1 to 64 characters of [A-Za-z0-9_-]", s, bucket)
	}
	hosts := strings.Split(s[:i], ",")
	scheme := "nats://"
	if strings.HasPrefix(hosts[0], "tls://") {
		scheme = "tls://"
	}
	for j, h := range hosts {
		h = strings.TrimSpace(h)
		if !strings.Contains(h, "://") {
			h = scheme + h
		}
		rest := h[strings.Index(h, "://")+3:]
		if rest == "" || strings.ContainsAny(rest, "/ ?#") {
			return "", "", fmt.Errorf("%q: server %q: want host:port", s, h)
		}
		hosts[j] = h
	}
	urls = strings.Join(hosts, ",")
	if err := (Config{URLs: urls}).Validate(); err != nil {
		return "", "", fmt.Errorf("%q: %w", s, err)
	}
	return urls, bucket, nil
}

// objectBucket opens the bucket, creating it (file storage, as many
// replicas as the stream) when missing.
func (c *conn) objectBucket(ctx context.Context, bucket string, create bool) (jetstream.ObjectStore, error) {
	cctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	ob, err := c.js.ObjectStore(cctx, bucket)
	if errors.Is(err, jetstream.ErrBucketNotFound) && create {
		ob, err = c.js.CreateObjectStore(cctx, jetstream.ObjectStoreConfig{Bucket: bucket, Description: "pimvault snapshots, <store id>/<name> and its tag <name>.json",
			Storage: jetstream.FileStorage, Replicas: max(c.replicas(), 1)})
	}
	if err != nil {
		return nil, fmt.Errorf("object store bucket %s: %w", bucket, err)
	}
	return ob, nil
}

// ObjectSnapshot is a snapshot stored in a bucket.
type ObjectSnapshot struct {
	Bucket string
	Name   string // object name of the copy
	Info   storage.SnapshotInfo
}

// UploadSnapshot stores the verified snapshot at path (with its tag) in
// bucket, reads the copy back into scratch (a directory), verifies it, and
// only then stores the tag.
func UploadSnapshot(ctx context.Context, cfg Config, bucket, path, scratch string) (ObjectSnapshot, error) {
	cfg = cfg.withDefaults()
	info, err := storage.ReadSnapshotInfo(path)
	if err != nil {
		return ObjectSnapshot{}, err
	}
	if !info.Verified {
		return ObjectSnapshot{}, fmt.Errorf("snapshot %s is not verified: %w", path, storage.ErrSnapshotInvalid)
	}
	c, err := dial(ctx, cfg, "pimvault backup", false)
	if err != nil {
		return ObjectSnapshot{}, err
	}
	defer c.close()
	ob, err := c.objectBucket(ctx, bucket, true)
	if err != nil {
		return ObjectSnapshot{}, err
	}
	name := info.StoreID + "/" + filepath.Base(path)
	f, err := os.Open(path)
	if err != nil {
		return ObjectSnapshot{}, err
	}
	_, err = ob.Put(ctx, jetstream.ObjectMeta{Name: name, Description: fmt.Sprintf("store %s at sequence %d", info.StoreID, info.Seq)}, f)
	f.Close()
	if err != nil {
		return ObjectSnapshot{}, fmt.Errorf("store %s in bucket %s: %w", name, bucket, err)
	}
	// Read it back and verify before the tag makes it count.
	back := filepath.Join(scratch, filepath.Base(path))
	if err := ob.GetFile(ctx, name, back); err != nil {
		return ObjectSnapshot{}, fmt.Errorf("read %s back from bucket %s: %w", name, bucket, err)
	}
	defer os.Remove(back)
	tag, err := os.ReadFile(path + ".json")
	if err != nil {
		return ObjectSnapshot{}, err
	}
	if err := os.WriteFile(back+".json", tag, 0o600); err != nil {
		return ObjectSnapshot{}, err
	}
	defer os.Remove(back + ".json")
	if _, err := storage.VerifySnapshot(back, info.StoreID); err != nil {
		return ObjectSnapshot{}, fmt.Errorf("the copy in bucket %s does not verify: %w", bucket, err)
	}
	if _, err := ob.PutBytes(ctx, name+".json", tag); err != nil {
		return ObjectSnapshot{}, fmt.Errorf("store the tag of %s in bucket %s: %w", name, bucket, err)
	}
	return ObjectSnapshot{Bucket: bucket, Name: name, Info: info}, nil
}

// bucketSnapshots lists the snapshots of storeID whose tag is in the bucket
// (so verified there), newest first.
func bucketSnapshots(ctx context.Context, ob jetstream.ObjectStore, storeID string) ([]ObjectSnapshot, error) {
	list, err := ob.List(ctx)
	if errors.Is(err, jetstream.ErrNoObjectsFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []ObjectSnapshot
	for _, o := range list {
		if !strings.HasPrefix(o.Name, storeID+"/") || !strings.HasSuffix(o.Name, ".json") || o.Deleted {
			continue
		}
		b, err := ob.GetBytes(ctx, o.Name)
		if err != nil {
			return nil, err
		}
		var info storage.SnapshotInfo
		if err := json.Unmarshal(b, &info); err != nil || info.StoreID != storeID || info.Seq == 0 {
			continue // not a tag of this store: ignored, never trusted
		}
		out = append(out, ObjectSnapshot{Name: strings.TrimSuffix(o.Name, ".json"), Info: info})
	}
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j].Info.Seq > out[j-1].Info.Seq; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out, nil
}

// TrimStream removes from the stream the messages of storeID whose
// records are all covered by the newest verified snapshot in bucket (the
// rule of local journal retention), and returns that snapshot's sequence
// (0 when the bucket holds none: nothing is trimmed).
func TrimStream(ctx context.Context, cfg Config, bucket, storeID string) (uint64, error) {
	cfg = cfg.withDefaults()
	c, err := dial(ctx, cfg, "pimvault trim", false)
	if err != nil {
		return 0, err
	}
	defer c.close()
	ob, err := c.objectBucket(ctx, bucket, false)
	if err != nil {
		return 0, err
	}
	snaps, err := bucketSnapshots(ctx, ob, storeID)
	if err != nil || len(snaps) == 0 {
		return 0, err
	}
	keep := snaps[0].Info.Seq
	// The first message holding a record after the snapshot stays, with
	// everything after it.
	cons, err := c.stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{FilterSubjects: []string{Subject(storeID)}, HeadersOnly: true})
	if err != nil {
		return 0, err
	}
	it, err := cons.Messages()
	if err != nil {
		return 0, err
	}
	defer it.Stop()
	last, _, err := c.lastRecord(ctx, storeID)
	if err != nil {
		return 0, err
	}
	var firstKept uint64
	for last > keep { // else the snapshot covers the whole stream: keep the last message
		m, err := it.Next()
		if err != nil {
			return 0, err
		}
		md, err := m.Metadata()
		if err != nil {
			return 0, err
		}
		if lastRecordOf(m.Headers()) > keep {
			firstKept = md.Sequence.Stream
			break
		}
	}
	if firstKept == 0 {
		_, firstKept, err = c.lastRecord(ctx, storeID)
		if err != nil {
			return 0, err
		}
	}
	cctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	if err := c.stream.Purge(cctx, jetstream.WithPurgeSubject(Subject(storeID)), jetstream.WithPurgeSequence(firstKept)); err != nil {
		return 0, fmt.Errorf("trim the stream below message %d: %w", firstKept, err)
	}
	cfg.Log.Info("replication: stream trimmed below the newest verified snapshot in the bucket", "bucket", bucket, "snapshot_seq", keep, "first_message_kept", firstKept)
	return keep, nil
}

// fetchSnapshot downloads the newest snapshot of storeID in bucket at or
// before toSeq (0: any) into dir, with its tag, and returns its path.
func fetchSnapshot(ctx context.Context, c *conn, bucket, storeID string, toSeq uint64, dir string) (string, storage.SnapshotInfo, error) {
	ob, err := c.objectBucket(ctx, bucket, false)
	if err != nil {
		return "", storage.SnapshotInfo{}, err
	}
	snaps, err := bucketSnapshots(ctx, ob, storeID)
	if err != nil {
		return "", storage.SnapshotInfo{}, err
	}
	for _, s := range snaps {
		if toSeq != 0 && s.Info.Seq > toSeq {
			continue
		}
		path := filepath.Join(dir, filepath.Base(s.Name))
		if err := ob.GetFile(ctx, s.Name, path); err != nil {
			return "", s.Info, fmt.Errorf("fetch %s from bucket %s: %w", s.Name, bucket, err)
		}
		tag, err := ob.GetBytes(ctx, s.Name+".json")
		if err != nil {
			return "", s.Info, err
		}
		if err := os.WriteFile(path+".json", tag, 0o600); err != nil {
			return "", s.Info, err
		}
		return path, s.Info, nil
	}
	return "", storage.SnapshotInfo{}, fmt.Errorf("bucket %s holds no verified snapshot of store %s at or before sequence %d", bucket, storeID, toSeq)
}

// seedStandby starts a standby in dir, when dir holds no store yet, from
// the newest verified snapshot of storeID in cfg.SeedBucket (at its
// sequence, no new epoch), so that it follows a stream trimmed below that
// snapshot from there.
func seedStandby(ctx context.Context, c *conn, cfg Config, dir, storeID string) error {
	if _, err := os.Stat(filepath.Join(dir, "IDENTITY")); err == nil {
		return nil // a store already: the stream extends it
	}
	if ents, err := os.ReadDir(dir); err == nil && len(ents) > 0 {
		return fmt.Errorf("seed %s from bucket %s: %w (seed only a new or empty directory)", dir, cfg.SeedBucket, storage.ErrNotEmpty)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	scratch, err := os.MkdirTemp(filepath.Dir(filepath.Clean(dir)), ".pimvault-seed-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(scratch)
	snap, info, err := fetchSnapshot(ctx, c, cfg.SeedBucket, storeID, 0, scratch)
	if err != nil {
		return err
	}
	if _, err := storage.Restore(ctx, storage.RestoreOptions{From: snap, Out: dir, KeepEpoch: true, Logger: cfg.Log}); err != nil {
		return fmt.Errorf("seed the standby from bucket %s: %w", cfg.SeedBucket, err)
	}
	cfg.Log.Info("replication: standby seeded from the bucket's newest verified snapshot", "bucket", cfg.SeedBucket, "seq", info.Seq)
	return nil
}
