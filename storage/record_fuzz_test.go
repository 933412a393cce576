package storage

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math"
	"reflect"
	"testing"
)

// roundTripSamples returns records of every Op with the fields each one uses,
// plus edge values (empty and binary bodies, extreme sequences, times and
// spans, many properties).
func roundTripSamples() []struct {
	name string
	r    Record
} {
	prev := sha256.Sum256([]byte("previous record"))
	card := []byte("BEGIN:VCARD\r\nVERSION:4.0\r\nUID:urn:uuid:4fbe8971-0bc3-424c-9c26-36c3e1eff6b1\r\nFN:Zoë Ångström\r\nEND:VCARD\r\n")
	event := []byte("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:ev-1\r\nDTSTART:20240101T090000Z\r\nRRULE:FREQ=WEEKLY\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n")
	binary := make([]byte, 300)
	for i := range binary {
		binary[i] = byte(i * 7)
	}
	many := map[string][]byte{}
	for i := 0; i < 40; i++ {
		many[fmt.Sprintf("urn:x-test:prop-%02d", i)] = bytes.Repeat([]byte{byte('a' + i%26)}, i)
	}
	return []struct {
		name string
		r    Record
	}{
		{"put-principal", Record{Seq: 2, Time: 1_700_000_000_000_000_000, Prev: prev, Op: OpPutPrincipal, Principal: "alice",
			Body: []byte(`{"name":"Alice","password":"$argon2id$v=19$..."}`)}},
		{"create-collection with props", Record{Seq: 3, Time: 1_700_000_000_000_000_001, Prev: prev, Op: OpCreateCollection,
			Principal: "alice", Collection: "contacts", Kind: "addressbook",
			Props: map[string][]byte{"DAV:displayname": []byte("Contacts"), "urn:ietf:params:xml:ns:carddav:addressbook-description": []byte("<x/>")}}},
		{"create-collection with many props", Record{Seq: 4, Prev: prev, Op: OpCreateCollection, Principal: "alice", Collection: "big", Kind: "calendar", Props: many}},
		{"delete-collection", Record{Seq: 5, Time: 42, Prev: prev, Op: OpDeleteCollection, Principal: "alice", Collection: "old"}},
		{"set-props with remove", Record{Seq: 6, Time: 43, Prev: prev, Op: OpSetProps, Principal: "alice", Collection: "contacts",
			Props: map[string][]byte{"DAV:displayname": []byte("Kontakte"), "urn:x:empty": {}}, Remove: []string{"urn:b", "urn:a", "urn:b"}}},
		{"set-props remove only", Record{Seq: 7, Prev: prev, Op: OpSetProps, Principal: "alice", Collection: "contacts", Remove: []string{"DAV:displayname"}}},
		{"put vcard", Record{Seq: 8, Time: 44, Prev: prev, Op: OpPut, Principal: "alice", Collection: "contacts", Name: "zoë.vcf",
			ETag: ETagOf(card), Meta: ObjectMeta{UID: "urn:uuid:4fbe8971-0bc3-424c-9c26-36c3e1eff6b1", Component: "VCARD"}, Body: card}},
		{"put event with span", Record{Seq: 9, Time: 45, Prev: prev, Op: OpPut, Principal: "alice", Collection: "calendar", Name: "ev-1.ics",
			ETag: ETagOf(event), Meta: ObjectMeta{UID: "ev-1", Component: "VEVENT", Span: &Span{Start: 1704099600, End: math.MaxInt64}}, Body: event}},
		{"put negative span", Record{Seq: 10, Time: -1, Prev: prev, Op: OpPut, Principal: "alice", Collection: "calendar", Name: "old.ics",
			Meta: ObjectMeta{UID: "old", Component: "VTODO", Span: &Span{Start: math.MinInt64, End: -5}}, Body: []byte("x")}},
		{"put empty body", Record{Seq: 11, Prev: prev, Op: OpPut, Principal: "alice", Collection: "contacts", Name: "empty.vcf", ETag: ETagOf(nil)}},
		{"put binary body", Record{Seq: 12, Prev: prev, Op: OpPut, Principal: "alice", Collection: "files", Name: "blob", ETag: ETagOf(binary), Body: binary}},
		{"delete", Record{Seq: 13, Time: 46, Prev: prev, Op: OpDelete, Principal: "alice", Collection: "contacts", Name: "zoë.vcf", ETag: ETagOf(card)}},
		{"move", Record{Seq: 14, Time: 47, Prev: prev, Op: OpMove, Principal: "alice", Collection: "contacts", Name: "a.vcf",
			ToCollection: "work", ToName: "b.vcf", ETag: ETagOf(card), Meta: ObjectMeta{UID: "u-a", Component: "VCARD"}, Body: card}},
		{"move with span", Record{Seq: 15, Prev: prev, Op: OpMove, Principal: "alice", Collection: "calendar", Name: "ev-1.ics",
			ToCollection: "calendar", ToName: "ev-2.ics", ETag: ETagOf(event), Meta: ObjectMeta{UID: "ev-1", Component: "VEVENT", Span: &Span{Start: 0, End: 0}}, Body: event}},
		{"epoch first record", Record{Seq: 1, Time: 1, Op: OpEpoch, Name: "0123456789abcdef"}},
		{"checkpoint", Record{Seq: 16, Time: 48, Prev: prev, Op: OpCheckpoint, Body: []byte("snapshot 2024-01-01 by admin")}},
		{"delete-principal", Record{Seq: 17, Time: 49, Prev: prev, Op: OpDeletePrincipal, Principal: "alice"}},
		{"principal-state", Record{Seq: 18, Time: 50, Prev: prev, Op: OpPrincipalState, Principal: "alice",
			Props:  map[string][]byte{"recovery": []byte(`{"recovering":true}`), "device/phone-1": []byte(`{"last_seen":"2026-01-01T00:00:00Z"}`)},
			Remove: []string{"device/old"}}},
		{"huge sequence and time", Record{Seq: math.MaxUint64, Time: math.MaxInt64, Prev: prev, Op: OpCheckpoint}},
		{"min time", Record{Seq: 1 << 40, Time: math.MinInt64, Prev: prev, Op: OpEpoch, Name: "ffffffffffffffff"}},
	}
}

