package storage

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzDecodeOutboxEntry: any stored value decodes to an entry that encodes
// back to a value that decodes the same, is refused as newer (format byte
// above OutboxFormat), or is refused as damage; it never panics and never
// yields an entry under another id.
func FuzzDecodeOutboxEntry(f *testing.F) {
	good, _ := outboxEntry("m1").Encode()
	f.Add("m1", good)
	f.Add("m1", []byte("\x02{}"))
	f.Add("m1", []byte("\x01{\"id\":\"m2\"}"))
	f.Add("m1", []byte("\x01not json"))
	f.Add("m1", []byte{})
	f.Add("m1", []byte("\x00{\"id\":\"m1\"}"))
	f.Fuzz(func(t *testing.T, id string, v []byte) {
		e, err := DecodeOutboxEntry("alice", id, v)
		if err != nil {
			if len(v) > 0 && v[0] > OutboxFormat && !errors.Is(err, ErrNewer) {
				t.Fatalf("format %d not refused as newer: %v", v[0], err)
			}
			if !errors.Is(err, ErrNewer) && !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error neither newer nor damage: %v", err)
			}
			return
		}
		if e.ID != id || e.Principal != "alice" {
			t.Fatalf("decoded id %q principal %q from key %q", e.ID, e.Principal, id)
		}
		again, err := e.Encode()
		if err != nil {
			if errors.Is(err, ErrTooLarge) {
				return
			}
			t.Fatal(err)
		}
		e2, err := DecodeOutboxEntry("alice", id, again)
		if err != nil {
			t.Fatalf("re-encoded entry does not decode: %v", err)
		}
		b1, _ := e2.Encode()
		if !bytes.Equal(again, b1) {
			t.Fatalf("encoding not stable:\n%s\n%s", again, b1)
		}
	})
}
