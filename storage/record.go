package storage

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"sort"
)

// Op is the operation a journal record carries.
type Op uint8

// Journal operations. The numbers are part of the on-disk format.
const (
	OpPutPrincipal      Op = 1  // create or update an account: Principal, Body (opaque account data)
	OpCreateCollection  Op = 2  // Principal, Collection, Kind, Props (initial properties)
	OpDeleteCollection  Op = 3  // Principal, Collection: a tombstone; the contents stay in the journal. Name: also every collection whose name starts with it
	OpSetProps          Op = 4  // Principal, Collection, Props (set), Remove; with Name: that object's dead properties
	OpPut               Op = 5  // Principal, Collection, Name, ETag, Meta, Body; Props set on the object (all of them with ReplaceProps)
	OpDelete            Op = 6  // Principal, Collection, Name, ETag (of what was deleted; empty: the tombstone of an object the store did not hold, Change.TombstoneAbsent)
	OpMove              Op = 7  // Principal, Collection, Name → ToCollection, ToName, ETag
	OpEpoch             Op = 8  // Name = new epoch id; starts a history line
	OpCheckpoint        Op = 9  // Body = free text (why); no state change
	OpDeletePrincipal   Op = 10 // Principal: a tombstone for the account and all its collections
	OpPrincipalState    Op = 11 // Principal, Props (set), Remove: recovery state and devices (recovery.go)
	opMax                  = OpPrincipalState
	recordFormatVersion    = 1
)

var opNames = map[Op]string{
	OpPutPrincipal: "put-principal", OpCreateCollection: "create-collection",
	OpDeleteCollection: "delete-collection", OpSetProps: "set-props", OpPut: "put",
	OpDelete: "delete", OpMove: "move", OpEpoch: "epoch", OpCheckpoint: "checkpoint",
	OpDeletePrincipal: "delete-principal", OpPrincipalState: "principal-state",
}

func (o Op) String() string {
	if s, ok := opNames[o]; ok {
		return s
	}
	return fmt.Sprintf("op(%d)", uint8(o))
}

// Span is the time an object occupies, in Unix seconds, half-open [Start, End).
// Unbounded recurrences use End = math.MaxInt64.
type Span struct {
	Start, End int64
}

// ObjectMeta is the caller-supplied metadata stored beside an object's body.
type ObjectMeta struct {
	UID       string
	Component string // VCARD, VEVENT, VTODO, …
	Span      *Span  // nil: the object is not in the time index
}

// Record is one journal entry. It carries everything needed to replay it.
type Record struct {
	Seq          uint64
	Time         int64    // Unix nanoseconds
	Prev         [32]byte // chain hash of the previous record
	Op           Op
	Principal    string
	Collection   string
	Name         string
	ETag         string
	ToCollection string
	ToName       string
	Kind         string
	Meta         ObjectMeta
	Props        map[string][]byte
	Remove       []string
	Body         []byte
	ReplaceProps bool // OpPut: the object's dead properties become exactly Props (flag bit 0)
}

// Record flags: a uvarint after the body, written only when not zero, so
// records without flags keep the format they always had.
const (
	flagReplaceProps uint64 = 1 << 0
	knownFlags              = flagReplaceProps
)

