package storage

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash"
	"os"
	"path/filepath"
	"runtime/debug"
	"sort"
	"time"

	bolt "go.etcd.io/bbolt"
)

// The state hash is a SHA-256 over every bucket and key of store.db in key
// order. Replay is deterministic, so a store.db written live and one rebuilt
// from the same journal have the same state hash. It is computed per part
// (meta, epochs, principals, each principal's collection tombstones and each
// collection), so a difference can be named.

type stateDigest struct {
	parts map[string][32]byte
}

func (d stateDigest) sum() string {
	keys := make([]string, 0, len(d.parts))
	for k := range d.parts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	h := sha256.New()
	for _, k := range keys {
		v := d.parts[k]
		h.Write([]byte(k))
		h.Write([]byte{0})
		h.Write(v[:])
	}
	return hex.EncodeToString(h.Sum(nil))
}

func hashBucket(h hash.Hash, b *bolt.Bucket) {
	var n [8]byte
	b.ForEach(func(k, v []byte) error {
		binary.BigEndian.PutUint64(n[:], uint64(len(k)))
		h.Write(n[:])
		h.Write(k)
		if v == nil {
			h.Write([]byte{'B'})
			hashBucket(h, b.Bucket(k))
			h.Write([]byte{'E'})
			return nil
		}
		binary.BigEndian.PutUint64(n[:], uint64(len(v)))
		h.Write([]byte{'V'})
		h.Write(n[:])
		h.Write(v)
		return nil
	})
}

func digestOf(b *bolt.Bucket) [32]byte {
	h := sha256.New()
	hashBucket(h, b)
	var out [32]byte
	copy(out[:], h.Sum(nil))
	return out
}

func digestTx(tx *bolt.Tx) stateDigest {
	d := stateDigest{parts: map[string][32]byte{}}
	d.parts[string(bktMeta)] = digestMeta(tx.Bucket(bktMeta))
	for _, name := range [][]byte{bktEpochs, bktPrincipals} {
		d.parts[string(name)] = digestOf(tx.Bucket(name))
	}
	data := tx.Bucket(bktData)
	data.ForEachBucket(func(p []byte) error {
		pb := data.Bucket(p)
		d.parts["data/"+string(p)+"/coltombs"] = digestOf(pb.Bucket(bktColTombs))
		if sb := pb.Bucket(bktState); sb != nil {
			d.parts["data/"+string(p)+"/state"] = digestOf(sb)
		}
		cols := pb.Bucket(bktCols)
		cols.ForEachBucket(func(c []byte) error {
			d.parts["data/"+string(p)+"/cols/"+string(c)] = digestOf(cols.Bucket(c))
			return nil
		})
		return nil
	})
	return d
}

// StateHash returns the state hash of store.db and the sequence it is at.
func (s *Store) StateHash() (hash string, seq uint64, err error) {
	err = s.view(func(tx *bolt.Tx) error {
		seq, _ = readApplied(tx)
		hash = digestTx(tx).sum()
		return nil
	})
	return hash, seq, err
}

// VerifyReport is the outcome of Verify.
type VerifyReport struct {
	Seq         uint64        // sequence verified up to
	Records     uint64        // journal records checked
	ChainHash   string        // chain hash at Seq
	StateHash   string        // state hash of store.db
	ReplayHash  string        // state hash of a fresh replay of the journal
	Differences []string      // what differs between store.db and the replay
	BoltCheck   []string      // what bbolt's own consistency check found in store.db
	Took        time.Duration //
}

// OK reports whether the store verified.
func (r *VerifyReport) OK() bool {
	return len(r.Differences) == 0 && len(r.BoltCheck) == 0 && r.StateHash == r.ReplayHash
}

func (r *VerifyReport) String() string {
	var b bytes.Buffer
	fmt.Fprintf(&b, "journal: %d records, hash chain intact up to sequence %d (chain hash %s)\n", r.Records, r.Seq, r.ChainHash)
	fmt.Fprintf(&b, "store.db state hash: %s\n", r.StateHash)
	fmt.Fprintf(&b, "replay state hash:   %s\n", r.ReplayHash)
	if len(r.BoltCheck) == 0 {
		fmt.Fprintf(&b, "store.db bbolt consistency check: OK\n")
	} else {
		fmt.Fprintf(&b, "DAMAGED: bbolt's consistency check of store.db found:\n")
		for _, p := range r.BoltCheck {
			fmt.Fprintf(&b, "  - %s\n", p)
		}
	}
	if r.OK() {
		fmt.Fprintf(&b, "OK: store.db equals a replay of the journal (%s)\n", r.Took.Round(time.Millisecond))
		return b.String()
	}
	fmt.Fprintf(&b, "DIFFERENT: store.db does not equal a replay of the journal:\n")
	for _, d := range r.Differences {
		fmt.Fprintf(&b, "  - %s\n", d)
	}
	fmt.Fprintf(&b, "%s\n", adviceRebuild)
	return b.String()
}

