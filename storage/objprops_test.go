package storage

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"maps"
	"testing"
)

func wantObjProps(t *testing.T, s *Store, coll, name string, want map[string]string) {
	t.Helper()
	got, err := s.ObjectProps("alice", coll, name)
	if err != nil {
		t.Fatalf("ObjectProps %s/%s: %v", coll, name, err)
	}
	gs := map[string]string{}
	for k, v := range got {
		gs[k] = string(v)
	}
	if !maps.Equal(gs, want) {
		t.Fatalf("props of %s/%s = %v, want %v", coll, name, gs, want)
	}
}

// TestObjectProps: dead properties of objects are set by put and set-props,
// kept by a plain re-put, replaced by a put with ReplaceProps, carried by a
// move, dropped by a delete, and survive a replay (the store verifies).
func TestObjectProps(t *testing.T) {
	s, dir := openTestStore(t, Options{})
	seedCollection(t, s, "alice", "a")
	mustCommit(t, s, Change{Op: OpCreateCollection, Principal: "alice", Collection: "b", Kind: "files"})
	put := func(name, body string, props map[string][]byte, replace bool) Result {
		return mustCommit(t, s, Change{Op: OpPut, Principal: "alice", Collection: "a", Name: name, Body: []byte(body), Props: props, ReplaceProps: replace})
	}
	put("x", "one", map[string][]byte{"{DAV:}getcontenttype": []byte("text/plain")}, false)
	wantObjProps(t, s, "a", "x", map[string]string{"{DAV:}getcontenttype": "text/plain"})

	before, _ := s.Get("alice", "a", "x")
	mustCommit(t, s, Change{Op: OpSetProps, Principal: "alice", Collection: "a", Name: "x",
		Props: map[string][]byte{"{urn:x}p": []byte("<q xmlns=\"urn:y\">1</q>"), "{urn:x}r": []byte("2")}})
	mustCommit(t, s, Change{Op: OpSetProps, Principal: "alice", Collection: "a", Name: "x", Remove: []string{"{urn:x}r", "{urn:x}absent"}})
	want := map[string]string{"{DAV:}getcontenttype": "text/plain", "{urn:x}p": "<q xmlns=\"urn:y\">1</q>"}
	wantObjProps(t, s, "a", "x", want)
	after, _ := s.Get("alice", "a", "x")
	if after.ETag != before.ETag || after.Seq <= before.Seq {
		t.Fatalf("set-props on an object: etag %s→%s (want same), seq %d→%d (want later)", before.ETag, after.ETag, before.Seq, after.Seq)
	}
	changes, _, err := s.Changes("alice", "a", before.Seq)
	if err != nil || len(changes) != 1 || changes[0].Name != "x" || changes[0].Deleted {
		t.Fatalf("changes after set-props: %+v %v, want x changed", changes, err)
	}

	put("x", "two", nil, false) // PUT keeps dead properties (RFC 4918 §9.7.1)
	wantObjProps(t, s, "a", "x", want)

	mustCommit(t, s, Change{Op: OpMove, Principal: "alice", Collection: "a", Name: "x", ToCollection: "b", ToName: "y"})
	wantObjProps(t, s, "b", "y", want)
	if _, err := s.ObjectProps("alice", "a", "x"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("props of the moved-away object: %v, want ErrNotFound", err)
	}

	put("z", "three", map[string][]byte{"{urn:x}old": []byte("o")}, false)
	put("z", "three", map[string][]byte{"{urn:x}new": []byte("n")}, true) // COPY onto z
	wantObjProps(t, s, "a", "z", map[string]string{"{urn:x}new": "n"})
	put("z", "three", nil, true)
	wantObjProps(t, s, "a", "z", map[string]string{})

	put("w", "four", map[string][]byte{"{urn:x}w": []byte("1")}, false)
	mustCommit(t, s, Change{Op: OpDelete, Principal: "alice", Collection: "a", Name: "w"})
	put("w", "four", nil, false)
	wantObjProps(t, s, "a", "w", map[string]string{}) // a new resource starts bare

	_, err = s.Commit(context.Background(), Change{Op: OpSetProps, Principal: "alice", Collection: "a", Name: "nope", Props: map[string][]byte{"{u}p": nil}})
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("set-props on a missing object: %v, want ErrNotFound", err)
	}

	// The properties are rebuilt from the journal alone.
	s.Close()
	if _, err := RebuildDir(dir, Options{}); err != nil {
		t.Fatalf("rebuild: %v", err)
	}
	s2, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	s = s2
	wantObjProps(t, s, "b", "y", want)
	checkIntegrity(t, s2)
}

// TestIfNoneMatchETagList: If-None-Match with ETags refuses a put onto an
// object that has one of them, inside the write.
func TestIfNoneMatchETagList(t *testing.T) {
	s, _ := openTestStore(t, Options{})
	seedCollection(t, s, "alice", "a")
	res := mustCommit(t, s, putChange("alice", "a", "x.vcf", "u1", vcard("u1", 1)))
	c := putChange("alice", "a", "x.vcf", "u1", vcard("u1", 2))
	c.IfNoneMatchETags = []string{"other", res.ETag}
	if _, err := s.Commit(context.Background(), c); !errors.Is(err, ErrPreconditionFailed) {
		t.Fatalf("put with its current etag in If-None-Match: %v, want ErrPreconditionFailed", err)
	}
	c.IfNoneMatchETags = []string{"other", "another"}
	mustCommit(t, s, c)
	c = putChange("alice", "a", "new.vcf", "u2", vcard("u2", 1))
	c.IfNoneMatchETags = []string{res.ETag}
	mustCommit(t, s, c) // a missing object matches no ETag
}

// TestRecordReplacePropsFlag: the flag round-trips, records without it keep
// their old bytes, a zero flags value is damage and unknown flag bits (under
// a checksum that holds) are a newer version's, refused as such.
func TestRecordReplacePropsFlag(t *testing.T) {
	r := Record{Seq: 3, Op: OpPut, Principal: "alice", Collection: "files:", Name: "x", Body: []byte("b"),
		Props: map[string][]byte{"{u}p": []byte("v")}}
	plain := encodePayload(&r)
	r.ReplaceProps = true
	flagged := encodePayload(&r)
	if !bytes.Equal(flagged[:len(plain)], plain) || len(flagged) != len(plain)+1 {
		t.Fatalf("flagged payload is not the old payload plus one flags byte:\n%x\n%x", plain, flagged)
	}
	got, err := decodePayload(flagged)
	if err != nil || !got.ReplaceProps {
		t.Fatalf("decode flagged: %+v %v", got, err)
	}
	if got, err := decodePayload(plain); err != nil || got.ReplaceProps {
		t.Fatalf("decode plain: %+v %v", got, err)
	}
	if _, err := decodePayload(binary.AppendUvarint(bytes.Clone(plain), 0)); !errors.Is(err, errBadPayload) {
		t.Errorf("flags 0: %v, want errBadPayload", err)
	}
	for _, flags := range []uint64{2, 1 << 40} {
		b := binary.AppendUvarint(bytes.Clone(plain), flags)
		if _, err := decodePayload(b); !errors.Is(err, ErrNewer) || errors.Is(err, errBadPayload) {
			t.Errorf("flags %#x: %v, want ErrNewer", flags, err)
		}
	}
	frame, _ := encodeFrame(&r)
	checkDecodeRoundTrip(t, frame)
}
