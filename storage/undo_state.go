package storage

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"slices"
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

// stateAt returns the principal's state at the target. It reads the
// journal up to the head once: the principal's records up to the target
// build the past state, and those after it say which objects changed since
// (only those can differ from the current state). It starts from the newest
// verified snapshot at or before the target, reading from it only the
// objects changed since (their bodies only when they are put back, see
// fillBodies); without a snapshot it replays the journal from the start. The
// snapshot is tied to the journal: the chain hash of the record at its
// sequence must be the one it holds.
func (s *Store) stateAt(req UndoRequest) (*pastState, error) {
	head := s.Head()
	if !req.ToTime.IsZero() {
		if err := CheckTimeArg("target time", req.ToTime, time.Now()); err != nil {
			return nil, err
		}
	}
	if req.ToSeq > head {
		return nil, fmt.Errorf("target sequence %d is after the head %d: %w", req.ToSeq, head, ErrInvalidChange)
	}
	bound := head
	if req.ToSeq > 0 {
		bound = req.ToSeq
	}
	st := &pastState{cols: map[string]*memCollection{}, touched: newTouchSet()}
	from := uint64(1)
	snap := s.undoSnapshot(req, bound)
	base, err := readBase(s.opts.JournalDir)
	if err != nil {
		return nil, err
	}
	if base.Seq > 0 && (snap == nil || snap.Seq < base.Seq) {
		return nil, base.prunedError("undo")
	}
	var chain string
	if snap != nil {
		from, st.seq, st.when, chain = snap.Seq, snap.Seq, snap.Time, snap.ChainHash
	}
	var before []*Record // with a snapshot: the principal's records up to the target
	after := false
	fn := func(r *Record, h [32]byte) error {
		if snap != nil && r.Seq == from {
			if hex.EncodeToString(h[:]) != chain {
				return fmt.Errorf("snapshot at %d does not match the journal (chain hash differs): %w", from, ErrSnapshotInvalid)
			}
			return nil
		}
		after = after || (req.ToSeq > 0 && r.Seq > req.ToSeq) || (!req.ToTime.IsZero() && r.Time > unixNanos(req.ToTime))
		if r.Principal != req.Principal {
			if !after {
				st.seq, st.when = r.Seq, r.Time
			}
			return nil
		}
		switch {
		case after:
			st.touched.add(r)
		case snap != nil:
			st.seq, st.when = r.Seq, r.Time
			before = append(before, r)
		default:
			st.seq, st.when = r.Seq, r.Time
			applyMem(st.cols, r)
			st.noteAccount(r)
		}
		return nil
	}
	if snap != nil {
		err = scanJournalFrom(s.opts.JournalDir, s.storeID, from, head, fn)
	} else {
		_, _, err = scanJournal(s.opts.JournalDir, s.storeID, head, fn)
	}
	if err != nil {
		return nil, err
	}
	if snap != nil {
		db, cols, err := loadPrincipalSnapshot(snap.Path, s.storeID, req.Principal, snap.Seq, st.touched)
		if err != nil {
			return nil, fmt.Errorf("undo from snapshot %s: %w", snap.Path, err)
		}
		st.snap, st.snapPath, st.cols = db, snap.Path, cols
		if err := db.View(func(tx *bolt.Tx) error {
			live, _, data, err := decodePrincipal(tx.Bucket(bktPrincipals).Get([]byte(req.Principal)))
			st.live, st.account = err == nil && live, bytes.Clone(data)
			return nil
		}); err != nil {
			db.Close()
			return nil, err
		}
		for _, r := range before {
			applyMem(st.cols, r)
			st.noteAccount(r)
		}
	}
	return st, nil
}

// touchSet is what changed in a principal's data after the undo target.
type touchSet struct {
	all   bool            // the principal was deleted: everything
	whole map[string]bool // collections created or deleted
	names map[string]map[string]bool
	// by: for each object changed by someone other than the principal (a
	// sharee, Record ActorKey), who changed it, in order.
	by map[[2]string][]string
}

func newTouchSet() *touchSet {
	return &touchSet{whole: map[string]bool{}, names: map[string]map[string]bool{}, by: map[[2]string][]string{}}
}

