package storage

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
)

// recordingReplicator keeps what it is given and answers with readyErr and
// replErr.
type recordingReplicator struct {
	mu       sync.Mutex
	frames   []FrameInfo
	readyErr error
	replErr  error
	next     uint64
	gaps     int
}

func (r *recordingReplicator) Ready() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.readyErr
}

func (r *recordingReplicator) Replicate(first uint64, frames [][]byte) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.next != 0 && first != r.next {
		r.gaps++
	}
	r.next = first + uint64(len(frames))
	for _, f := range frames {
		fi, err := ParseFrames(f)
		if err != nil || len(fi) != 1 {
			return fmt.Errorf("bad frame: %v", err)
		}
		r.frames = append(r.frames, fi[0])
	}
	return r.replErr
}

func putContact(i int) Change {
	return Change{Op: OpPut, Principal: "alice", Collection: "contacts", Name: fmt.Sprintf("c%d.vcf", i),
		Body: []byte(fmt.Sprintf("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:u%d\r\nFN:P %d\r\nEND:VCARD\r\n", i, i)), Meta: ObjectMeta{UID: fmt.Sprintf("u%d", i), Component: "VCARD"}}
}

// TestReplicatorSeesEveryFrameAndStandbyConverges: the frames handed to a
// Replicator under concurrent writers, appended to a standby, give the
// primary's state hash; ReadFrames returns the same bytes from the journal.
func TestReplicatorSeesEveryFrameAndStandbyConverges(t *testing.T) {
	s, _ := openTestStore(t, Options{SegmentSize: 8 << 10})
	rr := &recordingReplicator{}
	s.SetReplicator(rr)
	seedCollection(t, s, "alice", "contacts")
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 40; i++ {
				mustCommit(t, s, putContact(w*1000+i))
			}
		}()
	}
	wg.Wait()
	if rr.gaps != 0 {
		t.Fatalf("Replicate saw %d gaps in the sequence", rr.gaps)
	}
	// Records written before the Replicator was installed (the first epoch)
	// come from the journal.
	var all []FrameInfo
	if err := s.ReadFrames(1, s.Head(), func(f FrameInfo) error {
		all = append(all, FrameInfo{Seq: f.Seq, Frame: append([]byte(nil), f.Frame...)})
		return nil
	}); err != nil {
		t.Fatalf("ReadFrames: %v", err)
	}
	if uint64(len(all)) != s.Head() {
		t.Fatalf("ReadFrames gave %d frames, head is %d", len(all), s.Head())
	}
	off := len(all) - len(rr.frames)
	for i, f := range rr.frames {
		if string(all[off+i].Frame) != string(f.Frame) {
			t.Fatalf("frame %d from Replicate differs from the journal's", f.Seq)
		}
	}
	sdir := filepath.Join(t.TempDir(), "standby")
	if err := PrepareStandbyDir(sdir, s.Identity().StoreID); err != nil {
		t.Fatal(err)
	}
	sb, err := Open(sdir, Options{Standby: true})
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close()
	if sb.Head() != 0 {
		t.Fatalf("a new standby starts empty, head %d", sb.Head())
	}
	// A frame that does not follow is refused, nothing written.
	if _, err := sb.AppendFrames(context.Background(), all[1:2]); !errors.Is(err, ErrCorrupt) || sb.Head() != 0 {
		t.Fatalf("out-of-order frame: want ErrCorrupt and head 0, got %v, head %d", err, sb.Head())
	}
	for i := 0; i < len(all); i += 37 {
		batch := all[i:min(i+37, len(all))]
		fis := make([]FrameInfo, len(batch))
		for k, b := range batch {
			p, err := ParseFrames(b.Frame)
			if err != nil {
				t.Fatal(err)
			}
			fis[k] = p[0]
		}
		if _, err := sb.AppendFrames(context.Background(), fis); err != nil {
			t.Fatalf("append frames at %d: %v", batch[0].Seq, err)
		}
	}
	h1, seq1, _ := s.StateHash()
	h2, seq2, _ := sb.StateHash()
	if h1 != h2 || seq1 != seq2 {
		t.Fatalf("standby %s at %d, primary %s at %d", h2, seq2, h1, seq1)
	}
	checkIntegrity(t, sb)
	if err := PrepareStandbyDir(sdir, "00112233445566778899aabbccddeeff"); err == nil {
		t.Fatal("PrepareStandbyDir accepted a directory of another store")
	}
}

// TestReplicatorRefusals: Ready's error refuses a batch with nothing
// written; Replicate's error reaches the waiter and the record stays.
func TestReplicatorRefusals(t *testing.T) {
	s, _ := openTestStore(t, Options{})
	seedCollection(t, s, "alice", "contacts")
	down := &UnavailableError{Why: "stream unreachable"}
	rr := &recordingReplicator{readyErr: down}
	s.SetReplicator(rr)
	head := s.Head()
	if _, err := s.Commit(context.Background(), putContact(1)); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Ready error: want ErrUnavailable, got %v", err)
	}
	if s.Head() != head {
		t.Fatalf("a refused batch wrote records: head %d → %d", head, s.Head())
	}
	rr.readyErr, rr.replErr = nil, down
	if _, err := s.Commit(context.Background(), putContact(2)); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Replicate error: want ErrUnavailable, got %v", err)
	}
	if s.Head() != head+1 {
		t.Fatalf("the record whose replication failed should stay in the journal: head %d", s.Head())
	}
	// Changes that wrote no record are answered as they were.
	rr.replErr = nil
	if _, err := s.Commit(context.Background(), Change{Op: OpDelete, Principal: "alice", Collection: "contacts", Name: "nope.vcf"}); !errors.Is(err, ErrNotFound) {
		t.Fatalf("delete of a missing object: want ErrNotFound, got %v", err)
	}
}
