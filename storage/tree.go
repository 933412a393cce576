package storage

import (
	"bytes"
	"fmt"
	"strings"
	"unicode/utf8"

	bolt "go.etcd.io/bbolt"
)

// Cond is a condition on the principal's state, outside the object a change
// writes, that must hold for the change to be accepted. The committer checks
// it inside the write, with the change's own preconditions, so a handler
// never has to check and then act: the server's nested WebDAV area uses it to
// keep its tree whole (a collection is only created inside an existing
// parent, a name is either a member or a sub-collection, a collection with
// sub-collections is not deleted by itself).
//
// Conditions are not journalled: they decide whether a record is written,
// and replay applies records without re-checking anything.
type Cond struct {
	Collection string // a collection, or with Prefix the start of collection names
	Name       string // an object in Collection; "" for the collection itself
	Prefix     bool   // the condition is on every live collection whose name starts with Collection
	Exists     bool   // it must exist (true) or must not (false)
}

func (c Cond) String() string {
	what := "collection " + c.Collection
	switch {
	case c.Prefix:
		what = "a collection named " + c.Collection + "…"
	case c.Name != "":
		what = "object " + c.Collection + "/" + c.Name
	}
	if c.Exists {
		return what + " must exist"
	}
	return what + " must not exist"
}

// ConditionError says which Cond did not hold.
type ConditionError struct {
	Cond Cond
}

func (e *ConditionError) Error() string { return e.Cond.String() + ": " + ErrConflict.Error() }

func (e *ConditionError) Unwrap() error { return ErrConflict }

const maxConds = 16

func validateConds(c *Change) error {
	if len(c.Require) > maxConds {
		return fmt.Errorf("more than %d conditions: %w", maxConds, ErrInvalidChange)
	}
	for _, q := range c.Require {
		switch {
		case q.Prefix && (q.Exists || q.Name != "" || q.Collection == "" || len(q.Collection) > MaxNameLen):
			return fmt.Errorf("condition %v: a prefix condition names a non-empty prefix and must be 'not exists': %w", q, ErrInvalidChange)
		case !q.Prefix:
			if err := ValidateName("collection", q.Collection); err != nil {
				return err
			}
			if q.Name != "" {
				if err := ValidateName("object", q.Name); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// checkConds checks c.Require against the state in tx.
func checkConds(tx *bolt.Tx, c *Change) error {
	for _, q := range c.Require {
		var exists bool
		switch {
		case q.Prefix:
			exists = hasCollectionPrefix(tx, c.Principal, q.Collection)
		case q.Name == "":
			exists = collectionBucket(tx, c.Principal, q.Collection) != nil
		default:
			if cb := collectionBucket(tx, c.Principal, q.Collection); cb != nil {
				var err error
				if _, exists, err = getObject(cb, q.Name); err != nil {
					return err
				}
			}
		}
		if exists != q.Exists {
			return &ConditionError{Cond: q}
		}
	}
	return nil
}

func hasCollectionPrefix(tx *bolt.Tx, principal, prefix string) bool {
	p := tx.Bucket(bktData).Bucket([]byte(principal))
	if p == nil {
		return false
	}
	k, _ := p.Bucket(bktCols).Cursor().Seek([]byte(prefix))
	return k != nil && bytes.HasPrefix(k, []byte(prefix))
}

// A collection layout that nests collections by name (the server's files
// area names a sub-collection by its parent's name plus a separator) deletes
// a whole subtree in one record: OpDeleteCollection with Name set to the
// prefix of the names below Collection also tombstones every live collection
// whose name starts with Name, in the same record, so a crash can never leave
// half a tree. Name must start with Collection and be longer. Replay sees the
// same collections at that point of the journal, so it deletes the same ones.

func validateSubtree(c *Change) error {
	if c.Name == "" {
		return nil
	}
	if !strings.HasPrefix(c.Name, c.Collection) || len(c.Name) == len(c.Collection) || len(c.Name) > MaxNameLen || !utf8.ValidString(c.Name) {
		return fmt.Errorf("delete-collection subtree prefix %q must extend the collection's name %q: %w", c.Name, c.Collection, ErrInvalidChange)
	}
	return nil
}

// applyDeleteSubtree tombstones the collections of principal bucket p whose
// names start with prefix ("" deletes none).
func applyDeleteSubtree(p *bolt.Bucket, prefix string, seq uint64) error {
	if prefix == "" {
		return nil
	}
	cols := p.Bucket(bktCols)
	var names [][]byte
	c := cols.Cursor()
	for k, _ := c.Seek([]byte(prefix)); k != nil && bytes.HasPrefix(k, []byte(prefix)); k, _ = c.Next() {
		names = append(names, bytes.Clone(k))
	}
	for _, k := range names {
		if err := cols.DeleteBucket(k); err != nil {
			return fmt.Errorf("delete collection %s: %w", k, err)
		}
		if err := p.Bucket(bktColTombs).Put(k, u64(seq)); err != nil {
			return err
		}
	}
	return nil
}
