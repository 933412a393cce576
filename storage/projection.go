package storage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"path/filepath"

	bolt "go.etcd.io/bbolt"
)

// Bucket layout of store.db (see doc.go for the whole format).
var (
	bktMeta       = []byte("meta")       // schema, store_id, epoch, applied_seq, chain_hash
	bktEpochs     = []byte("epochs")     // seq u64 BE → epoch id
	bktPrincipals = []byte("principals") // name → principalValue
	bktData       = []byte("data")       // principal → {cols → collection → …, coltombs}

	bktCols     = []byte("cols")     // in a principal: collection name → collection bucket
	bktColTombs = []byte("coltombs") // in a principal: collection name → seq u64 of its deletion

	keyInfo    = []byte("info")  // in a collection: collectionInfo
	bktProps   = []byte("props") // property name → raw value
	bktObjects = []byte("objects")
	bktBodies  = []byte("bodies")
	bktChanges = []byte("changes") // seq u64 BE → kind byte + name
	bktTombs   = []byte("tombs")   // name → seq u64, time i64, etag
	bktUIDs    = []byte("uids")    // uid → name
	bktSpans   = []byte("spans")   // start (sortable) + name → end

	keySchema     = []byte("schema")
	keyStoreID    = []byte("store_id")
	keyEpoch      = []byte("epoch")
	keyAppliedSeq = []byte("applied_seq")
	keyChainHash  = []byte("chain_hash")
)

// errEmptyProjection: store.db exists but was never initialised (a crash
// right after bbolt created it); it is initialised like a new one.
var errEmptyProjection = errors.New("store.db is empty")

const (
	changePut    byte = 1
	changeDelete byte = 2
)

func u64(v uint64) []byte { b := make([]byte, 8); binary.BigEndian.PutUint64(b, v); return b }

// sortable maps a signed time to bytes that sort in numeric order.
func sortable(v int64) []byte { return u64(uint64(v) ^ (1 << 63)) }

func fromSortable(b []byte) int64 { return int64(binary.BigEndian.Uint64(b) ^ (1 << 63)) }

// objectValue is what the objects bucket holds for a live object.
type objectValue struct {
	ETag string
	Meta ObjectMeta
	Seq  uint64 // sequence of the last change
	Time int64  // Unix nanoseconds of the last change
	Size int64
}

func (o *objectValue) encode() []byte {
	b := make([]byte, 0, 64+len(o.ETag)+len(o.Meta.UID)+len(o.Meta.Component))
	b = appendBytes(b, []byte(o.ETag))
	b = appendBytes(b, []byte(o.Meta.UID))
	b = appendBytes(b, []byte(o.Meta.Component))
	if o.Meta.Span != nil {
		b = append(b, 1)
		b = binary.AppendVarint(b, o.Meta.Span.Start)
		b = binary.AppendVarint(b, o.Meta.Span.End)
	} else {
		b = append(b, 0)
	}
	b = binary.AppendUvarint(b, o.Seq)
	b = binary.AppendVarint(b, o.Time)
	b = binary.AppendVarint(b, o.Size)
	return b
}

func decodeObjectValue(b []byte) (objectValue, error) {
	d := &payloadReader{b: b}
	var o objectValue
	o.ETag = string(d.bytes())
	o.Meta.UID = string(d.bytes())
	o.Meta.Component = string(d.bytes())
	if d.byte1() == 1 {
		o.Meta.Span = &Span{Start: d.varint(), End: d.varint()}
	}
	o.Seq = d.uvarint()
	o.Time = d.varint()
	o.Size = d.varint()
	if d.err != nil {
		return o, fmt.Errorf("decode object: %w", d.err)
	}
	return o, nil
}

// collectionInfo is the info key of a collection bucket.
type collectionInfo struct {
	Kind       string
	CreatedSeq uint64 // tokens older than this belong to an earlier collection of the same name
	LastSeq    uint64 // sequence of the last change to members or properties
	PrunedSeq  uint64 // tombstones and changes at or before this were dropped
	Count      int64
	Bytes      int64
}

func (c *collectionInfo) encode() []byte {
	b := appendBytes(nil, []byte(c.Kind))
	b = binary.AppendUvarint(b, c.CreatedSeq)
	b = binary.AppendUvarint(b, c.LastSeq)
	b = binary.AppendUvarint(b, c.PrunedSeq)
	b = binary.AppendVarint(b, c.Count)
	b = binary.AppendVarint(b, c.Bytes)
	return b
}

func decodeCollectionInfo(b []byte) (collectionInfo, error) {
	d := &payloadReader{b: b}
	var c collectionInfo
	c.Kind = string(d.bytes())
	c.CreatedSeq = d.uvarint()
	c.LastSeq = d.uvarint()
	c.PrunedSeq = d.uvarint()
	c.Count = d.varint()
	c.Bytes = d.varint()
	if d.err != nil {
		return c, fmt.Errorf("decode collection info: %w", d.err)
	}
	return c, nil
}

