package storage

import (
	"bytes"
	"fmt"
	"sort"

	bolt "go.etcd.io/bbolt"
)

// OverlappingObjects is Overlapping with each object's metadata (ETag, Meta,
// Seq, Time, Size) and, withBodies, its body, all read in one read
// transaction, in name order. A calendar-query reads its candidates this
// way: a transaction per candidate costs more than the query's own work.
// The bodies are copies (one allocation for all of them) that stay valid
// after the call. Objects stored without a span are not included.
func (s *Store) OverlappingObjects(principal, collection string, start, end int64, withBodies bool) ([]Object, error) {
	var out []Object
	err := s.view(func(tx *bolt.Tx) error {
		cb := collectionBucket(tx, principal, collection)
		if cb == nil {
			return fmt.Errorf("collection %s/%s: %w", principal, collection, ErrNotFound)
		}
		var names [][]byte // valid for the transaction
		c := cb.Bucket(bktSpans).Cursor()
		limit := sortable(end)
		for k, v := c.First(); k != nil && bytes.Compare(k[:8], limit) < 0; k, v = c.Next() {
			sStart, sEnd := fromSortable(k[:8]), fromSortable(v)
			if sEnd > start || (sStart == sEnd && sStart >= start) {
				names = append(names, k[8:])
			}
		}
		sort.Slice(names, func(i, j int) bool { return bytes.Compare(names[i], names[j]) < 0 })
		var err error
		out, err = readObjects(cb, names, withBodies)
		return err
	})
	return out, err
}

// GetObjects returns the named objects of a collection with their bodies,
// read in one read transaction, in the order of names; names that are not
// (or no longer) stored are left out. The bodies stay valid after the call.
func (s *Store) GetObjects(principal, collection string, names []string) ([]Object, error) {
	var out []Object
	err := s.view(func(tx *bolt.Tx) error {
		cb := collectionBucket(tx, principal, collection)
		if cb == nil {
			return fmt.Errorf("collection %s/%s: %w", principal, collection, ErrNotFound)
		}
		keys := make([][]byte, len(names))
		for i, n := range names {
			keys[i] = []byte(n)
		}
		var err error
		out, err = readObjects(cb, keys, true)
		return err
	})
	return out, err
}

// readObjects reads the named objects of cb (missing names are skipped),
// copying the bodies into one buffer when withBodies. One cursor per bucket
// serves every look-up (Bucket.Get allocates a cursor each time).
func readObjects(cb *bolt.Bucket, names [][]byte, withBodies bool) ([]Object, error) {
	oc, bc := cb.Bucket(bktObjects).Cursor(), cb.Bucket(bktBodies).Cursor()
	get := func(c *bolt.Cursor, k []byte) []byte {
		if kk, v := c.Seek(k); bytes.Equal(kk, k) {
			return v
		}
		return nil
	}
	out := make([]Object, 0, len(names))
	found := make([][]byte, 0, len(names))
	var size int64
	for _, k := range names {
		v := get(oc, k)
		if v == nil {
			continue // a span without its object would be damage; Verify reports it
		}
		ov, err := decodeObjectValue(v)
		if err != nil {
			return nil, fmt.Errorf("object %s: %w", k, err)
		}
		out, found = append(out, objectFrom(k, ov)), append(found, k)
		size += ov.Size
	}
	if !withBodies {
		return out, nil
	}
	slab := make([]byte, 0, size)
	for i := range out {
		from := len(slab)
		slab = append(slab, get(bc, found[i])...)
		out[i].Body = slab[from:len(slab):len(slab)]
	}
	return out, nil
}
