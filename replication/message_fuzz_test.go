package replication

import (
	"bytes"
	"testing"

	"github.com/nats-io/nats.go"

	"github.com/pimvault/pimvault/storage"
)

// FuzzParseMessage: any bytes and headers either parse into records that
// chain and match the headers, or are refused; never a panic.
func FuzzParseMessage(f *testing.F) {
	dir := f.TempDir()
	s, err := storage.Open(dir, storage.Options{})
	if err != nil {
		f.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		s.Commit(f.Context(), storage.Change{Op: storage.OpPutPrincipal, Principal: "alice", Body: []byte(`{}`)})
	}
	var frames []storage.FrameInfo
	s.ReadFrames(1, s.Head(), func(fi storage.FrameInfo) error {
		fi.Frame = bytes.Clone(fi.Frame)
		frames = append(frames, fi)
		return nil
	})
	id := s.Identity().StoreID
	s.Close()
	m := newMessage(id, frames, 7)
	f.Add(m.Data, m.Header.Get(hdrFirst), m.Header.Get(hdrLast), m.Header.Get(hdrChain))
	f.Add(m.Data[:len(m.Data)-1], m.Header.Get(hdrFirst), m.Header.Get(hdrLast), m.Header.Get(hdrChain))
	f.Add([]byte{}, "1", "1", "")
	f.Fuzz(func(t *testing.T, data []byte, first, last, chain string) {
		h := nats.Header{}
		h.Set(hdrStore, id)
		h.Set(hdrFirst, first)
		h.Set(hdrLast, last)
		h.Set(hdrChain, chain)
		got, err := parseMessage(id, h, data)
		if err != nil {
			return
		}
		if len(got) == 0 || lastRecordOf(h) != got[len(got)-1].Seq {
			t.Fatalf("parsed %d records, header says last %s", len(got), last)
		}
		for i := 1; i < len(got); i++ {
			if got[i].Seq != got[i-1].Seq+1 || got[i].Prev != got[i-1].Hash {
				t.Fatalf("records %d and %d do not chain", got[i-1].Seq, got[i].Seq)
			}
		}
	})
}
