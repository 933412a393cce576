package storage

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"sort"
	"strings"

	bolt "go.etcd.io/bbolt"
)

// Per-object properties (WebDAV dead properties on non-collection resources,
// RFC 4918 §4). They live in a collection's "objprops" bucket, created the
// first time an object of the collection gets a property, under the object's
// name: a count and the sorted name/value pairs. They are written by OpSetProps
// with a Name, by OpPut (Props set, or all replaced with ReplaceProps), follow
// an object on OpMove and go away with it on OpDelete.
var bktObjProps = []byte("objprops")

func encodeObjProps(m map[string][]byte) []byte {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	b := binary.AppendUvarint(nil, uint64(len(keys)))
	for _, k := range keys {
		b = appendBytes(b, []byte(k))
		b = appendBytes(b, m[k])
	}
	return b
}

func decodeObjProps(b []byte) (map[string][]byte, error) {
	d := &payloadReader{b: b}
	n := d.uvarint()
	if n > uint64(len(b)) {
		return nil, fmt.Errorf("decode object properties: %w", errBadPayload)
	}
	m := make(map[string][]byte, n)
	for i := uint64(0); i < n && d.err == nil; i++ {
		k := string(d.bytes())
		m[k] = bytes.Clone(d.bytes())
	}
	if d.err != nil || len(d.b) != 0 {
		return nil, fmt.Errorf("decode object properties: %w", errBadPayload)
	}
	return m, nil
}

// readObjProps returns an object's properties (nil when it has none).
func readObjProps(cb *bolt.Bucket, name string) (map[string][]byte, error) {
	pb := cb.Bucket(bktObjProps)
	if pb == nil {
		return nil, nil
	}
	v := pb.Get([]byte(name))
	if v == nil {
		return nil, nil
	}
	return decodeObjProps(v)
}

// writeObjProps stores m as the object's properties; an empty m removes them.
func writeObjProps(cb *bolt.Bucket, name string, m map[string][]byte) error {
	if len(m) == 0 {
		if pb := cb.Bucket(bktObjProps); pb != nil {
			return pb.Delete([]byte(name))
		}
		return nil
	}
	pb, err := cb.CreateBucketIfNotExists(bktObjProps)
	if err != nil {
		return err
	}
	return pb.Put([]byte(name), encodeObjProps(m))
}

// applyObjProps changes an object's properties: with replace they become
// exactly set, otherwise remove and then set are applied to what it has.
// withoutAnnotations returns props without the journal's annotations
// (AnnotationNS), which the projection never holds.
func withoutAnnotations(props map[string][]byte) map[string][]byte {
	for k := range props {
		if strings.HasPrefix(k, AnnotationNS) {
			out := make(map[string][]byte, len(props))
			for k, v := range props {
				if !strings.HasPrefix(k, AnnotationNS) {
					out[k] = v
				}
			}
			return out
		}
	}
	return props
}

func applyObjProps(cb *bolt.Bucket, name string, set map[string][]byte, remove []string, replace bool) error {
	if !replace && len(set) == 0 && len(remove) == 0 {
		return nil
	}
	m := map[string][]byte{}
	if !replace {
		old, err := readObjProps(cb, name)
		if err != nil {
			return err
		}
		if old != nil {
			m = old
		}
	}
	for _, k := range remove {
		delete(m, k)
	}
	for k, v := range set {
		m[k] = v
	}
	return writeObjProps(cb, name, m)
}

// applyObjectSetProps applies OpSetProps with a Name: the object's properties
// change and it is listed as changed (its ETag stays, its sequence moves), so
// sync-collection reports it.
func applyObjectSetProps(cb *bolt.Bucket, ic infoCache, r *Record) error {
	o, exists, err := getObject(cb, r.Name)
	if err != nil {
		return err
	}
	if !exists {
		return fmt.Errorf("set props of %s: %w", r.Name, ErrNotFound)
	}
	if err := applyObjProps(cb, r.Name, r.Props, r.Remove, false); err != nil {
		return err
	}
	if err := cb.Bucket(bktChanges).Delete(u64(o.Seq)); err != nil {
		return err
	}
	o.Seq, o.Time = r.Seq, r.Time
	if err := cb.Bucket(bktObjects).Put([]byte(r.Name), o.encode()); err != nil {
		return err
	}
	if err := cb.Bucket(bktChanges).Put(u64(r.Seq), append([]byte{changePut}, r.Name...)); err != nil {
		return err
	}
	return touchInfo(cb, ic, r.Seq, 0, 0)
}

// moveObjProps carries an object's properties from src/from to dst/to on
// OpMove; what dst/to had is replaced.
func moveObjProps(src, dst *bolt.Bucket, from, to string) error {
	m, err := readObjProps(src, from)
	if err != nil {
		return err
	}
	if err := writeObjProps(src, from, nil); err != nil {
		return err
	}
	return writeObjProps(dst, to, m)
}

// ObjectProps returns the dead properties of an object (an empty map when it
// has none).
func (s *Store) ObjectProps(principal, collection, name string) (map[string][]byte, error) {
	out := map[string][]byte{}
	err := s.view(func(tx *bolt.Tx) error {
		cb := collectionBucket(tx, principal, collection)
		if cb == nil {
			return fmt.Errorf("collection %s/%s: %w", principal, collection, ErrNotFound)
		}
		if _, exists, err := getObject(cb, name); err != nil || !exists {
			if err == nil {
				err = fmt.Errorf("object %s: %w", name, ErrNotFound)
			}
			return err
		}
		m, err := readObjProps(cb, name)
		for k, v := range m {
			out[k] = v
		}
		return err
	})
	return out, err
}
