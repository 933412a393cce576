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
}

func (r StreamRestoreReport) String() string {
	return fmt.Sprintf("restored store %s into %s from the stream alone\ntarget: sequence %d\nhash chain verified from sequence 1 to %d\nstate hash at %d: %s\nnew epoch: %s (clients that synced after sequence %d will reconcile)\ntook %s\n",
		r.StoreID, r.Out, r.TargetSeq, r.TargetSeq, r.TargetSeq, r.StateHash, r.Epoch, r.TargetSeq, r.Took.Round(time.Millisecond))
}

// RestoreFromStream builds a new store in out (empty or missing) from the
// stream alone: every record up to toSeq (0: the stream's last) is checked
// and appended as a standby would, then the store is reopened as an
// ordinary one and starts a new epoch.
func RestoreFromStream(ctx context.Context, cfg Config, out, storeID string, toSeq uint64, opts storage.Options) (rep StreamRestoreReport, err error) {
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
	c.close()
	if err != nil {
		return rep, err
	}
	if last == 0 {
		return rep, fmt.Errorf("stream %s holds no record of store %s", cfg.Stream, storeID)
	}
	if toSeq == 0 {
		toSeq = last
	}
	if toSeq > last {
		return rep, fmt.Errorf("the stream holds store %s up to sequence %d, not %d", storeID, last, toSeq)
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
	f, err := startFollower(ctx, st, cfg, toSeq)
	if err != nil {
		st.Close()
		return rep, err
	}
	werr := f.WaitFor(ctx, toSeq)
	f.Close()
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
	return StreamRestoreReport{Out: out, StoreID: storeID, TargetSeq: toSeq, StateHash: hash, Epoch: epoch, Took: time.Since(start)}, nil
}
