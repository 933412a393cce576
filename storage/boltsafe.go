package storage

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"

	bolt "go.etcd.io/bbolt"
)

// bbolt panics when it meets damaged pages (for example a store.db copied
// while a server wrote it: "freepages: failed to get all reachable pages"),
// and a damaged file can make it read past what it mapped. At the storage
// boundary both become a *CorruptionError that names the file and says
// to rebuild it from the journal, never a stack trace.

// boltDamage is the error for a bbolt panic or open failure on path.
func boltDamage(path string, what any) error {
	return &CorruptionError{Path: path, Offset: -1,
		What:   fmt.Sprintf("%s is damaged and cannot be read (bbolt: %v)", filepath.Base(path), what),
		Advice: "store.db is a projection of the journal: run 'pimvault rebuild --data DIR' to build it again (the damaged file is kept in quarantine/)"}
}

// openBolt opens a bbolt file. An error that says the file is not a valid
// bbolt database, and a panic inside bbolt, are a *CorruptionError.
func openBolt(path string, o *bolt.Options) (db *bolt.DB, err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if p := recover(); p != nil {
			db, err = nil, boltDamage(path, p)
		}
	}()
	db, err = bolt.Open(path, 0o600, o)
	switch {
	case err == nil:
		return db, nil
	case errors.Is(err, bolt.ErrTimeout):
		return nil, fmt.Errorf("open %s: held by another process: %w", path, err)
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, fs.ErrPermission), errors.Is(err, os.ErrClosed):
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return nil, boltDamage(path, err)
}

// viewSafe runs fn in a read transaction of db; a bbolt panic is a
// *CorruptionError (bbolt rolls the transaction back as the panic passes).
func viewSafe(db *bolt.DB, fn func(tx *bolt.Tx) error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if p := recover(); p != nil {
			err = boltDamage(db.Path(), p)
		}
	}()
	return db.View(fn)
}

// updateSafe runs fn in a write transaction of db; a bbolt panic is a
// *CorruptionError and the transaction is rolled back.
func updateSafe(db *bolt.DB, fn func(tx *bolt.Tx) error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if p := recover(); p != nil {
			err = boltDamage(db.Path(), p)
		}
	}()
	return db.Update(fn)
}

// checkBolt runs bbolt's own consistency check (every page reachable once,
// no page both free and used, keys in order) in tx and returns what it
// found, at most max problems.
func checkBolt(tx *bolt.Tx, max int) (problems []string, err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if p := recover(); p != nil {
			err = boltDamage(tx.DB().Path(), p)
		}
	}()
	for e := range tx.Check() {
		if len(problems) < max {
			problems = append(problems, e.Error())
		} else if len(problems) == max {
			problems = append(problems, "…")
		}
	}
	return problems, nil
}

func fileExists(path string) (bool, error) {
	_, err := os.Stat(path)
	if err == nil {
		return true, nil
	}
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return false, err
}

// walkBolt reads every branch and leaf page of every bucket of the bbolt
// file at path, read-only, on the calling goroutine. bbolt checks each page
// it reads and panics on a bad one; here that panic is recovered and
// becomes a *CorruptionError. It runs before a writable open of an existing
// store.db, where bbolt rebuilds its free list by the same walk on a
// goroutine of its own, whose panic nothing could recover.
func walkBolt(path string) error {
	return viewReadOnly(path, func(tx *bolt.Tx) error {
		return tx.ForEach(func(_ []byte, b *bolt.Bucket) error {
			walkBucket(b)
			return nil
		})
	})
}

func walkBucket(b *bolt.Bucket) {
	c := b.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if v == nil {
			if nb := b.Bucket(k); nb != nil {
				walkBucket(nb)
			}
		}
	}
}