// sameRecordContent compares records, treating a nil and an empty body, property
// value, property map or remove list as equal.
func sameRecordContent(a, b *Record) bool {
	norm := func(r *Record) Record {
		c := *r
		if len(c.Body) == 0 {
			c.Body = nil
		}
		if len(c.Props) == 0 {
			c.Props = nil
		} else {
			p := make(map[string][]byte, len(c.Props))
			for k, v := range c.Props {
				if len(v) == 0 {
					v = nil
				}
				p[k] = v
			}
			c.Props = p
		}
		if len(c.Remove) == 0 {
			c.Remove = nil
		}
		return c
	}
	return reflect.DeepEqual(norm(a), norm(b))
}

func TestRecordRoundTrip(t *testing.T) {
	samples := roundTripSamples()
	covered := map[Op]bool{}
	for _, tc := range samples {
		t.Run(tc.name, func(t *testing.T) {
			covered[tc.r.Op] = true
			frame, hash := encodeFrame(&tc.r)
			if got := binary.LittleEndian.Uint32(frame[0:4]); int(got) != len(frame)-frameHeaderLen {
				t.Fatalf("length field: got %d, want %d", got, len(frame)-frameHeaderLen)
			}
			if got, want := binary.LittleEndian.Uint32(frame[4:8]), crc32.Checksum(frame[frameHeaderLen:], castagnoli); got != want {
				t.Fatalf("crc field: got %08x, want crc32c %08x", got, want)
			}
			if want := sha256.Sum256(frame[frameHeaderLen:]); hash != want {
				t.Fatalf("chain hash: got %x, want sha256 of the payload %x", hash, want)
			}
			// Followed by another frame, as in a segment.
			next, _ := encodeFrame(&Record{Seq: tc.r.Seq + 1, Prev: hash, Op: OpCheckpoint})
			got, n, h, err := decodeFrame(append(append([]byte(nil), frame...), next...))
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if n != len(frame) {
				t.Errorf("decode consumed %d bytes, want %d", n, len(frame))
			}
			if h != hash {
				t.Errorf("decoded chain hash %x, want %x", h, hash)
			}
			if !sameRecordContent(got, &tc.r) {
				t.Errorf("decoded record differs:\n got %+v\nwant %+v", *got, tc.r)
			}
			again, h2 := encodeFrame(got)
			if !bytes.Equal(again, frame) || h2 != hash {
				t.Errorf("re-encoding the decoded record gives different bytes")
			}
			// Every cut of the frame is short, never a different record.
			for cut := 0; cut < len(frame); cut++ {
				if r, _, _, err := decodeFrame(frame[:cut]); !errors.Is(err, errShortFrame) || r != nil {
					t.Fatalf("frame cut to %d of %d bytes: got %v, want errShortFrame", cut, len(frame), err)
				}
			}
			// Every flipped byte is caught.
			for i := 0; i < len(frame); i++ {
				bad := append([]byte(nil), frame...)
				bad[i] ^= 0x5a
				if r, _, _, err := decodeFrame(bad); err == nil {
					t.Fatalf("byte %d flipped: decoded %+v, want an error", i, *r)
				}
			}
		})
	}
	for op := Op(1); op <= opMax; op++ {
		if !covered[op] {
			t.Errorf("no round-trip case for %v", op)
		}
	}
}

