package storage

import (
	"encoding/binary"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// applyRecord changes the projection as one journal record says. The same
// function serves the live commit path and replay, so a rebuilt store.db is
// identical to the one that was written live. Preconditions are not checked
// here: a record in the journal was accepted when it was written.
func applyRecord(tx *bolt.Tx, r *Record) error {
	return applyRecordCached(tx, r, nil)
}

// infoCache holds the collection infos a transaction changed but has not
// written yet (flushInfos writes them): a replay writes each collection's
// info once per transaction instead of once per record. nil writes at once.
type infoCache map[*bolt.Bucket]*collectionInfo

func flushInfos(ic infoCache) error {
	for cb, info := range ic {
		if err := cb.Put(keyInfo, info.encode()); err != nil {
			return err
		}
		delete(ic, cb)
	}
	return nil
}

func applyRecordCached(tx *bolt.Tx, r *Record, ic infoCache) error {
	if r.Op == OpDeletePrincipal || r.Op == OpDeleteCollection {
		// Never write an info into a bucket this record deletes.
		if err := flushInfos(ic); err != nil {
			return err
		}
	}
	if err := applyOutbox(tx, r); err != nil {
		return err
	}
	if r.Op == OpPutPrincipal || r.Op == OpDeletePrincipal {
		if err := bumpPrincipalsVersion(tx); err != nil {
			return err
		}
	}
	switch r.Op {
	case OpPutPrincipal:
		data := tx.Bucket(bktData)
		p, err := data.CreateBucketIfNotExists([]byte(r.Principal))
		if err != nil {
			return err
		}
		for _, name := range [][]byte{bktCols, bktColTombs} {
			if _, err := p.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		return tx.Bucket(bktPrincipals).Put([]byte(r.Principal), encodePrincipal(true, r.Seq, r.Body))
	case OpDeletePrincipal:
		if err := tx.Bucket(bktData).DeleteBucket([]byte(r.Principal)); err != nil {
			return fmt.Errorf("delete principal %s: %w", r.Principal, err)
		}
		return tx.Bucket(bktPrincipals).Put([]byte(r.Principal), encodePrincipal(false, r.Seq, nil))
	case OpCreateCollection:
		return applyCreateCollection(tx, r)
	case OpDeleteCollection:
		p := tx.Bucket(bktData).Bucket([]byte(r.Principal))
		if p == nil {
			return fmt.Errorf("delete collection: principal %s: %w", r.Principal, ErrNotFound)
		}
		if err := p.Bucket(bktCols).DeleteBucket([]byte(r.Collection)); err != nil {
			return fmt.Errorf("delete collection %s: %w", r.Collection, err)
		}
		if err := applyDeleteSubtree(p, r.Name, r.Seq); err != nil {
			return err
		}
		return p.Bucket(bktColTombs).Put([]byte(r.Collection), u64(r.Seq))
	case OpSetProps:
		cb := collectionBucket(tx, r.Principal, r.Collection)
		if cb == nil {
			return fmt.Errorf("set props %s/%s: %w", r.Principal, r.Collection, ErrNotFound)
		}
		if r.Name != "" {
			return applyObjectSetProps(cb, ic, r)
		}
		if err := applyProps(cb.Bucket(bktProps), r.Props, r.Remove); err != nil {
			return err
		}
		return touchInfo(cb, ic, r.Seq, 0, 0)
	case OpPut:
		cb := collectionBucket(tx, r.Principal, r.Collection)
		if cb == nil {
			return fmt.Errorf("put %s/%s: %w", r.Principal, r.Collection, ErrNotFound)
		}
		if err := applyPut(cb, ic, r.Name, r.ETag, r.Meta, r.Body, r.Seq, r.Time); err != nil {
			return err
		}
		return applyObjProps(cb, r.Name, withoutAnnotations(r.Props), nil, r.ReplaceProps)
	case OpDelete:
		cb := collectionBucket(tx, r.Principal, r.Collection)
		if cb == nil {
			return fmt.Errorf("delete %s/%s: %w", r.Principal, r.Collection, ErrNotFound)
		}
		if err := applyDelete(cb, ic, r.Name, r.ETag, r.Seq, r.Time); err != nil {
			return err
		}
		return writeObjProps(cb, r.Name, nil)
	case OpMove:
		src := collectionBucket(tx, r.Principal, r.Collection)
		dst := collectionBucket(tx, r.Principal, r.ToCollection)
		if src == nil || dst == nil {
			return fmt.Errorf("move %s/%s to %s: %w", r.Principal, r.Collection, r.ToCollection, ErrNotFound)
		}
		if err := applyDelete(src, ic, r.Name, r.ETag, r.Seq, r.Time); err != nil {
			return err
		}
		if err := applyPut(dst, ic, r.ToName, r.ETag, r.Meta, r.Body, r.Seq, r.Time); err != nil {
			return err
		}
		return moveObjProps(src, dst, r.Name, r.ToName)
	case OpEpoch:
		if err := tx.Bucket(bktEpochs).Put(u64(r.Seq), []byte(r.Name)); err != nil {
			return err
		}
		return tx.Bucket(bktMeta).Put(keyEpoch, []byte(r.Name))
	case OpCheckpoint:
		return nil
	case OpPrincipalState:
		return applyState(tx, r)
	}
	return fmt.Errorf("apply: %w: operation %v", ErrInvalidChange, r.Op)
}

func applyCreateCollection(tx *bolt.Tx, r *Record) error {
	p := tx.Bucket(bktData).Bucket([]byte(r.Principal))
	if p == nil {
		return fmt.Errorf("create collection: principal %s: %w", r.Principal, ErrNotFound)
	}
	cb, err := p.Bucket(bktCols).CreateBucket([]byte(r.Collection))
	if err != nil {
		return fmt.Errorf("create collection %s: %w", r.Collection, err)
	}
	for _, name := range [][]byte{bktProps, bktObjects, bktBodies, bktChanges, bktTombs, bktUIDs, bktSpans} {
		if _, err := cb.CreateBucket(name); err != nil {
			return err
		}
	}
	info := collectionInfo{Kind: r.Kind, CreatedSeq: r.Seq, LastSeq: r.Seq}
	if err := cb.Put(keyInfo, info.encode()); err != nil {
		return err
	}
	if err := p.Bucket(bktColTombs).Delete([]byte(r.Collection)); err != nil {
		return err
	}
	return applyProps(cb.Bucket(bktProps), r.Props, nil)
}

func applyProps(b *bolt.Bucket, set map[string][]byte, remove []string) error {
	for _, k := range remove {
		if err := b.Delete([]byte(k)); err != nil {
			return err
		}
	}
	for k, v := range set {
		if err := b.Put([]byte(k), v); err != nil {
			return err
		}
	}
	return nil
}

// touchInfo records a change in the collection's info: its last sequence and
// the count and byte deltas.
func touchInfo(cb *bolt.Bucket, ic infoCache, seq uint64, dCount, dBytes int64) error {
	info := ic[cb]
	if info == nil {
		i, err := getInfo(cb)
		if err != nil {
			return err
		}
		info = &i
	}
	info.LastSeq = seq
	info.Count += dCount
	info.Bytes += dBytes
	if ic != nil {
		ic[cb] = info
		return nil
	}
	return cb.Put(keyInfo, info.encode())
}

func spanKey(start int64, name string) []byte {
	return append(sortable(start), name...)
}

// unindex removes an object's change entry, UID and span index entries.
func unindex(cb *bolt.Bucket, name string, o objectValue) error {
	if err := cb.Bucket(bktChanges).Delete(u64(o.Seq)); err != nil {
		return err
	}
	if o.Meta.UID != "" {
		uids := cb.Bucket(bktUIDs)
		if string(uids.Get([]byte(o.Meta.UID))) == name {
			if err := uids.Delete([]byte(o.Meta.UID)); err != nil {
				return err
			}
		}
	}
	if o.Meta.Span != nil {
		if err := cb.Bucket(bktSpans).Delete(spanKey(o.Meta.Span.Start, name)); err != nil {
			return err
		}
	}
	return nil
}

func applyPut(cb *bolt.Bucket, ic infoCache, name, etag string, meta ObjectMeta, body []byte, seq uint64, t int64) error {
	key := []byte(name)
	var dCount, dBytes int64 = 1, int64(len(body))
	old, exists, err := getObject(cb, name)
	if err != nil {
		return err
	}
	if exists {
		dCount, dBytes = 0, int64(len(body))-old.Size
		if err := unindex(cb, name, old); err != nil {
			return err
		}
	} else if tomb := cb.Bucket(bktTombs).Get(key); len(tomb) >= 8 {
		if err := cb.Bucket(bktChanges).Delete(tomb[:8]); err != nil {
			return err
		}
		if err := cb.Bucket(bktTombs).Delete(key); err != nil {
			return err
		}
	}
	o := objectValue{ETag: etag, Meta: meta, Seq: seq, Time: t, Size: int64(len(body))}
	if err := cb.Bucket(bktObjects).Put(key, o.encode()); err != nil {
		return err
	}
	if err := cb.Bucket(bktBodies).Put(key, body); err != nil {
		return err
	}
	if meta.UID != "" {
		if err := cb.Bucket(bktUIDs).Put([]byte(meta.UID), key); err != nil {
			return err
		}
	}
	if meta.Span != nil {
		if err := cb.Bucket(bktSpans).Put(spanKey(meta.Span.Start, name), sortable(meta.Span.End)); err != nil {
			return err
		}
	}
	if err := cb.Bucket(bktChanges).Put(u64(seq), append([]byte{changePut}, name...)); err != nil {
		return err
	}
	return touchInfo(cb, ic, seq, dCount, dBytes)
}

// applyTombstoneAbsent records the deletion of an object the store does
// not hold (Change.TombstoneAbsent): a tombstone and a change, nothing else.
func applyTombstoneAbsent(cb *bolt.Bucket, ic infoCache, name string, seq uint64, t int64) error {
	tomb := binary.AppendVarint(u64(seq), t)
	if err := cb.Bucket(bktTombs).Put([]byte(name), tomb); err != nil {
		return err
	}
	if err := cb.Bucket(bktChanges).Put(u64(seq), append([]byte{changeDelete}, name...)); err != nil {
		return err
	}
	return touchInfo(cb, ic, seq, 0, 0)
}

// applyDelete removes an object; etag is the record's (empty only for a
// tombstone of an object the store did not hold).
func applyDelete(cb *bolt.Bucket, ic infoCache, name, etag string, seq uint64, t int64) error {
	old, exists, err := getObject(cb, name)
	if err != nil {
		return err
	}
	if !exists {
		if etag == "" && cb.Bucket(bktTombs).Get([]byte(name)) == nil {
			return applyTombstoneAbsent(cb, ic, name, seq, t)
		}
		return fmt.Errorf("delete %s: %w", name, ErrNotFound)
	}
	if err := unindex(cb, name, old); err != nil {
		return err
	}
	key := []byte(name)
	if err := cb.Bucket(bktObjects).Delete(key); err != nil {
		return err
	}
	if err := cb.Bucket(bktBodies).Delete(key); err != nil {
		return err
	}
	tomb := u64(seq)
	tomb = binary.AppendVarint(tomb, t)
	tomb = append(tomb, old.ETag...)
	if err := cb.Bucket(bktTombs).Put(key, tomb); err != nil {
		return err
	}
	if err := cb.Bucket(bktChanges).Put(u64(seq), append([]byte{changeDelete}, name...)); err != nil {
		return err
	}
	return touchInfo(cb, ic, seq, -1, -old.Size)
}
