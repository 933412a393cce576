package storage

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"time"
)

// RestoreOptions says what to restore and where.
type RestoreOptions struct {
	// DataDir is the source store's data directory: its IDENTITY, its
	// journal and its snapshots/ are read, never written. It may be held open
	// by a running server.
	DataDir string
	// JournalDir is the source journal; default DataDir/journal.
	JournalDir string
	// From is a snapshot file to start from. Default: the newest verified
	// snapshot in DataDir/snapshots/ at or before the target, or none (the
	// whole journal is replayed).
	From string
	// ToSeq restores the state after this journal sequence. ToTime restores
	// the state after the last record written at or before this time (the
	// first record after it ends the search). With neither, the whole journal.
	ToSeq  uint64
	ToTime time.Time
	// Out is the new data directory. It must be empty or not exist.
	Out string
	// KeepEpoch leaves the restored store at the target without starting a
	// new epoch (the drill uses it; the copy is thrown away).
	KeepEpoch bool
	Logger    *slog.Logger
}

// RestoreReport says what a restore did.
type RestoreReport struct {
	Out         string
	Snapshot    string // snapshot used, "" when the whole journal was replayed
	SnapshotSeq uint64
	TargetSeq   uint64
	TargetTime  time.Time // time of the record at TargetSeq
	Replayed    uint64    // journal records applied on top of the snapshot
	StateHash   string    // state hash at TargetSeq (before the new epoch)
	Epoch       string    // the new epoch, "" with KeepEpoch
	Took        time.Duration
	// SnapshotOnly: restored from a snapshot file alone (no source journal);
	// the new store's journal starts after the snapshot.
	SnapshotOnly bool
}

func (r *RestoreReport) String() string {
	from := "no snapshot (whole journal)"
	if r.Snapshot != "" {
		from = fmt.Sprintf("snapshot %s (sequence %d)", r.Snapshot, r.SnapshotSeq)
	}
	checked := fmt.Sprintf("hash chain verified from sequence 1 to %d", r.TargetSeq)
	if r.SnapshotOnly {
		checked = fmt.Sprintf("no source journal: the snapshot's state hash was verified against its tag; the journal restarts after sequence %d", r.TargetSeq)
	}
	s := fmt.Sprintf("restored into %s from %s plus %d journal records\ntarget: sequence %d (written %s)\n%s\nstate hash at %d: %s\n",
		r.Out, from, r.Replayed, r.TargetSeq, r.TargetTime.UTC().Format(time.RFC3339Nano), checked, r.TargetSeq, r.StateHash)
	if r.Epoch != "" {
		s += fmt.Sprintf("new epoch: %s (clients that synced after sequence %d will reconcile)\n", r.Epoch, r.TargetSeq)
	}
	return s + fmt.Sprintf("took %s\n", r.Took.Round(time.Millisecond))
}

// Restore builds a new store in o.Out from a snapshot plus the journal up to
// the target: it copies the journal records 1..target byte for byte, opens
// the new store (which checks every segment and the whole hash chain and
// replays the records after the snapshot with the normal replay path), and
// then starts a new epoch. The source is only read.
func Restore(ctx context.Context, o RestoreOptions) (rep *RestoreReport, err error) {
	start := time.Now()
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.JournalDir == "" {
		o.JournalDir = filepath.Join(o.DataDir, "journal")
	}
	made, err := prepareEmptyDir(o.Out)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			clearDir(o.Out) // it was empty: nothing of anyone else's is removed
			if made {
				os.Remove(o.Out) // and it did not exist before
			}
		}
	}()
	idBytes, id, err := readIdentityFile(o.DataDir)
	if o.From != "" && (o.DataDir == "" || errors.Is(err, fs.ErrNotExist)) {
		// The source data directory is gone: the snapshot file alone.
		return restoreFromSnapshotFile(ctx, o, start)
	}
	if err != nil {
		return nil, err
	}
	if err := newerStoreDB(o.DataDir); err != nil {
		return nil, err
	}
	raw, _ := id.rawID()
	target, when, err := restoreTarget(o, raw)
	if err != nil {
		return nil, err
	}
	base, err := readBase(o.JournalDir)
	if err != nil {
		return nil, err
	}
	if target < base.SnapSeq && base.Seq > 0 && !snapshotBetween(o, id.StoreID, base.Seq, target) {
		return nil, base.prunedError(fmt.Sprintf("restore to sequence %d", target))
	}
	rep = &RestoreReport{Out: o.Out, TargetSeq: target, TargetTime: time.Unix(0, when)}
	cands, err := snapshotCandidates(o, id.StoreID, target)
	if err != nil {
		return nil, err
	}
	if err := writeFileSync(filepath.Join(o.Out, identityFile), idBytes); err != nil {
		return nil, err
	}
	// The journal copy (disk), the snapshot copy (disk) and the snapshot's
	// verification (CPU: its state hash) run side by side.
	t0 := time.Now()
	jerr := make(chan error, 1)
	go func() { jerr <- copyJournalPrefix(o.JournalDir, filepath.Join(o.Out, "journal"), target) }()
	snap, err := useSnapshot(o, id.StoreID, cands)
	if err != nil {
		<-jerr
		return nil, err
	}
	if err := <-jerr; err != nil {
		return nil, fmt.Errorf("copy journal: %w", err)
	}
	if snap != nil {
		rep.Snapshot, rep.SnapshotSeq = snap.Path, snap.Seq
	}
	if base.Seq > 0 {
		// The restored journal keeps the base: it needs the snapshot that
		// covers the pruned records for a later verify or rebuild.
		if err := copyBaseSnapshot(o.DataDir, o.Out, base); err != nil {
			return nil, fmt.Errorf("copy the snapshot of the journal base: %w", err)
		}
	}
	o.Logger.Info("restore: snapshot verified and copied, journal copied", "snapshot", rep.Snapshot, "took", time.Since(t0).Round(time.Millisecond))
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return finishRestore(ctx, o, rep, snap, start)
}