// reframePayload wraps payload in a frame header with its true length and CRC, so
// the fuzzer's changes reach the payload decoder instead of the checksum.
func reframePayload(payload []byte) []byte {
	f := make([]byte, frameHeaderLen, frameHeaderLen+len(payload))
	binary.LittleEndian.PutUint32(f[0:4], uint32(len(payload)))
	binary.LittleEndian.PutUint32(f[4:8], crc32.Checksum(payload, castagnoli))
	return append(f, payload...)
}

// checkDecodeRoundTrip is the property FuzzDecodeFrame checks: decodeFrame
// does not panic, and when it accepts a frame, encoding the record it
// returns gives back exactly that frame and its chain hash. A decoder that
// accepted two encodings of one record would let a record change its chain
// hash without changing its meaning.
func checkDecodeRoundTrip(t *testing.T, b []byte) {
	t.Helper()
	r, n, h, err := decodeFrame(b)
	if isNewer(err) {
		// Only a frame written whole (its checksum holds) may be called a
		// newer version's; anything else could be a torn write.
		if len(b) < frameHeaderLen || tornFrame(err) {
			t.Fatalf("newer-version error %v for a frame that is not whole", err)
		}
		ln := binary.LittleEndian.Uint32(b[0:4])
		if crc32.Checksum(b[frameHeaderLen:frameHeaderLen+int(ln)], castagnoli) != binary.LittleEndian.Uint32(b[4:8]) {
			t.Fatalf("newer-version error %v for a frame whose checksum fails", err)
		}
	}
	if err != nil {
		if r != nil || n != 0 {
			t.Fatalf("decodeFrame failed (%v) but returned a record or a length (%d)", err, n)
		}
		return
	}
	if n < frameHeaderLen || n > len(b) {
		t.Fatalf("decodeFrame consumed %d bytes of %d", n, len(b))
	}
	if want := sha256.Sum256(b[frameHeaderLen:n]); h != want {
		t.Fatalf("chain hash %x is not the sha256 of the payload (%x)", h, want)
	}
	frame, h2 := encodeFrame(r)
	if !bytes.Equal(frame, b[:n]) {
		in, out := b[frameHeaderLen:n], frame[frameHeaderLen:]
		at := 0
		for at < len(in) && at < len(out) && in[at] == out[at] {
			at++
		}
		t.Fatalf("re-encoding the decoded %v record (seq %d, %d properties) changes the payload from byte %d on:\n input   %x\n encoded %x", r.Op, r.Seq, len(r.Props), at, b[:n], frame)
	}
	if h2 != h {
		t.Fatalf("re-encoded chain hash %x, decoded %x", h2, h)
	}
}

func FuzzDecodeFrame(f *testing.F) {
	var stream []byte
	for _, tc := range roundTripSamples() {
		frame, _ := encodeFrame(&tc.r)
		f.Add(frame)
		stream = append(stream, frame...)
	}
	f.Add(stream)
	f.Add([]byte{})
	f.Add(make([]byte, frameHeaderLen))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 1, 5})
	// Records of a newer version: operation, format, flags.
	newer, _ := encodeFrame(&Record{Seq: 9, Op: opMax + 1, Principal: "alice"})
	f.Add(newer)
	p := encodePayload(&Record{Seq: 9, Op: OpCheckpoint, Body: []byte("x")})
	f.Add(reframePayload(append([]byte{recordFormatVersion + 1}, p[1:]...)))
	f.Add(reframePayload(binary.AppendUvarint(bytes.Clone(p), 1<<3)))
	f.Fuzz(func(t *testing.T, b []byte) {
		checkDecodeRoundTrip(t, b)
		if len(b) > frameHeaderLen {
			checkDecodeRoundTrip(t, reframePayload(b[frameHeaderLen:]))
		}
	})
}

