package storage

import (
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// How the committer refuses a batch it could not write, so that a refused
// write never appears later (doc.go), and when it takes writes again.

// refuse answers every waiter of a batch that wrote nothing with err. The
// store stays writable: the next batch starts from the same state.
func (s *Store) refuse(err error, batch []*request) {
	s.logWriteError(err)
	for _, r := range batch {
		r.resp <- response{err: err}
	}
}

// cutAndRefuse refuses a batch whose journal append or store.db commit
// failed after its records may have reached the journal: they are cut off
// first (journal_cut.go). If the cut fails too, no write is taken until a
// retry of it succeeds (writable).
func (s *Store) cutAndRefuse(err error, mark journalMark, batch []*request) {
	if cerr := s.j.cutBack(mark); cerr != nil {
		ferr := fmt.Errorf("store refuses writes until the journal is cut back to sequence %d: %w (after: %w)", mark.head, cerr, err)
		s.cutPending.Store(&mark)
		s.failed.Store(&ferr)
		s.log.Error("write failed and the journal could not be cut back; refusing writes until it can", "err", ferr)
		for _, r := range batch {
			r.resp <- response{err: err}
		}
		return
	}
	s.refuse(err, batch)
}

func (s *Store) logWriteError(err error) {
	if errors.Is(err, ErrNoSpace) {
		s.log.Warn("write refused: disk full", "err", err)
		return
	}
	s.log.Error("write failed; nothing of it was kept", "err", err)
}

// writable reports why the committer cannot write, after retrying a pending
// journal cut (a failed cut is retried before every write).
func (s *Store) writable() error {
	if m := s.cutPending.Load(); m != nil {
		if err := s.j.cutBack(*m); err != nil {
			return *s.failed.Load()
		}
		s.failed.Store(nil)
		s.cutPending.Store(nil)
		s.log.Info("journal cut back after a failed write; writes resume", "seq", m.head)
	}
	if p := s.failed.Load(); p != nil {
		return *p
	}
	return nil
}

// appliedSeq reads the sequence store.db has applied.
func (s *Store) appliedSeq() (seq uint64, err error) {
	err = s.db.View(func(tx *bolt.Tx) error {
		seq, _ = readApplied(tx)
		return nil
	})
	return seq, err
}
