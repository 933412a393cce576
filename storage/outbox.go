package storage

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// The outbox holds the messages a change sends to other servers (iMIP
// mail) until they are handed to a relay. An entry is written by the same
// journal record as the change that sends it (Change.Outbox on a put, a
// delete or a collection delete), as a record property under OutboxKey,
// which applying a record puts into the principal's state bucket
// (data/<principal>/state, key OutboxKey+id) instead of the object's
// properties. Retries and removal are OpPrincipalState records (or a put
// that records the outcome, with Change.OutboxDone) on the same keys. So
// replication, snapshots, backup, restore and a rebuild from the journal
// all carry the queue: a message acknowledged with its change is never
// lost, and one taken out of the queue stays out.
//
// An entry's value is its format version byte (OutboxFormat) followed by
// JSON. A reader that meets a higher version refuses with a *NewerError
// and changes nothing; it never skips the entry.
const (
	OutboxKey    = AnnotationNS + "outbox/"
	OutboxFormat = 1
	// MaxOutbox is the most entries one principal's outbox holds: a change
	// that would queue more is refused with ErrOutboxFull.
	MaxOutbox = 1000
	// MaxOutboxEntry bounds one encoded entry (the whole mail message).
	MaxOutboxEntry = 256 << 10
	// maxOutboxPerChange and maxOutboxBytes bound what one change adds or
	// removes (a record stays far below maxRecordLen).
	maxOutboxPerChange = 2 * MaxOutbox // added and taken out (superseded)
	maxOutboxBytes     = 16 << 20
)

// ErrOutboxFull: the change would queue more than MaxOutbox messages for
// the principal.
var ErrOutboxFull = errors.New("outbox full")

// OutboxEntry is one queued mail message.
type OutboxEntry struct {
	Principal string    `json:"-"`  // the account that sends it (from the bucket)
	ID        string    `json:"id"` // 1–64 of [0-9a-z-]; the key under OutboxKey
	Created   time.Time `json:"created"`
	// Envelope is the SMTP sender, To the mail recipient, Recipient the
	// calendar user address whose SCHEDULE-STATUS records the outcome.
	Envelope  string `json:"envelope"`
	To        string `json:"to"`
	Recipient string `json:"recipient"`
	Method    string `json:"method"`
	MessageID string `json:"message_id"`
	Message   []byte `json:"message"`
	// Collection, Object and UID name the sender's copy of the scheduling
	// object; empty when there is none (a cancel for a deleted object).
	Collection string    `json:"collection,omitempty"`
	Object     string    `json:"object,omitempty"`
	UID        string    `json:"uid,omitempty"`
	Attempts   int       `json:"attempts,omitempty"`
	Next       time.Time `json:"next,omitzero"`
	LastError  string    `json:"last_error,omitempty"`
}

// Encode returns the entry's stored value.
func (e OutboxEntry) Encode() ([]byte, error) {
	b, err := json.Marshal(e)
	if err != nil {
		return nil, err
	}
	out := append([]byte{OutboxFormat}, b...)
	if len(out) > MaxOutboxEntry {
		return nil, fmt.Errorf("outbox entry %s: %d bytes, at most %d: %w", e.ID, len(out), MaxOutboxEntry, ErrTooLarge)
	}
	return out, nil
}

// DecodeOutboxEntry reads a stored entry; a higher format version is a
// *NewerError.
func DecodeOutboxEntry(principal, id string, v []byte) (OutboxEntry, error) {
	var e OutboxEntry
	if len(v) == 0 {
		return e, fmt.Errorf("outbox entry %s of %s: empty: %w", id, principal, ErrCorrupt)
	}
	if v[0] > OutboxFormat {
		return e, &NewerError{Path: "store.db", Offset: -1,
			What: fmt.Sprintf("outbox entry %s of %s has format %d; this pimvault knows up to %d", id, principal, v[0], OutboxFormat)}
	}
	if v[0] != OutboxFormat {
		return e, fmt.Errorf("outbox entry %s of %s: format %d: %w", id, principal, v[0], ErrCorrupt)
	}
	if err := json.Unmarshal(v[1:], &e); err != nil {
		return e, fmt.Errorf("outbox entry %s of %s: %v: %w", id, principal, err, ErrCorrupt)
	}
	if e.ID != id {
		return e, fmt.Errorf("outbox entry %s of %s holds id %q: %w", id, principal, e.ID, ErrCorrupt)
	}
	e.Principal = principal
	return e, nil
}

