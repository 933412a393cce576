package storage

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"slices"

	bolt "go.etcd.io/bbolt"

	"github.com/pimvault/pimvault/syncproto"
)

// Change is one write a caller asks the store to make. Which fields matter
// depends on Op; see the Op constants.
type Change struct {
	Op           Op
	Principal    string
	Collection   string
	Name         string // OpDeleteCollection: also delete the collections whose names start with it (see tree.go)
	ToCollection string // OpMove
	ToName       string // OpMove
	Kind         string // OpCreateCollection: "addressbook", "calendar", …
	Meta         ObjectMeta
	Props        map[string][]byte // OpCreateCollection, OpSetProps; OpPut: the object's dead properties to set
	Remove       []string          // OpSetProps
	Body         []byte            // OpPut: the object; OpPutPrincipal: account data
	ReplaceProps bool              // OpPut: the object's dead properties become exactly Props (COPY)
	Require      []Cond            // other collections and objects that must (not) exist; see Cond

	IfMatch     string // "*" (must exist) or an ETag the current object must have
	IfNoneMatch bool   // If-None-Match: * (must not exist)
	Overwrite   bool   // OpMove: replace an existing destination
	// DedupeByUID (OpPut): when an object with the same UID and a
	// byte-identical body already exists in the collection, at this name or
	// another, write nothing and report it (Result.NoOp, Result.Existing),
	// even with IfNoneMatch. Recovery uploads use it (see dedupe.go).
	DedupeByUID bool
	// KeepUID (OpPut): refuse to overwrite an object whose UID differs from
	// the new one (no-uid-conflict, RFC 4791 §5.3.2.1, RFC 6352 §6.3.2.1).
	// CalDAV and CardDAV PUTs set it.
	KeepUID bool
	// Touch (OpPut): record an identical re-put as a change, so that the
	// collection's sync token and CTag move and sync-collection reports the
	// object, as CalendarServer, sabre/dav and Cyrus do for every PUT.
	// Without it an identical re-put writes nothing (Result.NoOp).
	Touch bool
	// UpdateState (OpPrincipalState) changes the principal's state; the
	// committer calls it with the current state inside the write.
	UpdateState func(*PrincipalState) error
	// IfNoneMatchETags is an If-None-Match ETag list: the change fails if the
	// object exists with one of these ETags.
	IfNoneMatchETags []string
	// IfMatchETags is an If-Match ETag list: the change fails unless the
	// object exists with one of these ETags (IfMatch holds a single one).
	IfMatchETags []string
	// Actor (OpPut, OpDelete) is the account that made the change when it
	// is not Principal (a sharee writing the owner's collection). The
	// journal keeps it as the record's ActorKey property, which is never
	// applied to the projection; History reports it.
	Actor string
	// TombstoneAbsent (OpDelete, without If-Match): when the object does
	// not exist and the collection holds no tombstone for its name, record
	// the deletion anyway, as a record with no ETag. A device deletes only
	// what it once synced, so such a DELETE means the store lost the item
	// (a rebuilt store); the tombstone keeps a lagging device's stale copy
	// from bringing it back (invariant 3).
	TombstoneAbsent bool
	// SeenToken (OpCreateCollection) is the last sync token a device holds
	// for the collection it creates again. When the store's tombstone of
	// the collection is after it (syncproto.DeletedSince), the change fails
	// with ErrDeleted: the device's copy predates a deletion.
	SeenToken *syncproto.Token
	// Outbox (OpPut, OpDelete, OpDeleteCollection, or OpPrincipalState
	// without UpdateState) are mail messages this change queues, in the
	// same record (outbox.go); OutboxDone are queued ids it takes out.
	Outbox     []OutboxEntry
	OutboxDone []string
}

// ActorKey is the record property that names a change's Actor. Record
// properties in AnnotationNS annotate the journal only: applying a record
// skips them.
const (
	AnnotationNS = "{http://pimvault.org/ns/journal}"
	ActorKey     = AnnotationNS + "by"
)

// ifMatchFails reports whether the object's current ETag fails the
// change's If-Match: a single ETag or a list ("*" is checked by the caller).
func (c *Change) ifMatchFails(etag string) bool {
	if len(c.IfMatchETags) > 0 && !slices.Contains(c.IfMatchETags, etag) {
		return true
	}
	return c.IfMatch != "" && c.IfMatch != "*" && c.IfMatch != etag
}

// Result tells what a committed change did.
type Result struct {
	Seq     uint64 // sequence of the record written, or the current one for a no-op
	ETag    string // the object's ETag after a put or move
	Created bool   // the object, collection or principal did not exist before
	NoOp    bool   // nothing changed (an identical re-put); no record was written
	// Existing is the name of the object that already holds this UID and
	// body, when a DedupeByUID put found it at another name.
	Existing string
}