// nonCanonical builds payloads that spell a valid record in a way
// encodePayload never does.
func nonCanonicalPayloads() []struct {
	name    string
	payload []byte
} {
	base := Record{Seq: 5, Time: 1000, Op: OpSetProps, Principal: "alice", Collection: "contacts",
		Props: map[string][]byte{"a": []byte("1"), "b": []byte("2")}}
	// head writes version, op, seq and time with the given encodings.
	head := func(seq, tm []byte) []byte {
		b := append([]byte{recordFormatVersion, byte(base.Op)}, seq...)
		b = append(b, tm...)
		return append(b, base.Prev[:]...)
	}
	strs := func(lenPrefix func(int) []byte) []byte {
		var b []byte
		for _, s := range []string{base.Principal, base.Collection, "", "", "", "", "", "", ""} {
			b = append(b, lenPrefix(len(s))...)
			b = append(b, s...)
		}
		return b
	}
	minimal := func(n int) []byte { return binary.AppendUvarint(nil, uint64(n)) }
	padded := func(n int) []byte { return []byte{byte(n) | 0x80, 0x00} } // n < 128, two bytes
	props := func(pairs ...string) []byte {
		b := []byte{0} // no span
		b = binary.AppendUvarint(b, uint64(len(pairs)/2))
		for _, s := range pairs {
			b = appendBytes(b, []byte(s))
		}
		b = append(b, 0)    // nothing removed
		return append(b, 0) // empty body
	}
	seq := binary.AppendUvarint(nil, base.Seq)
	tm := binary.AppendVarint(nil, base.Time)
	join := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	return []struct {
		name    string
		payload []byte
	}{
		{"canonical (control)", join(head(seq, tm), strs(minimal), props("a", "1", "b", "2"))},
		{"sequence as a padded uvarint", join(head([]byte{0x85, 0x00}, tm), strs(minimal), props("a", "1", "b", "2"))},
		{"time as a padded varint", join(head(seq, append(append([]byte(nil), tm[:len(tm)-1]...), tm[len(tm)-1]|0x80, 0x00)), strs(minimal), props("a", "1", "b", "2"))},
		{"string length as a padded uvarint", join(head(seq, tm), strs(padded), props("a", "1", "b", "2"))},
		{"properties out of order", join(head(seq, tm), strs(minimal), props("b", "2", "a", "1"))},
		{"property named twice", join(head(seq, tm), strs(minimal), props("a", "0", "a", "1", "b", "2"))},
	}
}

// TestDecodeFrameIsCanonical applies FuzzDecodeFrame's property to frames
// that spell a valid record in a non-canonical way: decodeFrame must reject
// each, or decode it to a record that encodes to the same bytes.
func TestDecodeFrameIsCanonical(t *testing.T) {
	for _, tc := range nonCanonicalPayloads() {
		t.Run(tc.name, func(t *testing.T) {
			frame := reframePayload(tc.payload)
			if tc.name == "canonical (control)" {
				if _, _, _, err := decodeFrame(frame); err != nil {
					t.Fatalf("the control payload does not decode: %v", err)
				}
			}
			checkDecodeRoundTrip(t, frame)
		})
	}
}

// FuzzSegmentHeader: reading a segment header never panics, a newer
// version is reported only for a "PVJRNL" magic with a higher two-digit
// version, and such a header is never also called damaged.
func FuzzSegmentHeader(f *testing.F) {
	var id [16]byte
	h := encodeSegHeader(id, 1)
	f.Add(h)
	h2 := bytes.Clone(h)
	copy(h2, "PVJRNL02")
	f.Add(h2)
	f.Add([]byte("PVJRNL9"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		err := newerSegment(b, "seg")
		v := segmentVersion(b)
		if (err != nil) != (v > SegmentFormat) {
			t.Fatalf("header %q: version %d, newer error %v", b, v, err)
		}
		if err != nil && !isNewer(err) {
			t.Fatalf("newerSegment returned %v, not a newer-version error", err)
		}
		if v == SegmentFormat && len(b) >= segHeaderLen && checkSegHeader(b, id, 1) == "" && string(b[:8]) != segMagic {
			t.Fatalf("header %q accepted without the magic", b)
		}
	})
}
