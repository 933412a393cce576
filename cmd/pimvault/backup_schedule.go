package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/pimvault/pimvault/storage"
)

// backupSchedule is what 'serve' does on its own: snapshots and drills.
type backupSchedule struct {
	snapshotEvery time.Duration // 0: never
	keepSnapshots int           // 0: keep all
	drillEvery    time.Duration // 0: never
	drillTmp      string        // scratch directory of drills; "": the data directory
	retention     time.Duration // journal retention after each snapshot; 0: keep everything
}

// run takes snapshots and runs drills until ctx ends.
func (b backupSchedule) run(ctx context.Context, s *storage.Store, log *slog.Logger) {
	tick := func(d time.Duration) <-chan time.Time {
		if d <= 0 {
			return nil
		}
		return time.After(d)
	}
	snapC, drillC := tick(b.snapshotEvery), tick(b.drillEvery)
	var lastSeq uint64
	for {
		select {
		case <-ctx.Done():
			return
		case <-snapC:
			snapC = tick(b.snapshotEvery)
			if s.Head() == lastSeq {
				continue // nothing written since the last snapshot
			}
			info, removed, err := s.SnapshotScheduled(ctx, b.keepSnapshots)
			if err != nil {
				log.Error("scheduled snapshot failed", "err", err)
			} else {
				lastSeq = info.Seq
				log.Info("scheduled snapshot", "path", info.Path, "seq", info.Seq, "removed_old", len(removed))
				b.prune(ctx, s, log)
			}
		case <-drillC:
			if _, err := s.DrillIn(ctx, b.drillTmp); err != nil {
				log.Error("scheduled restore drill could not run", "err", err)
			}
			drillC = tick(b.drillEvery)
		}
	}
}

// prune applies journal retention after a snapshot (the only time a new
// segment can become covered).
func (b backupSchedule) prune(ctx context.Context, s *storage.Store, log *slog.Logger) {
	if b.retention <= 0 {
		return
	}
	rep, err := s.Prune(ctx, b.retention, false)
	switch {
	case err != nil:
		log.Warn("journal retention: nothing pruned", "err", err)
	case len(rep.Segments) > 0:
		log.Info("journal retention: pruned segments to quarantine", "segments", len(rep.Segments), "base", rep.Base, "snapshot", rep.Snapshot)
	}
}