// Limits on properties, so one request cannot blow up a record.
const (
	maxPropName   = 1024
	maxPropValue  = 64 << 10
	maxPropsCount = 256
	maxMetaLen    = 1024
)

// ETagOf is the ETag the store gives a body: a hash of its bytes, so an
// identical re-put is recognised as a no-op.
func ETagOf(body []byte) string { return syncproto.ETagOf(body) }

// validate checks what can be checked without the store's state.
func (c *Change) validate(maxBody int64, internal bool) error {
	name := func(kind, v string) error { return ValidateName(kind, v) }
	var errs []error
	switch c.Op {
	case OpPutPrincipal, OpDeletePrincipal:
		errs = append(errs, name("principal", c.Principal))
	case OpCreateCollection:
		errs = append(errs, name("principal", c.Principal), name("collection", c.Collection))
	case OpDeleteCollection:
		errs = append(errs, name("principal", c.Principal), name("collection", c.Collection), validateSubtree(c))
	case OpSetProps:
		errs = append(errs, name("principal", c.Principal), name("collection", c.Collection))
		if c.Name != "" {
			errs = append(errs, name("object", c.Name))
		}
	case OpPut, OpDelete:
		errs = append(errs, name("principal", c.Principal), name("collection", c.Collection), name("object", c.Name))
	case OpMove:
		errs = append(errs, name("principal", c.Principal), name("collection", c.Collection), name("object", c.Name),
			name("collection", c.ToCollection), name("object", c.ToName))
		if c.Collection == c.ToCollection && c.Name == c.ToName {
			errs = append(errs, fmt.Errorf("move %s onto itself: %w", c.Name, ErrInvalidChange))
		}
	case OpPrincipalState:
		errs = append(errs, name("principal", c.Principal))
		if c.UpdateState == nil && len(c.Outbox) == 0 && len(c.OutboxDone) == 0 {
			errs = append(errs, fmt.Errorf("principal state change without UpdateState: %w", ErrInvalidChange))
		}
	case OpEpoch, OpCheckpoint:
		if !internal {
			errs = append(errs, fmt.Errorf("%v is written by the store itself: %w", c.Op, ErrInvalidChange))
		}
	default:
		errs = append(errs, fmt.Errorf("operation %v: %w", c.Op, ErrInvalidChange))
	}
	errs = append(errs, validateConds(c), validateOutbox(c))
	if c.Actor != "" {
		if c.Op != OpPut && c.Op != OpDelete {
			errs = append(errs, fmt.Errorf("an actor on %v: %w", c.Op, ErrInvalidChange))
		}
		errs = append(errs, name("actor", c.Actor))
	}
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	if int64(len(c.Body)) > maxBody {
		return fmt.Errorf("body of %d bytes over the limit of %d: %w", len(c.Body), maxBody, ErrTooLarge)
	}
	if len(c.Kind) > maxMetaLen || len(c.Meta.UID) > maxMetaLen || len(c.Meta.Component) > maxMetaLen {
		return fmt.Errorf("kind, uid or component over %d bytes: %w", maxMetaLen, ErrInvalidChange)
	}
	if c.Meta.Span != nil && c.Meta.Span.End < c.Meta.Span.Start {
		return fmt.Errorf("time span ends before it starts: %w", ErrInvalidChange)
	}
	if len(c.IfNoneMatchETags) > maxPropsCount {
		return fmt.Errorf("more than %d ETags in If-None-Match: %w", maxPropsCount, ErrInvalidChange)
	}
	if len(c.IfMatchETags) > maxPropsCount {
		return fmt.Errorf("more than %d ETags in If-Match: %w", maxPropsCount, ErrInvalidChange)
	}
	if len(c.Props)+len(c.Remove) > maxPropsCount {
		return fmt.Errorf("more than %d properties: %w", maxPropsCount, ErrInvalidChange)
	}
	for k, v := range c.Props {
		if k == "" || len(k) > maxPropName || len(v) > maxPropValue {
			return fmt.Errorf("property %.40q: empty name, name over %d bytes or value over %d bytes: %w", k, maxPropName, maxPropValue, ErrInvalidChange)
		}
	}
	for _, k := range c.Remove {
		if k == "" || len(k) > maxPropName {
			return fmt.Errorf("property to remove %.40q: bad name: %w", k, ErrInvalidChange)
		}
	}
	return nil
}

