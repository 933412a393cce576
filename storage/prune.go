package storage

import (
	"context"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"strings"
	"time"
)

// PruneReport says what Prune did (or, with DryRun, would do).
type PruneReport struct {
	DryRun   bool
	Snapshot string   // the verified snapshot that covers the pruned records
	SnapSeq  uint64   // its sequence
	Base     uint64   // the journal's base after pruning (last pruned sequence)
	Segments []string // segments pruned (moved to quarantine/)
	Moved    []string // where they went
	Kept     string   // why the next segment was kept
}

func (r *PruneReport) String() string {
	var b strings.Builder
	verb := "pruned"
	if r.DryRun {
		verb = "would prune"
	}
	if len(r.Segments) == 0 {
		fmt.Fprintf(&b, "nothing to prune: %s\n", r.Kept)
		return b.String()
	}
	fmt.Fprintf(&b, "%s %d journal segments up to sequence %d, covered by snapshot %s (sequence %d)\n", verb, len(r.Segments), r.Base, r.Snapshot, r.SnapSeq)
	for i, s := range r.Segments {
		if i < len(r.Moved) {
			fmt.Fprintf(&b, "  %s -> %s\n", s, r.Moved[i])
		} else {
			fmt.Fprintf(&b, "  %s\n", s)
		}
	}
	if r.Kept != "" {
		fmt.Fprintf(&b, "kept the rest: %s\n", r.Kept)
	}
	return b.String()
}

// pruneHook, when set by a test, runs after BASE is written and before the
// first segment is moved (the crash window).
var pruneHook func()

// Prune applies journal retention: the oldest sealed segments (never the
// active one) are moved to quarantine/ when the newest verified snapshot in
// snapshots/ covers every record in them (it is re-verified first: its state
// hash and its chain hash against the journal) and their newest record is
// older than retention. journal/BASE is written before the segments move,
// so a crash in between leaves segments below the base, which readers skip.
// Writes wait while it runs. retention must be positive (0 keeps everything).
func (s *Store) Prune(ctx context.Context, retention time.Duration, dryRun bool) (*PruneReport, error) {
	if retention <= 0 {
		return nil, fmt.Errorf("journal retention %v keeps everything: give a positive period: %w", retention, ErrInvalidChange)
	}
	rep := &PruneReport{DryRun: dryRun}
	err := s.exclusive(ctx, func() error { return s.prune(retention, rep) })
	return rep, err
}

func (s *Store) prune(retention time.Duration, rep *PruneReport) error {
	// Segments left below the base by a prune that died before moving them.
	if !rep.DryRun {
		old, err := readBase(s.opts.JournalDir)
		if err != nil {
			return err
		}
		all, err := listSegments(s.opts.JournalDir)
		if err != nil {
			return err
		}
		for _, sg := range all {
			if old.Seq == 0 || sg.firstSeq > old.Seq {
				break
			}
			q, err := quarantine(s.dir, sg.path)
			if err != nil {
				return fmt.Errorf("move segment below the journal base to quarantine: %w", err)
			}
			rep.Segments, rep.Moved, rep.Base = append(rep.Segments, sg.path), append(rep.Moved, q), old.Seq
		}
	}
	snap, err := s.coveringSnapshot()
	if err != nil {
		rep.Kept = err.Error()
		return err
	}
	rep.Snapshot, rep.SnapSeq = filepath.Base(snap.Path), snap.Seq
	cutoff := time.Now().Add(-retention).UnixNano()
	segs := s.j.segs
	var base journalBase
	k := 0
	for ; k+1 < len(segs); k++ { // never the active (last) segment
		last := segs[k+1].firstSeq - 1
		if last > snap.Seq {
			rep.Kept = fmt.Sprintf("segment %s holds records after the newest verified snapshot (sequence %d)", filepath.Base(segs[k].path), snap.Seq)
			break
		}
		var when int64
		var hash [32]byte
		if err := scanJournalFrom(s.opts.JournalDir, s.storeID, last, last, func(r *Record, h [32]byte) error {
			when, hash = r.Time, h
			return nil
		}); err != nil {
			return err
		}
		if when >= cutoff {
			rep.Kept = fmt.Sprintf("segment %s has records newer than the retention period %v", filepath.Base(segs[k].path), retention)
			break
		}
		base.Seq, base.hash = last, hash
		rep.Segments = append(rep.Segments, segs[k].path)
	}
	if k+1 >= len(segs) && rep.Kept == "" {
		rep.Kept = "the active segment is never pruned"
	}
	if k == 0 {
		if len(rep.Moved) > 0 {
			return syncDir(s.opts.JournalDir)
		}
		return nil
	}
	rep.Base = base.Seq
	if rep.DryRun {
		return nil
	}
	base.Snapshot, base.SnapSeq, base.SnapChain, base.SnapState = filepath.Base(snap.Path), snap.Seq, snap.ChainHash, snap.StateHash
	base.Written = time.Now().UTC()
	if err := writeBase(s.opts.JournalDir, base); err != nil {
		return fmt.Errorf("write journal base: %w", err)
	}
	if pruneHook != nil {
		pruneHook()
	}
	for _, p := range rep.Segments[len(rep.Moved):] {
		q, err := quarantine(s.dir, p)
		if err != nil {
			return fmt.Errorf("move pruned segment to quarantine (journal/BASE already skips it): %w", err)
		}
		rep.Moved = append(rep.Moved, q)
	}
	s.j.segs = segs[k:]
	s.j.segs[0].prevHash = base.hash
	return syncDir(s.opts.JournalDir)
}

// coveringSnapshot returns the newest snapshot in snapshots/ tagged verified
// that still verifies (state hash) and matches this journal (chain hash at
// its sequence). Snapshots that fail are skipped, never used.
func (s *Store) coveringSnapshot() (*SnapshotInfo, error) {
	all, err := ListSnapshots(filepath.Join(s.dir, SnapshotDir))
	if err != nil {
		return nil, err
	}
	var why []string
	for i := len(all) - 1; i >= 0; i-- {
		sn := all[i]
		if sn.StoreID != s.id.StoreID || sn.Seq == 0 || sn.Seq > s.Head() {
			continue
		}
		info, err := VerifySnapshot(sn.Path, s.id.StoreID)
		if err != nil {
			why = append(why, err.Error())
			continue
		}
		var chain string
		if err := scanJournalFrom(s.opts.JournalDir, s.storeID, info.Seq, info.Seq, func(_ *Record, h [32]byte) error {
			chain = hex.EncodeToString(h[:])
			return nil
		}); err != nil {
			why = append(why, fmt.Sprintf("snapshot %s: %v", sn.Path, err))
			continue
		}
		if chain != info.ChainHash {
			why = append(why, fmt.Sprintf("snapshot %s: chain hash %s differs from the journal's %s", sn.Path, info.ChainHash, chain))
			continue
		}
		return &info, nil
	}
	msg := "no verified snapshot in " + filepath.Join(s.dir, SnapshotDir) + " covers any segment (take one with 'pimvault backup')"
	if len(why) > 0 {
		msg += "; skipped: " + strings.Join(why, "; ")
	}
	return nil, fmt.Errorf("%s: %w", msg, ErrNothingToPrune)
}