// ValidateOutboxID checks an entry id: 1 to 64 of [0-9a-z-].
func ValidateOutboxID(id string) error {
	if id == "" || len(id) > 64 {
		return fmt.Errorf("outbox id %.70q: 1 to 64 characters: %w", id, ErrInvalidName)
	}
	for _, r := range id {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r == '-') {
			return fmt.Errorf("outbox id %.70q: only 0-9, a-z and -: %w", id, ErrInvalidName)
		}
	}
	return nil
}

// validateOutbox checks a change's outbox fields without the store.
func validateOutbox(c *Change) error {
	if len(c.Outbox) == 0 && len(c.OutboxDone) == 0 {
		return nil
	}
	switch c.Op {
	case OpPut, OpDelete, OpDeleteCollection:
	case OpPrincipalState:
		if c.UpdateState != nil {
			return fmt.Errorf("outbox entries with UpdateState: %w", ErrInvalidChange)
		}
	default:
		return fmt.Errorf("outbox entries on %v: %w", c.Op, ErrInvalidChange)
	}
	if len(c.Outbox)+len(c.OutboxDone) > maxOutboxPerChange {
		return fmt.Errorf("%d outbox entries in one change, at most %d: %w", len(c.Outbox)+len(c.OutboxDone), maxOutboxPerChange, ErrInvalidChange)
	}
	size := 0
	for _, e := range c.Outbox {
		if err := ValidateOutboxID(e.ID); err != nil {
			return err
		}
		v, err := e.Encode()
		if err != nil {
			return err
		}
		if size += len(v); size > maxOutboxBytes {
			return fmt.Errorf("outbox entries of one change over %d bytes: %w", maxOutboxBytes, ErrTooLarge)
		}
	}
	for _, id := range c.OutboxDone {
		if err := ValidateOutboxID(id); err != nil {
			return err
		}
	}
	return nil
}

// prepareOutbox adds a change's outbox entries to its record, checking the
// principal's bound against the current state; done ids the outbox no
// longer holds are dropped (their outcome was recorded before).
func prepareOutbox(tx *bolt.Tx, c *Change, r *Record) error {
	if len(c.Outbox) == 0 && len(c.OutboxDone) == 0 {
		return nil
	}
	if !principalLive(tx, c.Principal) {
		return fmt.Errorf("principal %s: %w", c.Principal, ErrNotFound)
	}
	sb := stateBucket(tx, c.Principal)
	has := func(id string) bool { return sb != nil && sb.Get([]byte(OutboxKey+id)) != nil }
	count := 0
	if sb != nil {
		cur := sb.Cursor()
		for k, v := cur.Seek([]byte(OutboxKey)); k != nil && bytes.HasPrefix(k, []byte(OutboxKey)); k, v = cur.Next() {
			if len(v) > 0 && v[0] > OutboxFormat {
				_, err := DecodeOutboxEntry(c.Principal, strings.TrimPrefix(string(k), OutboxKey), v)
				return err
			}
			count++
		}
	}
	props := make(map[string][]byte, len(r.Props)+len(c.Outbox))
	for k, v := range r.Props {
		props[k] = v
	}
	for _, e := range c.Outbox {
		v, err := e.Encode()
		if err != nil {
			return err
		}
		if !has(e.ID) {
			if c.Op == OpPrincipalState {
				continue // an update of an entry taken out meanwhile
			}
			count++
		}
		props[OutboxKey+e.ID] = v
	}
	for _, id := range c.OutboxDone {
		if has(id) {
			count--
			if c.Op == OpPrincipalState {
				r.Remove = append(r.Remove, OutboxKey+id)
			} else {
				props[OutboxKey+id] = nil // a nil value removes the entry (applyOutbox)
			}
		}
	}
	if len(c.Outbox) > 0 && count > MaxOutbox {
		return fmt.Errorf("%s would have %d queued messages, at most %d: %w", c.Principal, count, MaxOutbox, ErrOutboxFull)
	}
	sort.Strings(r.Remove)
	if len(props) == 0 {
		props = nil
	}
	r.Props = props
	return nil
}