// prepare checks a change's preconditions against the state in tx (which
// includes the earlier changes of the same batch) and returns the record to
// write, or nil for a no-op.
func prepare(tx *bolt.Tx, c *Change, head uint64) (*Record, Result, error) {
	r := &Record{Op: c.Op, Principal: c.Principal, Collection: c.Collection, Name: c.Name,
		ToCollection: c.ToCollection, ToName: c.ToName, Kind: c.Kind, Meta: c.Meta,
		Props: c.Props, Remove: c.Remove, Body: c.Body, ReplaceProps: c.ReplaceProps && c.Op == OpPut}
	var res Result
	if err := checkConds(tx, c); err != nil {
		return nil, res, err
	}
	if c.Actor != "" {
		props := make(map[string][]byte, len(c.Props)+1)
		for k, v := range c.Props {
			props[k] = v
		}
		props[ActorKey] = []byte(c.Actor)
		r.Props = props
	}
	if err := prepareOutbox(tx, c, r); err != nil {
		return nil, res, err
	}
	if c.Op == OpPrincipalState && c.UpdateState == nil {
		if len(r.Props) == 0 && len(r.Remove) == 0 {
			return nil, Result{Seq: head, NoOp: true}, nil
		}
		return r, res, nil
	}
	switch c.Op {
	case OpPutPrincipal:
		v := tx.Bucket(bktPrincipals).Get([]byte(c.Principal))
		live, _, data, _ := decodePrincipal(v)
		live = live && v != nil
		if c.IfNoneMatch && live {
			return nil, res, fmt.Errorf("principal %s: %w", c.Principal, ErrExists)
		}
		if (c.IfMatch != "" || len(c.IfMatchETags) > 0) && !live {
			return nil, res, fmt.Errorf("principal %s: %w", c.Principal, ErrNotFound)
		}
		if live && bytes.Equal(data, c.Body) {
			return nil, Result{Seq: head, NoOp: true}, nil
		}
		res.Created = !live
	case OpDeletePrincipal:
		if !principalLive(tx, c.Principal) {
			return nil, res, fmt.Errorf("principal %s: %w", c.Principal, ErrNotFound)
		}
	case OpCreateCollection:
		if !principalLive(tx, c.Principal) {
			return nil, res, fmt.Errorf("principal %s: %w", c.Principal, ErrNotFound)
		}
		if collectionBucket(tx, c.Principal, c.Collection) != nil {
			return nil, res, fmt.Errorf("collection %s: %w", c.Collection, ErrExists)
		}
		if err := checkDeletedSince(tx, c, head); err != nil {
			return nil, res, err
		}
		res.Created = true
	case OpDeleteCollection, OpSetProps:
		cb := collectionBucket(tx, c.Principal, c.Collection)
		if cb == nil {
			return nil, res, fmt.Errorf("collection %s/%s: %w", c.Principal, c.Collection, ErrNotFound)
		}
		if c.Op == OpSetProps && c.Name != "" {
			_, exists, err := getObject(cb, c.Name)
			if err != nil {
				return nil, res, err
			}
			if !exists {
				return nil, res, fmt.Errorf("set props of %s: %w", c.Name, ErrNotFound)
			}
		}
	case OpPut:
		return preparePut(tx, c, r, head)
	case OpDelete:
		cb := collectionBucket(tx, c.Principal, c.Collection)
		if cb == nil {
			return nil, res, fmt.Errorf("collection %s/%s: %w", c.Principal, c.Collection, ErrNotFound)
		}
		old, exists, err := getObject(cb, c.Name)
		if err != nil {
			return nil, res, err
		}
		if !exists {
			if c.TombstoneAbsent && c.IfMatch == "" && len(c.IfMatchETags) == 0 && cb.Bucket(bktTombs).Get([]byte(c.Name)) == nil {
				r.ETag = ""
				return r, res, nil
			}
			return nil, res, fmt.Errorf("object %s: %w", c.Name, ErrNotFound)
		}
		if c.ifMatchFails(old.ETag) {
			return nil, res, fmt.Errorf("delete %s: etag is %s: %w", c.Name, old.ETag, ErrPreconditionFailed)
		}
		r.ETag = old.ETag
	case OpMove:
		return prepareMove(tx, c, r)
	case OpPrincipalState:
		return prepareState(tx, c, r, head)
	case OpEpoch, OpCheckpoint:
	}
	return r, res, nil
}

func checkMatch(name string, exists bool, etag string, c *Change) error {
	if c.IfNoneMatch && exists {
		return fmt.Errorf("%s exists (If-None-Match: *): %w", name, ErrPreconditionFailed)
	}
	if exists && slices.Contains(c.IfNoneMatchETags, etag) {
		return fmt.Errorf("%s: etag %s is in If-None-Match: %w", name, etag, ErrPreconditionFailed)
	}
	if c.IfMatch == "*" && !exists {
		return fmt.Errorf("%s does not exist (If-Match: *): %w", name, ErrPreconditionFailed)
	}
	if (c.IfMatch != "" && c.IfMatch != "*" || len(c.IfMatchETags) > 0) && (!exists || c.ifMatchFails(etag)) {
		return fmt.Errorf("%s: etag does not match If-Match: %w", name, ErrPreconditionFailed)
	}
	return nil
}