// Verify checks the journal's hash chain from its base (the first record,
// or the covering snapshot after retention pruned: base.go) and that
// store.db equals a fresh replay of the journal up to the sequence store.db
// has applied, and runs bbolt's own consistency check on store.db. Damage
// in the journal is returned as a *CorruptionError; a differing or damaged
// store.db is reported in the report (OK() is false).
func (s *Store) Verify(ctx context.Context) (*VerifyReport, error) { return s.VerifyIn(ctx, "") }

// VerifyIn is Verify with its replay built in a temporary directory under
// scratch ("" for the data directory), which must have room for it
// (scratch.go).
func (s *Store) VerifyIn(ctx context.Context, scratch string) (rep *VerifyReport, err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if p := recover(); p != nil {
			rep, err = nil, boltDamage(filepath.Join(s.dir, dbFile), p)
		}
	}()
	start := time.Now()
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.db == nil {
		return nil, ErrClosed
	}
	tx, err := s.db.Begin(false)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	applied, appliedHash := readApplied(tx)
	need := s.scratchNeed(false)
	tmp, err := s.scratchDir(scratch, "verify-", "verify", need)
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	replay, lastHash, n, err := s.replayInto(ctx, filepath.Join(tmp, dbFile), applied)
	if err != nil {
		return nil, scratchWriteError("verify", tmp, need, err)
	}
	defer replay.Close()
	rep = &VerifyReport{Seq: applied, Records: n, ChainHash: hex.EncodeToString(lastHash[:])}
	if rep.BoltCheck, err = checkBolt(tx, 20); err != nil {
		return nil, err
	}
	if lastHash != appliedHash {
		rep.Differences = append(rep.Differences, fmt.Sprintf("store.db says the chain hash at %d is %x, the journal says %x", applied, appliedHash, lastHash))
	}
	live := digestTx(tx)
	var fresh stateDigest
	replay.View(func(rtx *bolt.Tx) error {
		fresh = digestTx(rtx)
		rep.Differences = append(rep.Differences, diffStates(tx, rtx, live, fresh)...)
		return nil
	})
	rep.StateHash, rep.ReplayHash = live.sum(), fresh.sum()
	rep.Took = time.Since(start)
	return rep, nil
}

// replayInto builds a new store.db at path from the journal up to upTo.
func (s *Store) replayInto(ctx context.Context, path string, upTo uint64) (*bolt.DB, [32]byte, uint64, error) {
	return s.replayIntoMode(ctx, path, upTo, replayScratch)
}

// replayIntoMode is replayInto for a database that is thrown away after use
// (replayScratch) or kept (replayRebuild).
func (s *Store) replayIntoMode(ctx context.Context, path string, upTo uint64, mode replayMode) (*bolt.DB, [32]byte, uint64, error) {
	var zero [32]byte
	base, err := readBase(s.opts.JournalDir)
	if err != nil {
		return nil, zero, 0, err
	}
	if base.Seq > 0 {
		// The journal before the base was pruned: start from the snapshot
		// that covers it (checked against its tag and the base).
		if upTo < base.SnapSeq {
			return nil, zero, 0, base.prunedError(fmt.Sprintf("replay up to sequence %d", upTo))
		}
		if err := seedFromBase(s.dir, s.storeID, base, path); err != nil {
			return nil, zero, 0, err
		}
		mode = replayCatchUp
	}
	db, err := openBolt(path, &bolt.Options{NoSync: true, NoGrowSync: true, NoFreelistSync: true,
		InitialMmapSize: mmapHint(s.opts.JournalDir), PageSize: projectionPageSize})
	if err != nil {
		return nil, zero, 0, err
	}
	if err := updateSafe(db, func(tx *bolt.Tx) error {
		_, _, err := initCopy(tx, s.storeID, path)
		return err
	}); err != nil {
		db.Close()
		return nil, zero, 0, err
	}
	var seedSeq uint64
	var seedHash [32]byte
	if base.Seq > 0 {
		db.View(func(tx *bolt.Tx) error {
			seedSeq, seedHash = readApplied(tx)
			return nil
		})
	}
	rp := newReplayer(db, mode)
	var n uint64
	_, last, err := scanJournal(s.opts.JournalDir, s.storeID, upTo, func(r *Record, h [32]byte) error {
		if r.Seq <= seedSeq {
			if r.Seq == seedSeq && h != seedHash {
				return &CorruptionError{Path: path, Offset: -1, Seq: r.Seq, What: "the snapshot named in journal/BASE does not match the journal at its sequence", Advice: adviceRestore}
			}
			return nil
		}
		n++
		if n%4096 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		return rp.add(r, h)
	})
	if err == nil {
		err = rp.finish()
	} else {
		rp.abort()
	}
	if err != nil {
		db.Close()
		return nil, zero, 0, err
	}
	return db, last, n, nil
}

