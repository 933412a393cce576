package storage

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"sort"

	bolt "go.etcd.io/bbolt"
)

// Object is a stored object with its metadata.
type Object struct {
	Name string
	ETag string
	Meta ObjectMeta
	Seq  uint64 // sequence of its last change
	Time int64  // Unix nanoseconds of its last change
	Size int64
	Body []byte // nil in listings
}

// Collection describes a live collection.
type Collection struct {
	Name       string
	Kind       string
	Props      map[string][]byte
	CreatedSeq uint64
	LastSeq    uint64 // the collection's sync position: its last change
	PrunedSeq  uint64
	Count      int64
	Bytes      int64
}

// Principal is an account's stored record.
type Principal struct {
	Name string
	Seq  uint64
	Data []byte // opaque to the store (the server keeps the account there)
}

// MemberChange is one entry of a collection's change index.
type MemberChange struct {
	Name    string
	Seq     uint64
	Deleted bool
}

// Epoch returns the current epoch id and the sequence at which it started.
func (s *Store) Epoch() (id string, startSeq uint64, err error) {
	err = s.view(func(tx *bolt.Tx) error {
		k, v := tx.Bucket(bktEpochs).Cursor().Last()
		if k == nil {
			return fmt.Errorf("no epoch: %w", ErrNotFound)
		}
		id, startSeq = string(v), binary.BigEndian.Uint64(k)
		return nil
	})
	return id, startSeq, err
}

// Principal returns a live principal.
func (s *Store) Principal(name string) (Principal, error) {
	var p Principal
	err := s.view(func(tx *bolt.Tx) error {
		v := tx.Bucket(bktPrincipals).Get([]byte(name))
		live, seq, data, err := decodePrincipal(v)
		if v == nil || err != nil || !live {
			return fmt.Errorf("principal %s: %w", name, ErrNotFound)
		}
		p = Principal{Name: name, Seq: seq, Data: bytes.Clone(data)}
		return nil
	})
	return p, err
}

// Principals lists the live principals in name order.
func (s *Store) Principals() ([]Principal, error) {
	var out []Principal
	err := s.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bktPrincipals).ForEach(func(k, v []byte) error {
			live, seq, data, err := decodePrincipal(v)
			if err != nil {
				return err
			}
			if live {
				out = append(out, Principal{Name: string(k), Seq: seq, Data: bytes.Clone(data)})
			}
			return nil
		})
	})
	return out, err
}

func readCollection(cb *bolt.Bucket, name string) (Collection, error) {
	info, err := getInfo(cb)
	if err != nil {
		return Collection{}, err
	}
	c := Collection{Name: name, Kind: info.Kind, CreatedSeq: info.CreatedSeq, LastSeq: info.LastSeq,
		PrunedSeq: info.PrunedSeq, Count: info.Count, Bytes: info.Bytes, Props: map[string][]byte{}}
	err = cb.Bucket(bktProps).ForEach(func(k, v []byte) error {
		c.Props[string(k)] = bytes.Clone(v)
		return nil
	})
	return c, err
}

// Collection returns a live collection of a principal.
func (s *Store) Collection(principal, name string) (Collection, error) {
	var c Collection
	err := s.view(func(tx *bolt.Tx) error {
		cb := collectionBucket(tx, principal, name)
		if cb == nil {
			return fmt.Errorf("collection %s/%s: %w", principal, name, ErrNotFound)
		}
		var err error
		c, err = readCollection(cb, name)
		return err
	})
	return c, err
}

// Collections lists a principal's live collections in name order.
func (s *Store) Collections(principal string) ([]Collection, error) {
	var out []Collection
	err := s.view(func(tx *bolt.Tx) error {
		p := tx.Bucket(bktData).Bucket([]byte(principal))
		if p == nil {
			return fmt.Errorf("principal %s: %w", principal, ErrNotFound)
		}
		return p.Bucket(bktCols).ForEachBucket(func(k []byte) error {
			c, err := readCollection(p.Bucket(bktCols).Bucket(k), string(k))
			out = append(out, c)
			return err
		})
	})
	return out, err
}

func objectFrom(name []byte, v objectValue) Object {
	return Object{Name: string(name), ETag: v.ETag, Meta: v.Meta, Seq: v.Seq, Time: v.Time, Size: v.Size}
}

// Get returns one object with its body.
func (s *Store) Get(principal, collection, name string) (Object, error) {
	var o Object
	err := s.view(func(tx *bolt.Tx) error {
		cb := collectionBucket(tx, principal, collection)
		if cb == nil {
			return fmt.Errorf("collection %s/%s: %w", principal, collection, ErrNotFound)
		}
		v, ok, err := getObject(cb, name)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("object %s: %w", name, ErrNotFound)
		}
		o = objectFrom([]byte(name), v)
		o.Body = bytes.Clone(cb.Bucket(bktBodies).Get([]byte(name)))
		return nil
	})
	return o, err
}

// ByUID returns the name of the object of a collection that holds uid (the
// collection's UID index), or ErrNotFound.
func (s *Store) ByUID(principal, collection, uid string) (string, error) {
	var name string
	err := s.view(func(tx *bolt.Tx) error {
		cb := collectionBucket(tx, principal, collection)
		if cb == nil {
			return fmt.Errorf("collection %s/%s: %w", principal, collection, ErrNotFound)
		}
		v := cb.Bucket(bktUIDs).Get([]byte(uid))
		if v == nil || uid == "" {
			return fmt.Errorf("uid %.60q in %s/%s: %w", uid, principal, collection, ErrNotFound)
		}
		name = string(v)
		return nil
	})
	return name, err
}