// uidFree reports an error when uid is held in cb by an object other than the
// allowed names.
func uidFree(cb *bolt.Bucket, uid string, allowed ...string) error {
	if uid == "" {
		return nil
	}
	holder := cb.Bucket(bktUIDs).Get([]byte(uid))
	if holder == nil {
		return nil
	}
	for _, a := range allowed {
		if string(holder) == a {
			return nil
		}
	}
	return &UIDConflictError{UID: uid, Existing: string(holder)}
}

func sameMeta(a, b ObjectMeta) bool {
	if a.UID != b.UID || a.Component != b.Component || (a.Span == nil) != (b.Span == nil) {
		return false
	}
	return a.Span == nil || *a.Span == *b.Span
}

func preparePut(tx *bolt.Tx, c *Change, r *Record, head uint64) (*Record, Result, error) {
	var res Result
	cb := collectionBucket(tx, c.Principal, c.Collection)
	if cb == nil {
		return nil, res, fmt.Errorf("collection %s/%s: %w", c.Principal, c.Collection, ErrNotFound)
	}
	old, exists, err := getObject(cb, c.Name)
	if err != nil {
		return nil, res, err
	}
	if c.DedupeByUID {
		if res, found, err := dedupeByUID(cb, c, head); found || err != nil {
			return nil, res, err
		}
	}
	if err := checkMatch(c.Name, exists, old.ETag, c); err != nil {
		return nil, res, err
	}
	if err := uidFree(cb, c.Meta.UID, c.Name); err != nil {
		return nil, res, err
	}
	if c.KeepUID && exists && old.Meta.UID != "" && c.Meta.UID != "" && old.Meta.UID != c.Meta.UID {
		return nil, res, &UIDConflictError{UID: c.Meta.UID, Existing: c.Name, Replaces: old.Meta.UID}
	}
	r.ETag = ETagOf(c.Body)
	if exists && old.ETag == r.ETag && sameMeta(old.Meta, c.Meta) && len(c.Props) == 0 && !c.ReplaceProps && len(c.Outbox) == 0 && len(c.OutboxDone) == 0 && !c.Touch {
		return nil, Result{Seq: head, ETag: old.ETag, NoOp: true}, nil
	}
	return r, Result{ETag: r.ETag, Created: !exists}, nil
}

func prepareMove(tx *bolt.Tx, c *Change, r *Record) (*Record, Result, error) {
	var res Result
	src := collectionBucket(tx, c.Principal, c.Collection)
	dst := collectionBucket(tx, c.Principal, c.ToCollection)
	if src == nil || dst == nil {
		return nil, res, fmt.Errorf("move %s/%s to %s: collection: %w", c.Principal, c.Collection, c.ToCollection, ErrNotFound)
	}
	old, exists, err := getObject(src, c.Name)
	if err != nil {
		return nil, res, err
	}
	if !exists {
		return nil, res, fmt.Errorf("move %s: %w", c.Name, ErrNotFound)
	}
	if c.ifMatchFails(old.ETag) {
		return nil, res, fmt.Errorf("move %s: etag does not match If-Match: %w", c.Name, ErrPreconditionFailed)
	}
	_, dstExists, err := getObject(dst, c.ToName)
	if err != nil {
		return nil, res, err
	}
	if dstExists && !c.Overwrite {
		return nil, res, fmt.Errorf("move to %s: destination exists: %w", c.ToName, ErrPreconditionFailed)
	}
	allowed := []string{c.ToName}
	if c.Collection == c.ToCollection {
		allowed = append(allowed, c.Name)
	}
	if err := uidFree(dst, old.Meta.UID, allowed...); err != nil {
		return nil, res, err
	}
	r.ETag, r.Meta = old.ETag, old.Meta
	r.Body = append([]byte(nil), src.Bucket(bktBodies).Get([]byte(c.Name))...)
	return r, Result{ETag: old.ETag, Created: !dstExists}, nil
}

// checkDeletedSince refuses a device's creation of a collection whose
// deletion the store recorded after the device's last sync of it.
func checkDeletedSince(tx *bolt.Tx, c *Change, head uint64) error {
	if c.SeenToken == nil {
		return nil
	}
	v := tx.Bucket(bktData).Bucket([]byte(c.Principal)).Bucket(bktColTombs).Get([]byte(c.Collection))
	if len(v) != 8 {
		return nil
	}
	deleted := binary.BigEndian.Uint64(v)
	h, err := readEpochHistory(tx)
	if err != nil {
		return err
	}
	if syncproto.DeletedSince(*c.SeenToken, deleted, syncproto.Store{Epoch: h.Current, Earlier: h.Earlier, Head: head}) {
		return fmt.Errorf("collection %s was deleted at sequence %d, after %s: %w", c.Collection, deleted, syncproto.Format(*c.SeenToken), ErrDeleted)
	}
	return nil
}
