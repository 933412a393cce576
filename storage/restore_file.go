package storage

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// restoreFromSnapshotFile builds a store in o.Out from the snapshot file
// o.From alone, for when the source data directory is gone. The snapshot's
// tag names the store, its sequence and chain hash; the copy is verified
// against the tag (state hash), placed in Out/snapshots/ and named by a
// journal base (base.go), so the new store opens exactly as one whose
// journal retention pruned everything up to the snapshot: store.db starts
// as a copy of it, and later records chain from its hash.
func restoreFromSnapshotFile(ctx context.Context, o RestoreOptions, start time.Time) (rep *RestoreReport, err error) {
	tag, err := ReadSnapshotInfo(o.From)
	if err != nil {
		return nil, err
	}
	if !o.ToTime.IsZero() || (o.ToSeq != 0 && o.ToSeq != tag.Seq) {
		return nil, fmt.Errorf("restore from %s alone: the snapshot holds only sequence %d (no journal to replay to another point); drop --to-seq/--to-time or restore with the source's --data", o.From, tag.Seq)
	}
	info, err := VerifySnapshot(o.From, tag.StoreID)
	if err != nil {
		return nil, err
	}
	var chain [32]byte
	if h, err := hex.DecodeString(info.ChainHash); err != nil || len(h) != 32 || info.Seq == 0 {
		return nil, fmt.Errorf("snapshot tag %s%s: bad sequence or chain hash: %w", o.From, sidecarExt, ErrSnapshotInvalid)
	} else {
		copy(chain[:], h)
	}
	id := Identity{Format: identityFormat, StoreID: info.StoreID, Created: time.Now().UTC()}
	idBytes, _ := json.MarshalIndent(id, "", "  ")
	if err := writeFileSync(filepath.Join(o.Out, identityFile), append(idBytes, '\n')); err != nil {
		return nil, err
	}
	name := filepath.Base(o.From)
	snapDir := filepath.Join(o.Out, SnapshotDir)
	if err := os.MkdirAll(snapDir, 0o700); err != nil {
		return nil, err
	}
	if err := copyFileSync(o.From, filepath.Join(snapDir, name), -1); err != nil {
		return nil, fmt.Errorf("copy snapshot: %w", err)
	}
	if err := copyFileSync(o.From+sidecarExt, filepath.Join(snapDir, name+sidecarExt), -1); err != nil {
		return nil, fmt.Errorf("copy snapshot tag: %w", err)
	}
	if err := syncDir(snapDir); err != nil {
		return nil, err
	}
	jdir := filepath.Join(o.Out, "journal")
	if err := os.MkdirAll(jdir, 0o700); err != nil {
		return nil, err
	}
	base := journalBase{Seq: info.Seq, hash: chain, Snapshot: name, SnapSeq: info.Seq,
		SnapChain: info.ChainHash, SnapState: info.StateHash, Written: time.Now().UTC()}
	if err := writeBase(jdir, base); err != nil {
		return nil, err
	}
	if err := syncDir(o.Out); err != nil {
		return nil, err
	}
	rep = &RestoreReport{Out: o.Out, Snapshot: o.From, SnapshotSeq: info.Seq, TargetSeq: info.Seq,
		TargetTime: time.Unix(0, info.Time), SnapshotOnly: true}
	return finishRestore(ctx, o, rep, &info, start)
}
