package storage

import (
	"bytes"

	bolt "go.etcd.io/bbolt"
)

// dedupeByUID looks, for a DedupeByUID put, for an object of the collection that
// already holds the change's UID with a byte-identical body. found is true
// when it exists: nothing is written and the result names it (Existing, when
// it lives at another name). Otherwise the put goes through the ordinary
// checks (If-None-Match, UID uniqueness), so a different body under the same
// UID still fails as it would without dedupe. The lookup runs inside the
// write, against the current state plus the earlier changes of the batch.
func dedupeByUID(cb *bolt.Bucket, c *Change, head uint64) (res Result, found bool, err error) {
	if c.Meta.UID == "" {
		return Result{}, false, nil
	}
	holder := cb.Bucket(bktUIDs).Get([]byte(c.Meta.UID))
	if holder == nil {
		return Result{}, false, nil
	}
	name := string(holder)
	o, exists, err := getObject(cb, name)
	if err != nil || !exists {
		return Result{}, false, err
	}
	if o.ETag != ETagOf(c.Body) || !bytes.Equal(cb.Bucket(bktBodies).Get(holder), c.Body) {
		return Result{}, false, nil
	}
	res = Result{Seq: head, ETag: o.ETag, NoOp: true}
	if name != c.Name {
		res.Existing = name
	}
	return res, true, nil
}