// diffStates names the parts that differ and, inside a differing collection,
// the first objects that differ.
func diffStates(a, b *bolt.Tx, da, db stateDigest) []string {
	var out []string
	keys := map[string]bool{}
	for k := range da.parts {
		keys[k] = true
	}
	for k := range db.parts {
		keys[k] = true
	}
	sorted := make([]string, 0, len(keys))
	for k := range keys {
		sorted = append(sorted, k)
	}
	sort.Strings(sorted)
	for _, k := range sorted {
		va, ina := da.parts[k]
		vb, inb := db.parts[k]
		switch {
		case !inb:
			out = append(out, k+": in store.db but not in the journal")
		case !ina:
			out = append(out, k+": in the journal but missing from store.db")
		case va != vb:
			out = append(out, k+": differs"+objectDiff(a, b, k))
		}
	}
	return out
}

func objectDiff(a, b *bolt.Tx, part string) string {
	var p, c string
	if n, _ := fmt.Sscanf(part, "data/%s", &p); n != 1 {
		return ""
	}
	i := bytes.Index([]byte(p), []byte("/cols/"))
	if i < 0 {
		return ""
	}
	p, c = p[:i], p[i+len("/cols/"):]
	ca, cb := collectionBucket(a, p, c), collectionBucket(b, p, c)
	if ca == nil || cb == nil {
		return ""
	}
	var names []string
	for _, bk := range [][]byte{bktObjects, bktBodies} {
		x, y := ca.Bucket(bk), cb.Bucket(bk)
		x.ForEach(func(k, v []byte) error {
			if !bytes.Equal(y.Get(k), v) {
				names = append(names, string(k))
			}
			return nil
		})
		y.ForEach(func(k, v []byte) error {
			if x.Get(k) == nil {
				names = append(names, string(k))
			}
			return nil
		})
	}
	sort.Strings(names)
	names = dedupe(names)
	if len(names) == 0 {
		return " (indexes or properties)"
	}
	if len(names) > 10 {
		return fmt.Sprintf(" (objects %q and %d more)", names[:10], len(names)-10)
	}
	return fmt.Sprintf(" (objects %q)", names)
}

func dedupe(s []string) []string {
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}

// Rebuild builds a new store.db from the journal alone and swaps it in; the
// old store.db is moved to quarantine/. Writes wait while it runs.
func (s *Store) Rebuild(ctx context.Context) (quarantined string, err error) {
	err = s.exclusive(ctx, func() error {
		path := filepath.Join(s.dir, dbFile)
		tmp := path + rebuildSuffix
		os.Remove(tmp)
		db, _, _, err := s.replayIntoMode(ctx, tmp, s.head.Load(), replayRebuild)
		if err != nil {
			return err
		}
		db.NoSync = false
		if err := db.Sync(); err != nil {
			db.Close()
			return err
		}
		db.Close()
		s.mu.Lock()
		defer s.mu.Unlock()
		if err := s.db.Close(); err != nil {
			return err
		}
		s.db = nil
		if quarantined, err = quarantine(s.dir, path); err != nil {
			return err
		}
		if err := os.Rename(tmp, path); err != nil {
			return err
		}
		if err := syncDir(s.dir); err != nil {
			return err
		}
		if s.db, err = s.openDB(path); err != nil {
			s.failed.CompareAndSwap(nil, &err)
		}
		return err
	})
	return quarantined, err
}

// OpenExisting opens a store that must already exist in dir (it has an
// IDENTITY file). Admin commands use it so a typo never creates a new store.
func OpenExisting(dir string, opts Options) (*Store, error) {
	if _, err := os.Stat(filepath.Join(dir, identityFile)); err != nil {
		return nil, fmt.Errorf("%s holds no pimvault store (no %s): %w", dir, identityFile, ErrNotFound)
	}
	return Open(dir, opts)
}

// RebuildDir rebuilds store.db of a store that is not open anywhere: it moves
// store.db to quarantine/ and opens the store, which replays the whole journal.
func RebuildDir(dir string, opts Options) (quarantined string, err error) {
	if _, err := os.Stat(filepath.Join(dir, identityFile)); err != nil {
		return "", fmt.Errorf("%s holds no pimvault store (no %s): %w", dir, identityFile, ErrNotFound)
	}
	lock, err := lockDir(dir)
	if err != nil {
		return "", err
	}
	// Nothing is moved from a directory that a newer pimvault wrote.
	if err := refuseNewer(dir, opts); err != nil {
		lock.unlock()
		return "", err
	}
	path := filepath.Join(dir, dbFile)
	if _, err := os.Stat(path); err == nil {
		if quarantined, err = quarantine(dir, path); err != nil {
			lock.unlock()
			return "", err
		}
	}
	if err := opts.Validate(); err != nil {
		lock.unlock()
		return quarantined, err
	}
	s, err := openLocked(dir, opts.withDefaults(dir), lock)
	if err != nil {
		return quarantined, err
	}
	return quarantined, s.Close()
}
