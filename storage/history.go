package storage

import (
	"fmt"
	"time"
)

// HistoryEntry is one journalled change of a principal's data.
type HistoryEntry struct {
	Seq          uint64    `json:"seq"`
	Time         time.Time `json:"time"`
	Op           string    `json:"op"`
	Collection   string    `json:"collection,omitempty"`
	Name         string    `json:"name,omitempty"`
	ToCollection string    `json:"to_collection,omitempty"`
	ToName       string    `json:"to_name,omitempty"`
	ETag         string    `json:"etag,omitempty"`
	UID          string    `json:"uid,omitempty"`
}

// MaxHistory bounds one History answer.
const MaxHistory = 10000

// History returns the latest changes (newest first, at most limit) to a
// principal's data, or to one of its collections (including moves into
// it). It reads the journal, so its cost is proportional to the journal.
func (s *Store) History(principal, collection string, limit int) ([]HistoryEntry, error) {
	if err := ValidateName("principal", principal); err != nil {
		return nil, err
	}
	if collection != "" {
		if err := ValidateName("collection", collection); err != nil {
			return nil, err
		}
	}
	if limit <= 0 || limit > MaxHistory {
		limit = MaxHistory
	}
	ring := make([]HistoryEntry, 0, limit)
	next := 0
	_, _, err := scanJournal(s.opts.JournalDir, s.storeID, s.Head(), func(r *Record, _ [32]byte) error {
		if r.Principal != principal || r.Op == OpPutPrincipal {
			return nil
		}
		if collection != "" && r.Collection != collection && r.ToCollection != collection {
			return nil
		}
		e := HistoryEntry{Seq: r.Seq, Time: time.Unix(0, r.Time).UTC(), Op: r.Op.String(), Collection: r.Collection,
			Name: r.Name, ToCollection: r.ToCollection, ToName: r.ToName, ETag: r.ETag, UID: r.Meta.UID}
		if len(ring) < limit {
			ring = append(ring, e)
		} else {
			ring[next] = e
			next = (next + 1) % limit
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("history: %w", err)
	}
	out := make([]HistoryEntry, 0, len(ring))
	for i := len(ring) - 1; i >= 0; i-- {
		out = append(out, ring[(next+i)%len(ring)])
	}
	return out, nil
}
