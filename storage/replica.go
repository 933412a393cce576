package storage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
)

// ErrUnavailable: the store cannot take writes for now (its replication
// stream is out of reach, too far behind, or this store is a standby);
// reads go on. The server answers 503 with Retry-After.
var ErrUnavailable = errors.New("writes unavailable")

// UnavailableError says why writes are refused and when to try again.
type UnavailableError struct {
	Why        string
	RetryAfter time.Duration
}

func (e *UnavailableError) Error() string { return "writes unavailable: " + e.Why }

func (e *UnavailableError) Unwrap() error { return ErrUnavailable }

// Replicator is called by the committer around each batch: Ready before
// anything is written (an error refuses the whole batch, nothing is
// written), Replicate after the batch's records are fsynced in the local
// journal and applied, before any waiter is answered. An error from
// Replicate is returned to every waiter whose change made a record: those
// records stay in the local journal (it is the store's order), and the
// Replicator must send them before it reports Ready again.
type Replicator interface {
	Ready() error
	Replicate(first uint64, frames [][]byte) error
}

// statusReporter is a Replicator that describes itself for status.
type statusReporter interface {
	Status() string
}

type replicatorBox struct{ r Replicator }

// SetReplicator installs r (nil removes it). It takes effect from the next batch.
func (s *Store) SetReplicator(r Replicator) {
	if r == nil {
		s.repl.Store(nil)
		return
	}
	s.repl.Store(&replicatorBox{r})
}

// ReplicationStatus is the installed Replicator's status text, "" without one.
func (s *Store) ReplicationStatus() string {
	if b := s.repl.Load(); b != nil {
		if sr, ok := b.r.(statusReporter); ok {
			return sr.Status()
		}
	}
	return ""
}

// Replicator returns the installed Replicator (nil: none).
func (s *Store) Replicator() Replicator { return s.replicator() }

func (s *Store) replicator() Replicator {
	if b := s.repl.Load(); b != nil {
		return b.r
	}
	return nil
}

// replicate hands the frames of a written batch to the Replicator and turns
// its error into the answer of every change that made a record.
func (s *Store) replicate(first uint64, frames [][]byte, results []response) {
	r := s.replicator()
	if r == nil || len(frames) == 0 {
		return
	}
	if err := r.Replicate(first, frames); err != nil {
		for i := range results {
			if results[i].err == nil && results[i].res.Seq != 0 {
				results[i] = response{err: err}
			}
		}
	}
}

// FrameInfo is one journal frame, byte for byte, with what a replica needs
// to place it: its sequence, time, the chain hash before it and its own.
type FrameInfo struct {
	Seq   uint64
	Time  int64
	Op    Op
	Prev  [32]byte
	Hash  [32]byte
	Frame []byte
}

// ParseFrames splits b (frames back to back, as in a journal segment after
// its header) into frames, checking each one's checksum and payload, and
// that sequences are contiguous and each frame chains to the one before.
func ParseFrames(b []byte) ([]FrameInfo, error) {
	var out []FrameInfo
	for off := 0; off < len(b); {
		r, n, h, err := decodeFrame(b[off:])
		if err != nil {
			return nil, fmt.Errorf("frame at offset %d: %v: %w", off, err, ErrCorrupt)
		}
		if k := len(out); k > 0 && (r.Seq != out[k-1].Seq+1 || r.Prev != out[k-1].Hash) {
			return nil, fmt.Errorf("frame at offset %d (sequence %d) does not follow sequence %d: %w", off, r.Seq, out[k-1].Seq, ErrCorrupt)
		}
		out = append(out, FrameInfo{Seq: r.Seq, Time: r.Time, Op: r.Op, Prev: r.Prev, Hash: h, Frame: b[off : off+n]})
		off += n
	}
	return out, nil
}

// ReadFrames passes the frames of the local journal from sequence from up to
// and including upTo (at most the head) to fn, byte for byte, after checking
// the segments, sequences and the hash chain from the journal's base.
func (s *Store) ReadFrames(from, upTo uint64, fn func(FrameInfo) error) error {
	if h := s.head.Load(); upTo > h {
		upTo = h
	}
	if from == 0 {
		from = 1
	}
	if from > upTo {
		return nil
	}
	segs, base, err := liveSegments(s.opts.JournalDir)
	if err != nil {
		return err
	}
	if from <= base.Seq {
		return base.prunedError(fmt.Sprintf("read the journal from sequence %d", from))
	}
	// Open checked the whole chain; here each frame read is checked against
	// the one before it, starting at the first segment read.
	lastSeq, lastHash := base.Seq, base.hash
	started := false
	for i, seg := range segs {
		if i+1 < len(segs) && segs[i+1].firstSeq <= from {
			continue // every record of this segment is before from
		}
		b, err := os.ReadFile(seg.path)
		if err != nil {
			return err
		}
		if msg := checkSegHeader(b, s.storeID, seg.firstSeq); msg != "" {
			return &CorruptionError{Path: seg.path, Offset: 0, What: msg, Advice: adviceRestore}
		}
		for off := int64(segHeaderLen); off < int64(len(b)); {
			r, n, h, derr := decodeFrame(b[off:])
			if derr != nil {
				return &CorruptionError{Path: seg.path, Offset: off, Seq: lastSeq + 1, What: "damaged record (" + derr.Error() + ")", Advice: adviceRestore}
			}
			if started && (r.Seq != lastSeq+1 || r.Prev != lastHash) {
				return &CorruptionError{Path: seg.path, Offset: off, Seq: r.Seq, What: "hash chain broken while reading frames", Advice: adviceRestore}
			}
			started = true
			if r.Seq >= from {
				if err := fn(FrameInfo{Seq: r.Seq, Time: r.Time, Op: r.Op, Prev: r.Prev, Hash: h, Frame: b[off : off+int64(n)]}); err != nil {
					return err
				}
			}
			lastSeq, lastHash = r.Seq, h
			off += int64(n)
			if lastSeq >= upTo {
				return nil
			}
		}
	}
	if lastSeq < upTo {
		return &CorruptionError{Path: s.opts.JournalDir, Offset: -1, Seq: lastSeq + 1,
			What: fmt.Sprintf("journal ends at sequence %d, expected %d", lastSeq, upTo), Advice: adviceRestore}
	}
	return nil
}