const (
	frameHeaderLen = 8        // u32 length + u32 crc32c
	maxRecordLen   = 80 << 20 // larger length fields are damage, not data
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// encodePayload serialises a record deterministically.
func encodePayload(r *Record) []byte {
	n := 64 + len(r.Principal) + len(r.Collection) + len(r.Name) + len(r.ETag) +
		len(r.ToCollection) + len(r.ToName) + len(r.Kind) + len(r.Meta.UID) +
		len(r.Meta.Component) + len(r.Body) + 32
	for k, v := range r.Props {
		n += len(k) + len(v) + 10
	}
	b := make([]byte, 0, n)
	b = append(b, recordFormatVersion, byte(r.Op))
	b = binary.AppendUvarint(b, r.Seq)
	b = binary.AppendVarint(b, r.Time)
	b = append(b, r.Prev[:]...)
	for _, s := range []string{r.Principal, r.Collection, r.Name, r.ETag, r.ToCollection, r.ToName, r.Kind, r.Meta.UID, r.Meta.Component} {
		b = appendBytes(b, []byte(s))
	}
	if r.Meta.Span != nil {
		b = append(b, 1)
		b = binary.AppendVarint(b, r.Meta.Span.Start)
		b = binary.AppendVarint(b, r.Meta.Span.End)
	} else {
		b = append(b, 0)
	}
	keys := make([]string, 0, len(r.Props))
	for k := range r.Props {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	b = binary.AppendUvarint(b, uint64(len(keys)))
	for _, k := range keys {
		b = appendBytes(b, []byte(k))
		b = appendBytes(b, r.Props[k])
	}
	b = binary.AppendUvarint(b, uint64(len(r.Remove)))
	for _, k := range r.Remove {
		b = appendBytes(b, []byte(k))
	}
	b = appendBytes(b, r.Body)
	if r.ReplaceProps {
		b = binary.AppendUvarint(b, flagReplaceProps)
	}
	return b
}

func appendBytes(b, s []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// encodeFrame returns the framed record and its chain hash.
func encodeFrame(r *Record) (frame []byte, hash [32]byte) {
	p := encodePayload(r)
	frame = make([]byte, frameHeaderLen, frameHeaderLen+len(p))
	binary.LittleEndian.PutUint32(frame[0:4], uint32(len(p)))
	binary.LittleEndian.PutUint32(frame[4:8], crc32.Checksum(p, castagnoli))
	frame = append(frame, p...)
	return frame, sha256.Sum256(p)
}

// Frame decoding outcomes other than success.
var (
	errShortFrame = errors.New("frame shorter than its header or length")
	errBadCRC     = errors.New("frame checksum mismatch")
	errBadLength  = errors.New("frame length out of range")
	errBadPayload = errors.New("record payload malformed")
	errEndMarker  = errors.New("zero length frame")
)

// decodeFrame decodes one frame at the start of b. It returns the record, the
// number of bytes the frame occupies and the record's chain hash.
func decodeFrame(b []byte) (*Record, int, [32]byte, error) {
	var zero [32]byte
	if len(b) < frameHeaderLen {
		return nil, 0, zero, errShortFrame
	}
	n := binary.LittleEndian.Uint32(b[0:4])
	sum := binary.LittleEndian.Uint32(b[4:8])
	if n == 0 && sum == 0 {
		return nil, 0, zero, errEndMarker
	}
	if n == 0 || n > maxRecordLen {
		return nil, 0, zero, errBadLength
	}
	if uint64(len(b)-frameHeaderLen) < uint64(n) {
		return nil, 0, zero, errShortFrame
	}
	p := b[frameHeaderLen : frameHeaderLen+int(n)]
	if crc32.Checksum(p, castagnoli) != sum {
		return nil, 0, zero, errBadCRC
	}
	r, err := decodePayload(p)
	if err != nil {
		return nil, 0, zero, err
	}
	return r, frameHeaderLen + int(n), sha256.Sum256(p), nil
}

type payloadReader struct {
	b   []byte
	err error
}

func (d *payloadReader) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 || (n > 1 && d.b[n-1] == 0) { // overflow, or padded: encodePayload writes the shortest form
		d.err = errBadPayload
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *payloadReader) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 || (n > 1 && d.b[n-1] == 0) {
		d.err = errBadPayload
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *payloadReader) bytes() []byte {
	n := d.uvarint()
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.b)) {
		d.err = errBadPayload
		return nil
	}
	v := d.b[:n:n]
	d.b = d.b[n:]
	return v
}

func (d *payloadReader) byte1() byte {
	if d.err != nil {
		return 0
	}
	if len(d.b) == 0 {
		d.err = errBadPayload
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}

func decodePayload(p []byte) (*Record, error) {
	d := &payloadReader{b: p}
	// The checksum held, so a format, operation or flag this build does not
	// know was written by a newer version: not damage, and never repaired.
	switch v := d.byte1(); {
	case d.err != nil || v == 0:
		return nil, fmt.Errorf("%w: format version 0", errBadPayload)
	case v > recordFormatVersion:
		return nil, &newerRecordError{fmt.Sprintf("journal record format %d; this pimvault reads format %d", v, recordFormatVersion)}
	}
	r := &Record{Op: Op(d.byte1())}
	switch {
	case d.err != nil || r.Op == 0:
		return nil, fmt.Errorf("%w: operation 0", errBadPayload)
	case r.Op > opMax:
		return nil, &newerRecordError{fmt.Sprintf("journal record operation %d; this pimvault knows operations up to %d (%v)", r.Op, opMax, opMax)}
	}
	r.Seq = d.uvarint()
	r.Time = d.varint()
	if len(d.b) < 32 {
		return nil, errBadPayload
	}
	copy(r.Prev[:], d.b[:32])
	d.b = d.b[32:]
	strs := []*string{&r.Principal, &r.Collection, &r.Name, &r.ETag, &r.ToCollection, &r.ToName, &r.Kind, &r.Meta.UID, &r.Meta.Component}
	for _, s := range strs {
		*s = string(d.bytes())
	}
	switch d.byte1() {
	case 0:
	case 1:
		r.Meta.Span = &Span{Start: d.varint(), End: d.varint()}
	default:
		d.err = errBadPayload
	}
	np := d.uvarint()
	if np > uint64(len(d.b)) {
		return nil, errBadPayload
	}
	if np > 0 {
		r.Props = make(map[string][]byte, np)
		prev := ""
		for i := uint64(0); i < np && d.err == nil; i++ {
			k := string(d.bytes())
			if i > 0 && k <= prev { // encodePayload writes names sorted and once
				d.err = fmt.Errorf("%w: property %q out of order or repeated", errBadPayload, k)
			}
			prev = k
			r.Props[k] = d.bytes()
		}
	}
	nr := d.uvarint()
	if nr > uint64(len(d.b)) {
		return nil, errBadPayload
	}
	for i := uint64(0); i < nr && d.err == nil; i++ {
		r.Remove = append(r.Remove, string(d.bytes()))
	}
	r.Body = d.bytes()
	if d.err == nil && len(d.b) > 0 {
		switch f := d.uvarint(); {
		case d.err != nil:
		case f == 0: // never written
			d.err = fmt.Errorf("%w: flags %#x", errBadPayload, f)
		case f&^knownFlags != 0:
			d.err = &newerRecordError{fmt.Sprintf("journal record flags %#x; this pimvault knows %#x", f, knownFlags)}
		default:
			r.ReplaceProps = f&flagReplaceProps != 0
		}
	}
	if d.err != nil {
		return nil, d.err
	}
	if len(d.b) != 0 {
		return nil, fmt.Errorf("%w: %d trailing bytes", errBadPayload, len(d.b))
	}
	return r, nil
}