// finishRestore opens the store prepared in o.Out (which checks the journal
// and replays it after the snapshot), checks it reached the target and, unless
// o.KeepEpoch, starts a new epoch.
func finishRestore(ctx context.Context, o RestoreOptions, rep *RestoreReport, snap *SnapshotInfo, start time.Time) (_ *RestoreReport, err error) {
	target := rep.TargetSeq
	t0 := time.Now()
	// A snapshot of an older schema is migrated in the copy; the snapshot
	// itself stays as it is.
	// The journal prefix was copied on purpose: it is complete by definition.
	s, err := Open(o.Out, Options{Logger: o.Logger, Upgrade: true, upgradeNoSnapshot: true, AssumeJournalComplete: true})
	if err != nil {
		return nil, fmt.Errorf("open restored store: %w", err)
	}
	defer func() {
		if cerr := s.Close(); err == nil && cerr != nil {
			err = cerr
		}
	}()
	o.Logger.Info("restore: opened (whole hash chain checked, journal after the snapshot replayed)", "took", time.Since(t0).Round(time.Millisecond))
	t0 = time.Now()
	hash, seq, err := s.StateHash()
	if err != nil {
		return nil, err
	}
	o.Logger.Info("restore: state hash computed", "took", time.Since(t0).Round(time.Millisecond))
	if seq != target {
		return nil, fmt.Errorf("restored store is at sequence %d, expected %d: %w", seq, target, ErrCorrupt)
	}
	rep.StateHash, rep.Replayed = hash, target-rep.SnapshotSeq
	if rep.Snapshot != "" && rep.Replayed == 0 && snap.StateHash != hash {
		return nil, fmt.Errorf("restored store's state hash %s differs from the snapshot's tag %s: %w", hash, snap.StateHash, ErrSnapshotInvalid)
	}
	if !o.KeepEpoch {
		rep.Epoch = NewEpochID()
		if _, err := s.commit(ctx, Change{Op: OpEpoch, Name: rep.Epoch}, true); err != nil {
			return nil, fmt.Errorf("start new epoch: %w", err)
		}
	}
	rep.Took = time.Since(start)
	return rep, nil
}

// prepareEmptyDir makes sure dir exists and is empty; made says it did not
// exist before.
func prepareEmptyDir(dir string) (made bool, err error) {
	if dir == "" {
		return false, fmt.Errorf("restore: no output directory")
	}
	ents, err := os.ReadDir(dir)
	if err == nil && len(ents) > 0 {
		return false, fmt.Errorf("restore into %s: %w (restore only into a new or empty directory)", dir, ErrNotEmpty)
	}
	made = errors.Is(err, fs.ErrNotExist)
	return made, os.MkdirAll(dir, 0o700)
}

func clearDir(dir string) {
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		os.RemoveAll(filepath.Join(dir, e.Name()))
	}
}

// readIdentityFile reads IDENTITY without creating it.
func readIdentityFile(dir string) ([]byte, Identity, error) {
	var id Identity
	b, err := os.ReadFile(filepath.Join(dir, identityFile))
	if err != nil {
		return nil, id, fmt.Errorf("%s holds no pimvault store: %w", dir, err)
	}
	id, err = parseIdentity(filepath.Join(dir, identityFile), b)
	return b, id, err
}

