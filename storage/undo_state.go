package storage

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
)

// memCollection is one collection of a principal's state held in memory:
// the past state replayed from the journal, or the current one read from
// store.db (without bodies).
type memCollection struct {
	kind    string
	props   map[string][]byte
	objects map[string]memObject
}

type memObject struct {
	etag string
	meta ObjectMeta
	body []byte
	lazy bool // the body is in the snapshot the state started from, under the same collection and name
}

// stateAt returns the principal's collections at the target, the target
// sequence and the time of its record. It starts from the newest verified
// snapshot at or before the target (its objects' bodies are read from it only
// when needed, see fillBodies) and replays the principal's records after it;
// without a snapshot it replays the journal from the start. The snapshot is
// tied to the journal: the chain hash of the record at its sequence must be
// the one it was tagged with.
func (s *Store) stateAt(req UndoRequest) (*pastState, error) {
	upTo := s.Head()
	if req.ToSeq > 0 {
		if req.ToSeq > upTo {
			return nil, fmt.Errorf("target sequence %d is after the head %d: %w", req.ToSeq, upTo, ErrInvalidChange)
		}
		upTo = req.ToSeq
	}
	st := &pastState{cols: map[string]*memCollection{}}
	from := uint64(1)
	if snap := s.undoSnapshot(req, upTo); snap != nil {
		db, cols, err := loadPrincipalSnapshot(snap.Path, s.storeID, req.Principal, snap.Seq)
		if err != nil {
			s.log.Warn("undo: snapshot unusable, replaying the journal from the start", "path", snap.Path, "err", err)
		} else {
			st.snap, st.snapPath, st.cols, st.seq, st.when = db, snap.Path, cols, snap.Seq, snap.Time
			from = snap.Seq
		}
	}
	fn := func(r *Record, h [32]byte) error {
		if st.snap != nil && r.Seq == from {
			if hex.EncodeToString(h[:]) != st.snapChain {
				return fmt.Errorf("snapshot at %d does not match the journal (chain hash differs): %w", from, ErrSnapshotInvalid)
			}
			return nil
		}
		if !req.ToTime.IsZero() && r.Time > req.ToTime.UnixNano() {
			return errStopScan
		}
		st.seq, st.when = r.Seq, r.Time
		if r.Principal == req.Principal {
			applyMem(st.cols, r)
		}
		return nil
	}
	var err error
	if st.snap != nil {
		st.snapChain = snapChain(st.snap)
		err = scanJournalFrom(s.opts.JournalDir, s.storeID, from, upTo, fn)
		if err == errStopScan {
			err = nil
		}
	} else {
		_, _, err = scanJournal(s.opts.JournalDir, s.storeID, upTo, fn)
	}
	if err != nil {
		st.close()
		return nil, err
	}
	return st, nil
}

// pastState is the principal's state at the undo target.
type pastState struct {
	cols      map[string]*memCollection
	seq       uint64
	when      int64
	snap      *bolt.DB // the snapshot the state started from, or nil
	snapPath  string
	snapChain string
}

func (p *pastState) close() {
	if p.snap != nil {
		p.snap.Close()
	}
}

// undoSnapshot returns the newest verified snapshot in snapshots/ at or
// before the target, or nil.
func (s *Store) undoSnapshot(req UndoRequest, upTo uint64) *SnapshotInfo {
	all, err := ListSnapshots(filepath.Join(s.dir, SnapshotDir))
	if err != nil {
		return nil
	}
	for i := len(all) - 1; i >= 0; i-- {
		sn := all[i]
		if sn.StoreID != s.id.StoreID || sn.Seq > upTo || sn.Seq == 0 || (!req.ToTime.IsZero() && (sn.Time == 0 || sn.Time > req.ToTime.UnixNano())) {
			continue
		}
		return &sn
	}
	return nil
}

func snapChain(db *bolt.DB) string {
	var h [32]byte
	db.View(func(tx *bolt.Tx) error { _, h = readApplied(tx); return nil })
	return hex.EncodeToString(h[:])
}