func (t *touchSet) add(r *Record) {
	switch r.Op {
	case OpDeletePrincipal:
		t.all = true
	case OpCreateCollection, OpDeleteCollection:
		t.whole[r.Collection] = true
	case OpPut, OpDelete:
		t.name(r.Collection, r.Name)
		if actor := string(r.Props[ActorKey]); actor != "" {
			k := [2]string{r.Collection, r.Name}
			if !slices.Contains(t.by[k], actor) {
				t.by[k] = append(t.by[k], actor)
			}
		}
	case OpMove:
		t.name(r.Collection, r.Name)
		t.name(r.ToCollection, r.ToName)
	}
}

func (t *touchSet) name(col, name string) {
	if t.names[col] == nil {
		t.names[col] = map[string]bool{}
	}
	t.names[col][name] = true
}

// objects says which objects of a collection may differ: all of them, or
// the names listed.
func (t *touchSet) objects(col string) (all bool, names map[string]bool) {
	if t.all || t.whole[col] {
		return true, nil
	}
	return false, t.names[col]
}

// pastState is the principal's state at the undo target.
type pastState struct {
	cols     map[string]*memCollection
	seq      uint64
	when     int64
	snap     *bolt.DB // the snapshot the state started from, or nil
	snapPath string
	touched  *touchSet
	// account is the principal's account data at the target, live whether
	// the account existed then (an undo of a deleted account puts it back).
	account []byte
	live    bool
}

// noteAccount follows the principal's account records.
func (p *pastState) noteAccount(r *Record) {
	switch r.Op {
	case OpPutPrincipal:
		p.account, p.live = r.Body, true
	case OpDeletePrincipal:
		p.account, p.live = nil, false
	}
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
		if sn.StoreID != s.id.StoreID || sn.Seq > upTo || sn.Seq == 0 || (!req.ToTime.IsZero() && (sn.Time == 0 || sn.Time > unixNanos(req.ToTime))) {
			continue
		}
		return &sn
	}
	return nil
}

// loadPrincipalSnapshot opens a snapshot read-only, checks it is of this
// store at seq, and reads the principal's collections (objects without
// their bodies; the db stays open for fillBodies).
func loadPrincipalSnapshot(path string, storeID [16]byte, principal string, seq uint64, only *touchSet) (*bolt.DB, map[string]*memCollection, error) {
	db, err := openBolt(path, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		return nil, nil, err
	}
	cols := map[string]*memCollection{}
	err = viewSafe(db, func(tx *bolt.Tx) error {
		if tx.Bucket(bktMeta) == nil {
			return ErrSnapshotInvalid
		}
		if _, _, err := checkSnapshotProjection(tx, storeID, path); err != nil {
			return err
		}
		if got, _ := readApplied(tx); got != seq {
			return fmt.Errorf("snapshot is at %d, its tag says %d: %w", got, seq, ErrSnapshotInvalid)
		}
		return readPrincipalCols(tx, principal, "", only, cols)
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
func (s *Store) currentState(req UndoRequest, only *touchSet) (map[string]*memCollection, error) {
	cols := map[string]*memCollection{}
	err := s.view(func(tx *bolt.Tx) error { return readPrincipalCols(tx, req.Principal, req.Collection, only, cols) })
	return cols, err
}

// readPrincipalCols reads a principal's collections (only collection, when
// set) with the ETags and metadata of their objects (only those only lists,
// when set).
func readPrincipalCols(tx *bolt.Tx, principal, collection string, only *touchSet, cols map[string]*memCollection) error {
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
		cols[string(k)] = mc
		objs := cb.Bucket(k).Bucket(bktObjects)
		add := func(name, v []byte) error {
			o, err := decodeObjectValue(v)
			if err != nil {
				return err
			}
			mc.objects[string(name)] = memObject{etag: o.ETag, meta: o.Meta}
			return nil
		}
		if only != nil {
			if all, names := only.objects(string(k)); !all {
				for name := range names {
					if v := objs.Get([]byte(name)); v != nil {
						if err := add([]byte(name), v); err != nil {
							return err
						}
					}
				}
				return nil
			}
		}
		return objs.ForEach(add)
	})
}