// restoreTarget returns the target sequence and the time of its record.
func restoreTarget(o RestoreOptions, storeID [16]byte) (uint64, int64, error) {
	var seq uint64
	var when int64
	if !o.ToTime.IsZero() {
		if err := CheckTimeArg("target time", o.ToTime, time.Now()); err != nil {
			return 0, 0, err
		}
	}
	if o.ToTime.IsZero() {
		// By sequence (or the last complete record): read one segment; the
		// whole chain is checked when the restored store opens.
		if o.ToSeq == 0 {
			last, t, err := lastRecord(o.JournalDir, storeID)
			if err != nil {
				return 0, 0, fmt.Errorf("find restore target: %w", err)
			}
			return last, t, nil
		}
		err := scanJournalFrom(o.JournalDir, storeID, o.ToSeq, o.ToSeq, func(r *Record, _ [32]byte) error {
			seq, when = r.Seq, r.Time
			return nil
		})
		if err != nil {
			return 0, 0, fmt.Errorf("find restore target %d: %w", o.ToSeq, err)
		}
		return seq, when, nil
	}
	upTo := ^uint64(0)
	if o.ToSeq > 0 {
		upTo = o.ToSeq
	}
	_, _, err := scanJournal(o.JournalDir, storeID, upTo, func(r *Record, _ [32]byte) error {
		if !o.ToTime.IsZero() && r.Time > unixNanos(o.ToTime) {
			return errStopScan
		}
		seq, when = r.Seq, r.Time
		return nil
	})
	if err != nil {
		return 0, 0, fmt.Errorf("find restore target: %w", err)
	}
	if seq == 0 {
		return 0, 0, fmt.Errorf("no journal record at or before the target: %w", ErrNotFound)
	}
	return seq, when, nil
}

// snapshotCandidates returns the snapshots a restore may start from, best
// first: --from, or the snapshots in snapshots/ at or before the target,
// newest first. None means the whole journal is replayed.
func snapshotCandidates(o RestoreOptions, storeID string, target uint64) ([]SnapshotInfo, error) {
	if o.From != "" {
		info, err := ReadSnapshotInfo(o.From)
		if err != nil {
			return nil, err
		}
		if info.Seq > target {
			return nil, fmt.Errorf("snapshot %s is at sequence %d, after the target %d: choose an older one", o.From, info.Seq, target)
		}
		if base, err := readBase(o.JournalDir); err != nil || info.Seq < base.Seq {
			if err != nil {
				return nil, err
			}
			return nil, base.prunedError(fmt.Sprintf("restore from snapshot %s (sequence %d)", o.From, info.Seq))
		}
		return []SnapshotInfo{info}, nil
	}
	all, err := ListSnapshots(filepath.Join(o.DataDir, SnapshotDir))
	if err != nil {
		return nil, err
	}
	var out []SnapshotInfo
	base, err := readBase(o.JournalDir)
	if err != nil {
		return nil, err
	}
	for i := len(all) - 1; i >= 0; i-- {
		if all[i].Seq <= target && all[i].Seq >= base.Seq && all[i].StoreID == storeID {
			out = append(out, all[i])
		}
	}
	return out, nil
}

// useSnapshot copies the first candidate that verifies to o.Out/store.db,
// verifying it while it is copied. A snapshot that does not verify is
// skipped (with --from it is an error); with no candidate left the whole
// journal is replayed.
func useSnapshot(o RestoreOptions, storeID string, cands []SnapshotInfo) (*SnapshotInfo, error) {
	dst := filepath.Join(o.Out, dbFile)
	for _, c := range cands {
		verr := make(chan error, 1)
		var info SnapshotInfo
		go func() {
			var err error
			info, err = VerifySnapshot(c.Path, storeID)
			verr <- err
		}()
		cerr := copyFileSync(c.Path, dst, -1)
		if err := <-verr; err != nil {
			os.Remove(dst)
			if o.From != "" {
				return nil, err
			}
			o.Logger.Warn("snapshot does not verify; trying an older one", "path", c.Path, "err", err)
			continue
		}
		if cerr != nil {
			return nil, fmt.Errorf("copy snapshot: %w", cerr)
		}
		return &info, nil
	}
	return nil, nil
}

// snapshotBetween reports whether a verified snapshot of the store lies at
// or after the journal base and at or before target: a restore to target
// after retention pruned the journal up to base must start from one.
func snapshotBetween(o RestoreOptions, storeID string, base, target uint64) bool {
	if o.From != "" {
		info, err := ReadSnapshotInfo(o.From)
		return err == nil && info.Seq >= base && info.Seq <= target
	}
	all, err := ListSnapshots(filepath.Join(o.DataDir, SnapshotDir))
	if err != nil {
		return false
	}
	for _, sn := range all {
		if sn.StoreID == storeID && sn.Seq >= base && sn.Seq <= target {
			return true
		}
	}
	return false
}

// copyBaseSnapshot copies the snapshot named by base, with its tag, from
// the snapshots/ of src to those of dst.
func copyBaseSnapshot(src, dst string, base journalBase) error {
	dir := filepath.Join(dst, SnapshotDir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	for _, name := range []string{base.Snapshot, base.Snapshot + sidecarExt} {
		if err := copyFileSync(filepath.Join(src, SnapshotDir, name), filepath.Join(dir, name), -1); err != nil {
			return err
		}
	}
	return syncDir(dir)
}
