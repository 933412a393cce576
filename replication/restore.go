package replication

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/pimvault/pimvault/storage"
)

// StreamRestoreReport says what RestoreFromStream did.
type StreamRestoreReport struct {
	Out       string
	StoreID   string
	TargetSeq uint64
	StateHash string // at TargetSeq, before the new epoch
	Epoch     string
	Took      time.Duration
	// Snapshot and SnapshotSeq name the bucket's snapshot the restore
	// started from ("" when the stream alone).
	Snapshot    string
	SnapshotSeq uint64
}

func (r StreamRestoreReport) String() string {
	if r.Snapshot != "" {
		return fmt.Sprintf("restored store %s into %s from snapshot %s (sequence %d, verified against its tag) plus the stream\ntarget: sequence %d\nhash chain verified from sequence %d to %d\nstate hash at %d: %s\nnew epoch: %s (clients that synced after sequence %d will reconcile)\ntook %s\n",
			r.StoreID, r.Out, r.Snapshot, r.SnapshotSeq, r.TargetSeq, r.SnapshotSeq, r.TargetSeq, r.TargetSeq, r.StateHash, r.Epoch, r.TargetSeq, r.Took.Round(time.Millisecond))
	}
	return fmt.Sprintf("restored store %s into %s from the stream alone\ntarget: sequence %d\nhash chain verified from sequence 1 to %d\nstate hash at %d: %s\nnew epoch: %s (clients that synced after sequence %d will reconcile)\ntook %s\n",
		r.StoreID, r.Out, r.TargetSeq, r.TargetSeq, r.TargetSeq, r.StateHash, r.Epoch, r.TargetSeq, r.Took.Round(time.Millisecond))
}

// RestoreFromStream builds a new store in out (empty or missing) from the
// stream alone: every record up to toSeq (0: the stream's last) is checked
// and appended as a standby would, then the store is reopened as an
// ordinary one and starts a new epoch.
func RestoreFromStream(ctx context.Context, cfg Config, out, storeID string, toSeq uint64, opts storage.Options) (rep StreamRestoreReport, err error) {
	return restoreStream(ctx, cfg, "", out, storeID, toSeq, opts)
}

// RestoreFromObjectStore builds a new store in out from the newest
// verified snapshot in bucket at or before toSeq plus the stream's records
// after it (the stream may be trimmed below that snapshot), then starts a
// new epoch.
func RestoreFromObjectStore(ctx context.Context, cfg Config, bucket, out, storeID string, toSeq uint64, opts storage.Options) (StreamRestoreReport, error) {
	return restoreStream(ctx, cfg, bucket, out, storeID, toSeq, opts)
}

func restoreStream(ctx context.Context, cfg Config, bucket, out, storeID string, toSeq uint64, opts storage.Options) (rep StreamRestoreReport, err error) {
	start := time.Now()
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return rep, err
	}
	if ents, err := os.ReadDir(out); err == nil && len(ents) > 0 {
		return rep, fmt.Errorf("restore into %s: %w (restore only into a new or empty directory)", out, storage.ErrNotEmpty)
	}
	if err := os.MkdirAll(out, 0o700); err != nil {
		return rep, err
	}
	defer func() {
		if err != nil {
			ents, _ := os.ReadDir(out)
			for _, e := range ents {
				os.RemoveAll(filepath.Join(out, e.Name()))
			}
		}
	}()
	if storeID, err = DiscoverStore(ctx, cfg, out, storeID); err != nil {
		return rep, err
	}
	c, err := dial(ctx, cfg, "pimvault restore", false)
	if err != nil {
		return rep, err
	}
	last, _, err := c.lastRecord(ctx, storeID)
	if err != nil {
		c.close()
		return rep, err
	}
	if last == 0 {
		c.close()
		return rep, fmt.Errorf("stream %s holds no record of store %s", cfg.Stream, storeID)
	}
	if toSeq == 0 {
		toSeq = last
	}
	if toSeq > last {
		c.close()
		return rep, fmt.Errorf("the stream holds store %s up to sequence %d, not %d", storeID, last, toSeq)
	}
	if bucket != "" {
		// The snapshot first (its store, at its sequence, no new epoch);
		// the stream extends it.
		scratch, err := os.MkdirTemp(filepath.Dir(filepath.Clean(out)), ".pimvault-fetch-")
		if err != nil {
			c.close()
			return rep, err
		}
		defer os.RemoveAll(scratch)
		snap, info, err := fetchSnapshot(ctx, c, bucket, storeID, toSeq, scratch)
		c.close()
		if err != nil {
			return rep, err
		}
		if _, err := storage.Restore(ctx, storage.RestoreOptions{From: snap, Out: out, KeepEpoch: true, Logger: cfg.Log}); err != nil {
			return rep, fmt.Errorf("restore the snapshot of sequence %d from bucket %s: %w", info.Seq, bucket, err)
		}
		rep.Snapshot, rep.SnapshotSeq = bucket+"/"+filepath.Base(snap), info.Seq
	} else {
		c.close()
	}
	if err := storage.PrepareStandbyDir(out, storeID); err != nil {
		return rep, err
	}
	sopts := opts
	sopts.Standby = true
	st, err := storage.Open(out, sopts)
	if err != nil {
		return rep, err
	}
	var werr error
	if st.Head() < toSeq {
		f, err := startFollower(ctx, st, cfg, toSeq)
		if err != nil {
			st.Close()
			return rep, err
		}
		werr = f.WaitFor(ctx, toSeq)
		f.Close()
	}
	if werr == nil && st.Head() != toSeq {
		werr = fmt.Errorf("restored store is at sequence %d, expected %d: %w", st.Head(), toSeq, storage.ErrCorrupt)
	}
	if werr != nil {
		st.Close()
		return rep, werr
	}
	hash, _, err := st.StateHash()
	if cerr := st.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return rep, err
	}
	os.Remove(filepath.Join(out, followHint))
	opts.Standby = false
	s, err := storage.Open(out, opts)
	if err != nil {
		return rep, fmt.Errorf("open restored store: %w", err)
	}
	epoch, err := s.StartEpoch(ctx, fmt.Sprintf("restored from stream %s at sequence %d", cfg.Stream, toSeq))
	if cerr := s.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return rep, err
	}
	rep.Out, rep.StoreID, rep.TargetSeq, rep.StateHash, rep.Epoch, rep.Took = out, storeID, toSeq, hash, epoch, time.Since(start)
	return rep, nil
}
