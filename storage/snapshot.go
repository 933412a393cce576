package storage

import (
	"bufio"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// A snapshot is a hot copy of store.db written with bbolt's Tx.WriteTo inside
// one read transaction, so it is the state at exactly one journal sequence.
// Writes continue while it is written: a bbolt read transaction does not
// block the committer, except when the committer must grow bbolt's memory
// map (it then waits for the read transaction to end). Beside the copy
// <file>.json (written atomically after the copy is complete and fsynced)
// tags it with its sequence, chain hash, epoch, store id and state hash. A
// copy without its .json is incomplete and is never used.

// SnapshotDir is the directory of scheduled snapshots inside a data directory.
const SnapshotDir = "snapshots"

const (
	snapshotPrefix = "snap-"
	snapshotExt    = ".db"
	sidecarExt     = ".json"
	snapshotFormat = 1
)

// SnapshotInfo is the sidecar of a snapshot.
type SnapshotInfo struct {
	Format    int       `json:"format"`
	StoreID   string    `json:"store_id"`
	Seq       uint64    `json:"seq"`        // journal sequence the copy has applied
	Time      int64     `json:"time"`       // Unix ns of the record at Seq
	ChainHash string    `json:"chain_hash"` // chain hash at Seq
	Epoch     string    `json:"epoch"`
	StateHash string    `json:"state_hash"` // state hash of the copy (= the store's at Seq)
	Size      int64     `json:"size"`
	Created   time.Time `json:"created"`
	Verified  bool      `json:"verified"`
	Path      string    `json:"-"` // the copy, set when read from disk
}

// Snapshot writes a hot copy of store.db to path (which must not exist) and
// its sidecar path+".json", then verifies the copy: it is opened read-only,
// its meta must name this store, the sequence and chain hash, and its state
// hash must equal the live store's state hash at that sequence.
func (s *Store) Snapshot(ctx context.Context, path string) (SnapshotInfo, error) {
	if _, err := os.Lstat(path); err == nil {
		return SnapshotInfo{}, fmt.Errorf("snapshot %s: %w", path, fs.ErrExist)
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.db == nil {
		return SnapshotInfo{}, ErrClosed
	}
	tx, err := s.db.Begin(false)
	if err != nil {
		return SnapshotInfo{}, err
	}
	info, live, err := writeSnapshotTx(ctx, tx, path)
	tx.Rollback()
	if err != nil {
		os.Remove(path + ".tmp")
		return SnapshotInfo{}, err
	}
	info.StoreID = s.id.StoreID
	info.Time = s.recordTime(info.Seq)
	got, err := checkSnapshotFile(path, s.storeID, info)
	if err != nil {
		quarantineBadSnapshot(s.dir, path)
		return SnapshotInfo{}, err
	}
	if got != live {
		quarantineBadSnapshot(s.dir, path)
		return SnapshotInfo{}, fmt.Errorf("snapshot %s: state hash %s differs from the store's %s at sequence %d: %w", path, got, live, info.Seq, ErrSnapshotInvalid)
	}
	info.StateHash, info.Verified = live, true
	if err := writeSidecar(path, info); err != nil {
		os.Remove(path) // untagged, it is no snapshot and only takes space (a full disk)
		return SnapshotInfo{}, writeError("write the tag of the snapshot", path+".json", err)
	}
	info.Path = path
	s.log.Info("snapshot written and verified", "path", path, "seq", info.Seq, "size", info.Size)
	return info, nil
}

// writeSnapshotTx copies the state of tx to path (via path.tmp, fsynced and
// renamed) and returns its position and the state hash of tx.
func writeSnapshotTx(ctx context.Context, tx *bolt.Tx, path string) (SnapshotInfo, string, error) {
	var info SnapshotInfo
	seq, chain := readApplied(tx)
	info.Format, info.Seq, info.ChainHash = snapshotFormat, seq, hex.EncodeToString(chain[:])
	info.Epoch = string(tx.Bucket(bktMeta).Get(keyEpoch))
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return info, "", err
	}
	// The state hash of the live transaction is computed while the copy is
	// written: two passes over the same pages, on two cores.
	hashc := make(chan string, 1)
	go func() { hashc <- digestTx(tx).sum() }()
	// Flushing the copy to disk every 32 MiB keeps the kernel from holding
	// gigabytes of dirty pages, which would make the journal's fdatasync
	// (and so every write's acknowledgement) wait behind them.
	w := bufio.NewWriterSize(&syncEvery{f: f, every: 32 << 20}, 1<<20)
	n, err := tx.WriteTo(w)
	if err == nil {
		err = w.Flush()
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	live := <-hashc
	if err == nil {
		err = ctx.Err()
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err == nil {
		err = syncDir(filepath.Dir(path))
	}
	info.Size, info.Created = n, time.Now().UTC()
	return info, live, err
}

// syncEvery writes to f and fdatasyncs it every so many bytes.
type syncEvery struct {
	f       *os.File
	every   int64
	pending int64
}

func (w *syncEvery) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	w.pending += int64(n)
	if err == nil && w.pending >= w.every {
		w.pending = 0
		err = fdatasync(w.f)
	}
	return n, err
}

// recordTime returns the time of the journal record at seq, 0 when unknown.
func (s *Store) recordTime(seq uint64) int64 {
	var t int64
	if seq == 0 {
		return 0
	}
	scanJournalFrom(s.opts.JournalDir, s.storeID, seq, seq, func(r *Record, _ [32]byte) error {
		t = r.Time
		return nil
	})
	return t
}

// checkSnapshotFile opens a snapshot copy read-only, checks its meta against
// want (store id, sequence, chain hash) and returns its state hash.
func checkSnapshotFile(path string, storeID [16]byte, want SnapshotInfo) (string, error) {
	return checkSnapshotCopy(path, storeID, want, false)
}

// checkSnapshotCopy is checkSnapshotFile; with anyOlder, a copy of an
// older schema that this build reads only after migrating it is accepted
// too (the snapshot an upgrade takes of the store.db it is about to
// migrate: the state hash does not depend on the layout).
func checkSnapshotCopy(path string, storeID [16]byte, want SnapshotInfo, anyOlder bool) (string, error) {
	db, err := openBolt(path, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		return "", fmt.Errorf("snapshot %s does not open: %v: %w", path, err, ErrSnapshotInvalid)
	}
	defer db.Close()
	var hash string
	err = viewSafe(db, func(tx *bolt.Tx) error {
		if tx.Bucket(bktMeta) == nil || tx.Bucket(bktData) == nil {
			return fmt.Errorf("snapshot %s holds no pimvault store: %w", path, ErrSnapshotInvalid)
		}
		check := checkSnapshotProjection
		if anyOlder {
			check = func(tx *bolt.Tx, storeID [16]byte, path string) (uint64, [32]byte, error) {
				a, h, _, err := checkProjection(tx, storeID, path)
				return a, h, err
			}
		}
		if _, _, err := check(tx, storeID, path); err != nil {
			return fmt.Errorf("snapshot %s: %v: %w", path, err, ErrSnapshotInvalid)
		}
		seq, chain := readApplied(tx)
		if seq != want.Seq || hex.EncodeToString(chain[:]) != want.ChainHash {
			return fmt.Errorf("snapshot %s is at sequence %d (chain %x), its tag says %d (chain %s): %w", path, seq, chain, want.Seq, want.ChainHash, ErrSnapshotInvalid)
		}
		hash = digestTx(tx).sum()
		return nil
	})
	return hash, err
}

func writeSidecar(path string, info SnapshotInfo) error {
	b, err := json.MarshalIndent(info, "", "  ")
	if err != nil {
		return err
	}
	return writeFileSync(path+sidecarExt, append(b, '\n'))
}

// ReadSnapshotInfo reads the sidecar of the snapshot at path.
func ReadSnapshotInfo(path string) (SnapshotInfo, error) {
	var info SnapshotInfo
	b, err := os.ReadFile(path + sidecarExt)
	if err != nil {
		return info, fmt.Errorf("snapshot %s has no readable tag %s%s (incomplete?): %w", path, path, sidecarExt, err)
	}
	if err := json.Unmarshal(b, &info); err != nil {
		return info, fmt.Errorf("snapshot tag %s%s: %v: %w", path, sidecarExt, err, ErrSnapshotInvalid)
	}
	if info.Format != snapshotFormat {
		return info, fmt.Errorf("snapshot tag %s%s: format %d not supported: %w", path, sidecarExt, info.Format, ErrSnapshotInvalid)
	}
	info.Path = path
	return info, nil
}

// VerifySnapshot checks a snapshot file against its tag and a store id.
func VerifySnapshot(path, storeID string) (SnapshotInfo, error) {
	info, err := ReadSnapshotInfo(path)
	if err != nil {
		return info, err
	}
	if info.StoreID != storeID {
		return info, fmt.Errorf("snapshot %s belongs to store %s, not %s: %w", path, info.StoreID, storeID, ErrSnapshotInvalid)
	}
	raw, err := Identity{StoreID: storeID}.rawID()
	if err != nil {
		return info, err
	}
	got, err := checkSnapshotFile(path, raw, info)
	if err != nil {
		return info, err
	}
	if got != info.StateHash {
		return info, fmt.Errorf("snapshot %s: state hash %s, its tag says %s: %w", path, got, info.StateHash, ErrSnapshotInvalid)
	}
	return info, nil
}

func quarantineBadSnapshot(dir, path string) {
	for _, p := range []string{path, path + sidecarExt} {
		if _, err := os.Stat(p); err == nil {
			quarantine(dir, p)
		}
	}
}

// ListSnapshots returns the tagged, verified snapshots in dir (a data
// directory's snapshots/ or any folder of backups), oldest first.
func ListSnapshots(dir string) ([]SnapshotInfo, error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []SnapshotInfo
	for _, e := range ents {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, sidecarExt) {
			continue
		}
		path := filepath.Join(dir, strings.TrimSuffix(name, sidecarExt))
		info, err := ReadSnapshotInfo(path)
		if err != nil || !info.Verified {
			continue
		}
		if _, err := os.Stat(path); err != nil {
			continue
		}
		out = append(out, info)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Seq < out[j].Seq })
	return out, nil
}

