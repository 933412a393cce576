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
	// By is the account that made the change when not the principal
	// itself (a sharee); empty for the principal's own changes.
	By string `json:"by,omitempty"`
}

// MaxHistory bounds one History answer.
const MaxHistory = 10000

// History returns the latest changes (newest first, at most limit) to a
// principal's data, or to one of its collections (including moves into
// it). It reads the journal's segments from the newest back and stops once
// it has limit entries, so a short history costs a few segments, not the
// whole journal.
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
	segs, _, err := liveSegments(s.opts.JournalDir)
	if err != nil {
		return nil, err
	}
	head := s.Head()
	var out []HistoryEntry
	upTo := head
	for i := len(segs) - 1; i >= 0 && len(out) < limit; i-- {
		from := segs[i].firstSeq
		if from > upTo {
			continue
		}
		var found []HistoryEntry
		err := scanJournalFrom(s.opts.JournalDir, s.storeID, from, upTo, func(r *Record, _ [32]byte) error {
			if r.Principal != principal || r.Op == OpPutPrincipal {
				return nil
			}
			if collection != "" && r.Collection != collection && r.ToCollection != collection {
				return nil
			}
			found = append(found, HistoryEntry{Seq: r.Seq, Time: time.Unix(0, r.Time).UTC(), Op: r.Op.String(), Collection: r.Collection,
				Name: r.Name, ToCollection: r.ToCollection, ToName: r.ToName, ETag: r.ETag, UID: r.Meta.UID, By: string(r.Props[ActorKey])})
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("history: %w", err)
		}
		for j := len(found) - 1; j >= 0 && len(out) < limit; j-- {
			out = append(out, found[j])
		}
		upTo = from - 1
	}
	return out, nil
}