// principalValue: state byte (1 live, 0 deleted), seq u64, data.
func encodePrincipal(live bool, seq uint64, data []byte) []byte {
	b := make([]byte, 9, 9+len(data))
	if live {
		b[0] = 1
	}
	binary.BigEndian.PutUint64(b[1:9], seq)
	return append(b, data...)
}

func decodePrincipal(b []byte) (live bool, seq uint64, data []byte, err error) {
	if len(b) < 9 {
		return false, 0, nil, fmt.Errorf("decode principal: %w", errBadPayload)
	}
	return b[0] == 1, binary.BigEndian.Uint64(b[1:9]), b[9:], nil
}

// initProjection creates the root buckets and meta of a new store.db, or checks
// an existing one belongs to storeID and is at the current schema. It
// returns the applied sequence and hash.
func initProjection(tx *bolt.Tx, storeID [16]byte, path string) (applied uint64, hash [32]byte, err error) {
	if tx.Bucket(bktMeta) == nil && tx.Writable() {
		for _, name := range [][]byte{bktMeta, bktEpochs, bktPrincipals, bktData} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return 0, hash, err
			}
		}
		if err := writeSchema(tx, nil); err != nil {
			return 0, hash, err
		}
		if err := tx.Bucket(bktMeta).Put(keyStoreID, storeID[:]); err != nil {
			return 0, hash, err
		}
		return 0, hash, nil
	}
	applied, hash, schema, err := checkProjection(tx, storeID, path)
	if err == nil && schema < currentSchema() {
		err = &UpgradeNeededError{Dir: filepath.Dir(path), FromSchema: schema, ToSchema: currentSchema()}
	}
	return applied, hash, err
}

// checkProjection checks that the store.db of tx belongs to storeID and
// is not of a newer schema, and returns its applied sequence and hash and
// its schema (which may be older than the current one).
func checkProjection(tx *bolt.Tx, storeID [16]byte, path string) (applied uint64, hash [32]byte, schema int, err error) {
	if schema, err = schemaOf(tx, path); err != nil {
		return 0, hash, 0, err
	}
	meta := tx.Bucket(bktMeta)
	if v := meta.Get(keyStoreID); string(v) != string(storeID[:]) {
		return 0, hash, 0, &CorruptionError{Path: path, Offset: -1,
			What: "store.db belongs to another store (store id differs from IDENTITY)", Advice: adviceRebuild}
	}
	if v := meta.Get(keyAppliedSeq); len(v) == 8 {
		applied = binary.BigEndian.Uint64(v)
	}
	copy(hash[:], meta.Get(keyChainHash))
	return applied, hash, schema, nil
}

// checkSnapshotProjection is checkProjection for a snapshot opened
// read-only: an older schema is accepted when this build reads it as it is.
func checkSnapshotProjection(tx *bolt.Tx, storeID [16]byte, path string) (uint64, [32]byte, error) {
	applied, hash, schema, err := checkProjection(tx, storeID, path)
	if err == nil && schema < currentSchema() && !readableAsIs(schema) {
		err = fmt.Errorf("snapshot %s is of store.db schema %d, which this pimvault reads only after migrating it (restore it with the pimvault release that wrote it, or rebuild from the journal)", path, schema)
	}
	return applied, hash, err
}

func readApplied(tx *bolt.Tx) (uint64, [32]byte) {
	var h [32]byte
	meta := tx.Bucket(bktMeta)
	v := meta.Get(keyAppliedSeq)
	copy(h[:], meta.Get(keyChainHash))
	if len(v) != 8 {
		return 0, h
	}
	return binary.BigEndian.Uint64(v), h
}

func setApplied(tx *bolt.Tx, seq uint64, hash [32]byte) error {
	meta := tx.Bucket(bktMeta)
	if err := meta.Put(keyAppliedSeq, u64(seq)); err != nil {
		return err
	}
	return meta.Put(keyChainHash, hash[:])
}

// collectionBucket returns the bucket of a live collection, or nil.
func collectionBucket(tx *bolt.Tx, principal, collection string) *bolt.Bucket {
	p := tx.Bucket(bktData).Bucket([]byte(principal))
	if p == nil {
		return nil
	}
	return p.Bucket(bktCols).Bucket([]byte(collection))
}

func principalLive(tx *bolt.Tx, name string) bool {
	v := tx.Bucket(bktPrincipals).Get([]byte(name))
	live, _, _, err := decodePrincipal(v)
	return v != nil && err == nil && live
}

func getInfo(cb *bolt.Bucket) (collectionInfo, error) {
	return decodeCollectionInfo(cb.Get(keyInfo))
}

func getObject(cb *bolt.Bucket, name string) (objectValue, bool, error) {
	v := cb.Bucket(bktObjects).Get([]byte(name))
	if v == nil {
		return objectValue{}, false, nil
	}
	o, err := decodeObjectValue(v)
	return o, err == nil, err
}