// SnapshotScheduled writes a snapshot into <data dir>/snapshots/ and deletes
// the oldest ones beyond keep (0 keeps all). Deleting is safe: a snapshot is
// a copy, and the journal still holds every record it was made from (unless
// retention pruned it, which it does only for segments a kept snapshot covers).
func (s *Store) SnapshotScheduled(ctx context.Context, keep int) (SnapshotInfo, []string, error) {
	dir := filepath.Join(s.dir, SnapshotDir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return SnapshotInfo{}, nil, err
	}
	name := fmt.Sprintf("%s%020d-%s%s", snapshotPrefix, s.Head(), time.Now().UTC().Format("20060102T150405Z"), snapshotExt)
	info, err := s.Snapshot(ctx, filepath.Join(dir, name))
	if err != nil {
		return info, nil, err
	}
	var removed []string
	if keep > 0 {
		all, err := ListSnapshots(dir)
		if err != nil {
			return info, nil, err
		}
		base, err := readBase(s.opts.JournalDir)
		if err != nil {
			return info, nil, err
		}
		for i := 0; i < len(all)-keep; i++ {
			if base.Seq > 0 && filepath.Base(all[i].Path) == base.Snapshot {
				continue // the journal before its base needs it
			}
			if strings.HasPrefix(filepath.Base(all[i].Path), preUpgradePrefix) {
				continue // the way back from an upgrade: removed only by hand
			}
			for _, p := range []string{all[i].Path + sidecarExt, all[i].Path} {
				if err := os.Remove(p); err != nil {
					return info, removed, err
				}
			}
			removed = append(removed, all[i].Path)
		}
	}
	return info, removed, nil
}