// applyOutbox moves the outbox entries of a put or delete record into the
// principal's state bucket (an empty value removes one). OpPrincipalState
// records are applied to that bucket as they are (applyState).
func applyOutbox(tx *bolt.Tx, r *Record) error {
	if r.Op == OpPrincipalState {
		return nil
	}
	var sb *bolt.Bucket
	for k, v := range r.Props {
		if !strings.HasPrefix(k, OutboxKey) {
			continue
		}
		if sb == nil {
			p := tx.Bucket(bktData).Bucket([]byte(r.Principal))
			if p == nil {
				return fmt.Errorf("outbox: principal %s: %w", r.Principal, ErrNotFound)
			}
			var err error
			if sb, err = p.CreateBucketIfNotExists(bktState); err != nil {
				return err
			}
		}
		var err error
		if len(v) == 0 {
			err = sb.Delete([]byte(k))
		} else {
			err = sb.Put([]byte(k), v)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// Outbox returns the queued messages of every principal (or of one, when
// principal is not empty), oldest first.
func (s *Store) Outbox(principal string) ([]OutboxEntry, error) {
	var out []OutboxEntry
	err := s.view(func(tx *bolt.Tx) error {
		data := tx.Bucket(bktData)
		return data.ForEachBucket(func(p []byte) error {
			if principal != "" && string(p) != principal {
				return nil
			}
			sb := data.Bucket(p).Bucket(bktState)
			if sb == nil {
				return nil
			}
			cur := sb.Cursor()
			for k, v := cur.Seek([]byte(OutboxKey)); k != nil && bytes.HasPrefix(k, []byte(OutboxKey)); k, v = cur.Next() {
				e, err := DecodeOutboxEntry(string(p), strings.TrimPrefix(string(k), OutboxKey), v)
				if err != nil {
					return err
				}
				out = append(out, e)
			}
			return nil
		})
	})
	sort.SliceStable(out, func(i, j int) bool { return out[i].Created.Before(out[j].Created) })
	return out, err
}

// OutboxLen returns how many messages a principal (every principal, with
// "") has queued.
func (s *Store) OutboxLen(principal string) (int, error) {
	n := 0
	count := func(p *bolt.Bucket) {
		if p == nil {
			return
		}
		sb := p.Bucket(bktState)
		if sb == nil {
			return
		}
		cur := sb.Cursor()
		for k, _ := cur.Seek([]byte(OutboxKey)); k != nil && bytes.HasPrefix(k, []byte(OutboxKey)); k, _ = cur.Next() {
			n++
		}
	}
	err := s.view(func(tx *bolt.Tx) error {
		data := tx.Bucket(bktData)
		if principal != "" {
			count(data.Bucket([]byte(principal)))
			return nil
		}
		return data.ForEachBucket(func(p []byte) error { count(data.Bucket(p)); return nil })
	})
	return n, err
}

// UpdateOutbox replaces entries of a principal's outbox (a retry's new
// attempt count and time) and removes the done ones, in one record.
func (s *Store) UpdateOutbox(ctx context.Context, principal string, set []OutboxEntry, done []string) error {
	_, err := s.Commit(ctx, Change{Op: OpPrincipalState, Principal: principal, Outbox: set, OutboxDone: done})
	return err
}
