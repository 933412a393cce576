package storage

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// baseFile in the journal directory says where the kept journal starts once
// retention pruned older segments (prune.go). Without it the journal starts
// at sequence 1 with the zero chain hash.
const baseFile = "BASE"

// journalBase is the content of journal/BASE: the sequence and chain hash
// of the last record before the first kept segment, and the verified
// snapshot that covers every pruned record.
type journalBase struct {
	Seq       uint64    `json:"seq"`
	ChainHash string    `json:"chain_hash"`
	Snapshot  string    `json:"snapshot"` // file name in <data dir>/snapshots
	SnapSeq   uint64    `json:"snapshot_seq"`
	SnapChain string    `json:"snapshot_chain_hash"`
	SnapState string    `json:"snapshot_state_hash"`
	Written   time.Time `json:"written"`
	hash      [32]byte
}

// readBase reads journal/BASE of dir; none is the zero base.
func readBase(dir string) (journalBase, error) {
	var b journalBase
	path := filepath.Join(dir, baseFile)
	raw, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return b, nil
	}
	if err != nil {
		return b, err
	}
	bad := func(what string) (journalBase, error) {
		return journalBase{}, &CorruptionError{Path: path, Offset: -1, What: "journal base " + what,
			Advice: "restore journal/BASE from a backup of this data directory, or restore the store from a snapshot (pimvault restore)"}
	}
	if err := json.Unmarshal(raw, &b); err != nil {
		return bad("does not parse: " + err.Error())
	}
	h, err := hex.DecodeString(b.ChainHash)
	if err != nil || len(h) != 32 || b.Seq == 0 || b.Snapshot == "" || filepath.Base(b.Snapshot) != b.Snapshot || b.SnapSeq < b.Seq {
		return bad("is malformed (seq, chain hash, snapshot name or snapshot sequence)")
	}
	copy(b.hash[:], h)
	return b, nil
}

// writeBase replaces journal/BASE durably (temp file, fsync, rename, fsync dir).
func writeBase(dir string, b journalBase) error {
	b.ChainHash = hex.EncodeToString(b.hash[:])
	out, err := json.MarshalIndent(b, "", "  ")
	if err != nil {
		return err
	}
	return writeFileSync(filepath.Join(dir, baseFile), append(out, '\n'))
}

// keptSegments drops the segments at or below the base: after a crash
// between writing BASE and moving them to quarantine they are still there,
// and they are skipped, not checked.
func keptSegments(segs []segment, b journalBase) []segment {
	for len(segs) > 0 && segs[0].firstSeq <= b.Seq {
		segs = segs[1:]
	}
	return segs
}

// liveSegments lists the kept segments of dir and its base.
func liveSegments(dir string) ([]segment, journalBase, error) {
	b, err := readBase(dir)
	if err != nil {
		return nil, b, err
	}
	segs, err := listSegments(dir)
	if err != nil {
		return nil, b, err
	}
	return keptSegments(segs, b), b, nil
}

// prunedError says that records up to b.Seq are gone and where to start.
func (b journalBase) prunedError(what string) error {
	return fmt.Errorf("%s: journal before sequence %d was pruned; the oldest point you can restore to is sequence %d (snapshot %s): %w",
		what, b.Seq+1, b.SnapSeq, b.Snapshot, ErrJournalPruned)
}

// BaseInfo describes where the kept journal starts, for status.
type BaseInfo struct {
	Seq      uint64 // last pruned sequence (0: nothing pruned)
	Snapshot string // covering snapshot file name
	SnapSeq  uint64
}

// seedFromBase copies the snapshot named by the base into path (which must
// not exist) after checking it against the base and its own tag, so a
// projection can be built from it plus the journal after it.
func seedFromBase(dataDir string, storeID [16]byte, b journalBase, path string) error {
	snap := filepath.Join(dataDir, SnapshotDir, b.Snapshot)
	info, err := VerifySnapshot(snap, hex.EncodeToString(storeID[:]))
	if err != nil {
		return &CorruptionError{Path: snap, Offset: -1, Seq: b.Seq,
			What:   fmt.Sprintf("the journal before sequence %d was pruned and the snapshot that covers it does not verify: %v", b.Seq+1, err),
			Advice: fmt.Sprintf("put the snapshot %s (sequence %d) back into %s, or restore from another snapshot (pimvault restore)", b.Snapshot, b.SnapSeq, filepath.Join(dataDir, SnapshotDir))}
	}
	if info.Seq != b.SnapSeq || info.ChainHash != b.SnapChain || info.StateHash != b.SnapState {
		return &CorruptionError{Path: snap, Offset: -1, Seq: b.Seq,
			What:   fmt.Sprintf("snapshot %s is at sequence %d, the journal base names sequence %d with another tag", b.Snapshot, info.Seq, b.SnapSeq),
			Advice: "put the snapshot named in journal/BASE back, or restore from a snapshot (pimvault restore)"}
	}
	return copyFileSync(snap, path, -1)
}

// JournalBase says where the store's kept journal starts.
func (s *Store) JournalBase() (BaseInfo, error) {
	b, err := readBase(s.opts.JournalDir)
	return BaseInfo{Seq: b.Seq, Snapshot: b.Snapshot, SnapSeq: b.SnapSeq}, err
}

// JournalSize reports the kept journal: its segment count and bytes on disk
// (the admin pages show it next to the head).
func (s *Store) JournalSize() (segments int, bytes int64, err error) {
	segs, _, err := liveSegments(s.opts.JournalDir)
	if err != nil {
		return 0, 0, err
	}
	for _, g := range segs {
		st, err := os.Stat(g.path)
		if err != nil {
			return 0, 0, err
		}
		bytes += st.Size()
	}
	return len(segs), bytes, nil
}
