package storage

import (
	"context"
	"encoding/binary"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// Epochs. The journal is one line of sequence numbers; an OpEpoch record
// starts a new history line (an epoch) at its sequence. The epochs bucket
// keeps every start (seq → epoch id), so the store knows, for each earlier
// epoch, its fork: the last sequence of that epoch that the current line
// holds unchanged, which is the sequence just before the next epoch started.
// A token of an earlier epoch at or before its fork names history the store
// still has; past the fork, history the store lost.
//
// A new epoch starts:
//   - when a store is created (its first record);
//   - when Open finds the store holds less than its high-water mark says it
//     acknowledged (a rolled-back or replaced journal, see highwater.go);
//   - when a client presents a token of the current epoch ahead of the head
//     (the store was rolled back without noticing; StartEpoch, called by the
//     server), so that the sequence numbers the client saw are never reused
//     with other contents;
//   - by a whole-store restore or a rebuild from devices into a new store.
//
// Rebuilding store.db from the journal (pimvault rebuild) keeps the epoch:
// the epochs bucket is replayed from the same OpEpoch records.

// EpochHistory is the current epoch and every earlier one with its fork.
type EpochHistory struct {
	Current string
	Start   uint64            // sequence of the record that started Current
	Earlier map[string]uint64 // earlier epoch id → its fork sequence
}

// EpochHistory reads the store's epochs.
func (s *Store) EpochHistory() (EpochHistory, error) {
	var h EpochHistory
	err := s.view(func(tx *bolt.Tx) error {
		var err error
		h, err = readEpochHistory(tx)
		return err
	})
	return h, err
}

func readEpochHistory(tx *bolt.Tx) (EpochHistory, error) {
	h := EpochHistory{Earlier: map[string]uint64{}}
	var prev string
	c := tx.Bucket(bktEpochs).Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if len(k) != 8 || len(v) == 0 {
			return h, fmt.Errorf("epochs bucket: malformed entry %x: %w", k, ErrCorrupt)
		}
		seq := binary.BigEndian.Uint64(k)
		if prev != "" {
			h.Earlier[prev] = seq - 1
		}
		prev, h.Current, h.Start = string(v), string(v), seq
	}
	if h.Current == "" {
		return h, fmt.Errorf("no epoch: %w", ErrNotFound)
	}
	delete(h.Earlier, h.Current)
	return h, nil
}

// StartEpoch starts a new epoch and returns its id; why is kept in the
// record's body for the log and for verify.
func (s *Store) StartEpoch(ctx context.Context, why string) (string, error) {
	id := NewEpochID()
	res, err := s.commit(ctx, Change{Op: OpEpoch, Name: id, Body: []byte(why)}, true)
	if err != nil {
		return "", err
	}
	s.log.Warn("started a new epoch", "epoch", id, "seq", res.Seq, "why", why)
	return id, nil
}