// loadPrincipalSnapshot opens a snapshot read-only, checks it is of this
// store at seq, and reads the principal's collections (objects without
// their bodies; the db stays open for fillBodies).
func loadPrincipalSnapshot(path string, storeID [16]byte, principal string, seq uint64) (*bolt.DB, map[string]*memCollection, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		return nil, nil, err
	}
	cols := map[string]*memCollection{}
	err = db.View(func(tx *bolt.Tx) error {
		if tx.Bucket(bktMeta) == nil {
			return ErrSnapshotInvalid
		}
		if _, _, err := initProjection(tx, storeID, path); err != nil {
			return err
		}
		if got, _ := readApplied(tx); got != seq {
			return fmt.Errorf("snapshot is at %d, its tag says %d: %w", got, seq, ErrSnapshotInvalid)
		}
		return readPrincipalCols(tx, principal, "", cols)
	})
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	for _, c := range cols {
		for name, o := range c.objects {
			o.lazy = true
			c.objects[name] = o
		}
	}
	return db, cols, nil
}

// fillBodies reads from the snapshot the bodies of the objects the plan puts
// back that the journal replay did not supply.
func fillBodies(db *bolt.DB, principal string, plan [][]*undoStep) error {
	return db.View(func(tx *bolt.Tx) error {
		for _, phase := range plan {
			for _, st := range phase {
				if !st.lazyBody {
					continue
				}
				cb := collectionBucket(tx, principal, st.lazyFrom)
				var body []byte
				if cb != nil {
					body = cb.Bucket(bktBodies).Get([]byte(st.change.Name))
				}
				if body == nil {
					return fmt.Errorf("snapshot lacks the body of %s/%s: %w", st.lazyFrom, st.change.Name, ErrSnapshotInvalid)
				}
				st.change.Body = bytes.Clone(body)
				if ETagOf(st.change.Body) != st.etag {
					return fmt.Errorf("snapshot body of %s/%s does not match its ETag: %w", st.lazyFrom, st.change.Name, ErrSnapshotInvalid)
				}
			}
		}
		return nil
	})
}

// applyMem is applyRecord for the in-memory state of one principal.
func applyMem(cols map[string]*memCollection, r *Record) {
	switch r.Op {
	case OpDeletePrincipal:
		clear(cols)
	case OpCreateCollection:
		props := map[string][]byte{}
		for k, v := range r.Props {
			props[k] = v
		}
		cols[r.Collection] = &memCollection{kind: r.Kind, props: props, objects: map[string]memObject{}}
	case OpDeleteCollection:
		delete(cols, r.Collection)
	case OpSetProps:
		if c := cols[r.Collection]; c != nil {
			for _, k := range r.Remove {
				delete(c.props, k)
			}
			for k, v := range r.Props {
				c.props[k] = v
			}
		}
	case OpPut:
		if c := cols[r.Collection]; c != nil {
			c.objects[r.Name] = memObject{etag: r.ETag, meta: r.Meta, body: r.Body}
		}
	case OpDelete:
		if c := cols[r.Collection]; c != nil {
			delete(c.objects, r.Name)
		}
	case OpMove:
		src, dst := cols[r.Collection], cols[r.ToCollection]
		if src != nil {
			delete(src.objects, r.Name)
		}
		if dst != nil {
			dst.objects[r.ToName] = memObject{etag: r.ETag, meta: r.Meta, body: r.Body}
		}
	}
}

// currentState reads the principal's live collections (ETags and metadata;
// no bodies, they are not needed to compare).
func (s *Store) currentState(req UndoRequest) (map[string]*memCollection, error) {
	cols := map[string]*memCollection{}
	err := s.view(func(tx *bolt.Tx) error { return readPrincipalCols(tx, req.Principal, req.Collection, cols) })
	return cols, err
}

// readPrincipalCols reads a principal's collections (only collection, when
// set) with their objects' ETags and metadata.
func readPrincipalCols(tx *bolt.Tx, principal, collection string, cols map[string]*memCollection) error {
	p := tx.Bucket(bktData).Bucket([]byte(principal))
	if p == nil {
		return nil
	}
	cb := p.Bucket(bktCols)
	return cb.ForEachBucket(func(k []byte) error {
		if collection != "" && string(k) != collection {
			return nil
		}
		c, err := readCollection(cb.Bucket(k), string(k))
		if err != nil {
			return err
		}
		mc := &memCollection{kind: c.Kind, props: c.Props, objects: map[string]memObject{}}
		err = cb.Bucket(k).Bucket(bktObjects).ForEach(func(name, v []byte) error {
			o, err := decodeObjectValue(v)
			if err != nil {
				return err
			}
			mc.objects[string(name)] = memObject{etag: o.ETag, meta: o.Meta}
			return nil
		})
		cols[string(k)] = mc
		return err
	})
}