// Objects calls fn for each object of a collection in name order. With
// bodies, Object.Body is set; it is only valid during the call.
//
// The objects are read in batches (at most objectsBatch objects or
// objectsBatchBytes of bodies, and at least one object), each in its own
// read transaction, and fn runs between them, outside any transaction. So a
// slow fn (a listing streamed to a client that reads slowly) never holds a
// read transaction open, which would keep bbolt from growing its map and
// stall every write of the store behind it, and fn may write to the store.
// The listing is therefore not one snapshot: an object written while it runs
// may or may not appear; each name appears at most once, in order. A
// collection removed after the first batch ends the listing with
// ErrNotFound.
func (s *Store) Objects(principal, collection string, bodies bool, fn func(Object) error) error {
	var after []byte // the last name of the previous batch
	for first := true; ; first = false {
		var batch []Object
		err := s.view(func(tx *bolt.Tx) error {
			cb := collectionBucket(tx, principal, collection)
			if cb == nil {
				return fmt.Errorf("collection %s/%s: %w", principal, collection, ErrNotFound)
			}
			bb := cb.Bucket(bktBodies)
			c := cb.Bucket(bktObjects).Cursor()
			k, v := c.First()
			if !first {
				k, v = c.Seek(after)
				if k != nil && bytes.Equal(k, after) {
					k, v = c.Next()
				}
			}
			var size int
			for ; k != nil; k, v = c.Next() {
				if len(batch) > 0 && (len(batch) >= objectsBatch || size >= objectsBatchBytes) {
					break
				}
				ov, err := decodeObjectValue(v)
				if err != nil {
					return err
				}
				o := objectFrom(k, ov)
				if bodies {
					o.Body = bytes.Clone(bb.Get(k))
					size += len(o.Body)
				}
				batch = append(batch, o)
			}
			return nil
		})
		if err != nil {
			return err
		}
		if len(batch) == 0 {
			return nil
		}
		for _, o := range batch {
			if err := fn(o); err != nil {
				return err
			}
		}
		after = []byte(batch[len(batch)-1].Name)
	}
}

// The batches of Objects: enough to amortise a read transaction, small
// enough to hold in memory.
const (
	objectsBatch      = 512
	objectsBatchBytes = 4 << 20
)

// Changes returns the members changed after since, one entry per name (its
// latest change) in sequence order, and the collection's current position.
// Its cost is proportional to the number of changes, not the collection size.
// A since older than the collection's history gives ErrHistoryGone.
func (s *Store) Changes(principal, collection string, since uint64) ([]MemberChange, uint64, error) {
	var out []MemberChange
	var last uint64
	err := s.view(func(tx *bolt.Tx) error {
		cb := collectionBucket(tx, principal, collection)
		if cb == nil {
			return fmt.Errorf("collection %s/%s: %w", principal, collection, ErrNotFound)
		}
		info, err := getInfo(cb)
		if err != nil {
			return err
		}
		last = info.LastSeq
		if since < info.CreatedSeq || since < info.PrunedSeq {
			return fmt.Errorf("since %d, collection history starts at %d: %w", since, max(info.CreatedSeq, info.PrunedSeq), ErrHistoryGone)
		}
		c := cb.Bucket(bktChanges).Cursor()
		for k, v := c.Seek(u64(since + 1)); k != nil; k, v = c.Next() {
			if len(v) < 1 {
				return fmt.Errorf("change index entry %x malformed", k)
			}
			out = append(out, MemberChange{Name: string(v[1:]), Seq: binary.BigEndian.Uint64(k), Deleted: v[0] == changeDelete})
		}
		return nil
	})
	return out, last, err
}

// Overlapping returns the names of objects whose time span overlaps
// [start, end), in name order. Objects stored without a span are not included.
func (s *Store) Overlapping(principal, collection string, start, end int64) ([]string, error) {
	var out []string
	err := s.view(func(tx *bolt.Tx) error {
		cb := collectionBucket(tx, principal, collection)
		if cb == nil {
			return fmt.Errorf("collection %s/%s: %w", principal, collection, ErrNotFound)
		}
		c := cb.Bucket(bktSpans).Cursor()
		limit := sortable(end)
		for k, v := c.First(); k != nil && bytes.Compare(k[:8], limit) < 0; k, v = c.Next() {
			sStart, sEnd := fromSortable(k[:8]), fromSortable(v)
			if sEnd > start || (sStart == sEnd && sStart >= start) {
				out = append(out, string(k[8:]))
			}
		}
		return nil
	})
	sort.Strings(out)
	return out, err
}

// JournalBytes returns the size of the journal segments on disk (after the
// pruned base): what a metrics scrape reports.
func (s *Store) JournalBytes() (int64, error) {
	segs, err := listSegments(s.opts.JournalDir)
	if err != nil {
		return 0, err
	}
	var n int64
	for _, sg := range segs {
		st, err := os.Stat(sg.path)
		if err != nil {
			return 0, err
		}
		n += st.Size()
	}
	return n, nil
}

// RecoveringCount returns how many live principals are RECOVERING.
func (s *Store) RecoveringCount() (int, error) {
	ps, err := s.Principals()
	if err != nil {
		return 0, err
	}
	n := 0
	for _, p := range ps {
		rs, err := s.RecoveryState(p.Name)
		if err != nil {
			return 0, err
		}
		if rs.Recovering {
			n++
		}
	}
	return n, nil
}
