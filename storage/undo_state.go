package storage

import (
	"fmt"

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
}

// stateAt replays the principal's records from the journal up to the target
// and returns its collections at that point, the target sequence and the
// time of its record.
func (s *Store) stateAt(req UndoRequest) (map[string]*memCollection, uint64, int64, error) {
	cols := map[string]*memCollection{}
	var seq uint64
	var when int64
	upTo := s.Head()
	if req.ToSeq > 0 {
		if req.ToSeq > upTo {
			return nil, 0, 0, fmt.Errorf("target sequence %d is after the head %d: %w", req.ToSeq, upTo, ErrInvalidChange)
		}
		upTo = req.ToSeq
	}
	_, _, err := scanJournal(s.opts.JournalDir, s.storeID, upTo, func(r *Record, _ [32]byte) error {
		if !req.ToTime.IsZero() && r.Time > req.ToTime.UnixNano() {
			return errStopScan
		}
		seq, when = r.Seq, r.Time
		if r.Principal == req.Principal {
			applyMem(cols, r)
		}
		return nil
	})
	if err != nil {
		return nil, 0, 0, err
	}
	return cols, seq, when, nil
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
	err := s.view(func(tx *bolt.Tx) error {
		p := tx.Bucket(bktData).Bucket([]byte(req.Principal))
		if p == nil {
			return nil
		}
		cb := p.Bucket(bktCols)
		return cb.ForEachBucket(func(k []byte) error {
			if req.Collection != "" && string(k) != req.Collection {
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
	})
	return cols, err
}