// ChainHash returns the sequence and chain hash of the last acknowledged record.
func (s *Store) ChainHash() (uint64, [32]byte, error) {
	var seq uint64
	var h [32]byte
	err := s.view(func(tx *bolt.Tx) error {
		seq, h = readApplied(tx)
		return nil
	})
	return seq, h, err
}

// AppendFrames appends records written by another store of the same
// identity (a primary, through its replication stream) to this one's
// journal and projection. Each frame must be the next sequence and chain to
// the record before it; a frame that does not is refused with nothing
// written. It runs on the committer, between batches. It returns the head.
func (s *Store) AppendFrames(ctx context.Context, frames []FrameInfo) (uint64, error) {
	if len(frames) == 0 {
		return s.head.Load(), nil
	}
	err := s.exclusive(ctx, func() error { return s.appendFrames(frames) })
	return s.head.Load(), err
}

func (s *Store) appendFrames(frames []FrameInfo) error {
	if p := s.failed.Load(); p != nil {
		return *p
	}
	head, hash := s.head.Load(), s.lastHash
	raw := make([][]byte, len(frames))
	recs := make([]*Record, len(frames))
	for i, f := range frames {
		r, n, h, err := decodeFrame(f.Frame)
		if err != nil || n != len(f.Frame) {
			return fmt.Errorf("replicated record %d does not decode: %v: %w", f.Seq, err, ErrCorrupt)
		}
		if r.Seq != head+1 || r.Prev != hash {
			return fmt.Errorf("replicated record %d does not follow the local journal at sequence %d (its chain differs): %w", r.Seq, head, ErrCorrupt)
		}
		recs[i], raw[i] = r, f.Frame
		head, hash = r.Seq, h
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	tx, err := s.db.Begin(true)
	if err != nil {
		return err
	}
	for _, r := range recs {
		if err := applyRecord(tx, r); err != nil {
			tx.Rollback()
			return fmt.Errorf("apply replicated record %d: %w", r.Seq, err)
		}
	}
	fail := func(err error) error {
		err = fmt.Errorf("store failed, reopen it to recover: %w", err)
		s.failed.CompareAndSwap(nil, &err)
		return err
	}
	if err := s.j.append(raw, s.head.Load()+1); err != nil {
		tx.Rollback()
		return fail(err)
	}
	if err := setApplied(tx, head, hash); err != nil {
		tx.Rollback()
		return fail(err)
	}
	if err := tx.Commit(); err != nil {
		return fail(err)
	}
	s.lastHash = hash
	s.head.Store(head)
	if head >= s.hwSeq+HighWaterEvery {
		if err := s.writeHighWater(head, hash); err != nil {
			s.log.Warn("could not write the high-water mark", "err", err)
		}
	}
	return nil
}

// PrepareStandbyDir makes dir ready to hold a copy of the store storeID: it
// writes IDENTITY with that id when dir holds no store, and refuses a dir
// that holds another store.
func PrepareStandbyDir(dir, storeID string) error {
	if _, err := (Identity{StoreID: storeID}).rawID(); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	path := filepath.Join(dir, identityFile)
	_, id, err := readIdentityFile(dir)
	switch {
	case err == nil && id.StoreID == storeID:
		return nil
	case err == nil:
		return fmt.Errorf("%s holds store %s, not %s: follow into an empty directory", dir, id.StoreID, storeID)
	case !errors.Is(err, fs.ErrNotExist):
		return err
	}
	if segs, _ := listSegments(filepath.Join(dir, "journal")); len(segs) > 0 {
		return fmt.Errorf("%s has a journal but no IDENTITY: %w", dir, ErrCorrupt)
	}
	out, _ := json.MarshalIndent(Identity{Format: identityFormat, StoreID: storeID, Created: time.Now().UTC()}, "", "  ")
	return writeFileSync(path, append(out, '\n'))
}
