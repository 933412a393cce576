package storage

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// scanJournalFrom calls fn for the records from..upTo of the journal in dir,
// reading only the segments that hold them. The hash chain is checked from the
// first record read on (its predecessor is taken from the record itself);
// callers that need the chain from sequence 1 use scanJournal.
func scanJournalFrom(dir string, storeID [16]byte, from, upTo uint64, fn scanFunc) error {
	segs, base, err := liveSegments(dir)
	if err != nil {
		return err
	}
	if from <= base.Seq {
		return base.prunedError(fmt.Sprintf("read the journal from sequence %d", from))
	}
	start := -1
	for i, seg := range segs {
		if seg.firstSeq <= from {
			start = i
		}
	}
	if start < 0 {
		return &CorruptionError{Path: dir, Offset: -1, Seq: from, What: fmt.Sprintf("no journal segment holds sequence %d", from), Advice: adviceRestore}
	}
	var prevSeq uint64
	var prevHash [32]byte
	for i := start; i < len(segs); i++ {
		seg := segs[i]
		if seg.firstSeq > upTo {
			break
		}
		b, err := os.ReadFile(seg.path)
		if err != nil {
			return err
		}
		if i == start {
			if len(b) <= segHeaderLen {
				return &CorruptionError{Path: seg.path, Offset: segHeaderLen, Seq: seg.firstSeq, What: "segment holds no record", Advice: adviceRestore}
			}
			r, _, _, err := decodeFrame(b[segHeaderLen:])
			if nerr := asNewer(err, seg.path, segHeaderLen); nerr != nil {
				return nerr
			}
			if err != nil {
				return &CorruptionError{Path: seg.path, Offset: segHeaderLen, Seq: seg.firstSeq, What: "damaged first record: " + err.Error(), Advice: adviceRestore}
			}
			prevSeq, prevHash = seg.firstSeq-1, r.Prev
		}
		seq, hash, badAt, badErr, err := scanSegment(b, seg, storeID, prevSeq, prevHash, upTo, func(r *Record, h [32]byte) error {
			if r.Seq >= from {
				return fn(r, h)
			}
			return nil
		})
		if err == errStopScan {
			return nil
		}
		if err != nil {
			return err
		}
		if badAt >= 0 && seq < upTo {
			return &CorruptionError{Path: seg.path, Offset: badAt, Seq: seq + 1, What: "damaged record (" + badErr.Error() + ")", Advice: adviceRestore}
		}
		prevSeq, prevHash = seq, hash
	}
	if upTo != ^uint64(0) && prevSeq < upTo {
		return &CorruptionError{Path: dir, Offset: -1, Seq: prevSeq + 1,
			What: fmt.Sprintf("journal ends at sequence %d, expected at least %d", prevSeq, upTo), Advice: adviceRestore}
	}
	return nil
}

// lastRecord returns the sequence and time of the last complete record of
// the journal in dir. A partial frame at the end (a write in progress, or a
// torn tail) is not an error here: the restore stops before it.
func lastRecord(dir string, storeID [16]byte) (uint64, int64, error) {
	segs, _, err := liveSegments(dir)
	if err != nil {
		return 0, 0, err
	}
	for i := len(segs) - 1; i >= 0; i-- {
		b, err := os.ReadFile(segs[i].path)
		if err != nil {
			return 0, 0, err
		}
		if len(b) <= segHeaderLen {
			continue
		}
		first, _, _, err := decodeFrame(b[segHeaderLen:])
		if nerr := asNewer(err, segs[i].path, segHeaderLen); nerr != nil {
			return 0, 0, nerr
		}
		if err != nil {
			return 0, 0, &CorruptionError{Path: segs[i].path, Offset: segHeaderLen, What: "damaged first record: " + err.Error(), Advice: adviceRestore}
		}
		var when int64
		seq, _, _, _, err := scanSegment(b, segs[i], storeID, segs[i].firstSeq-1, first.Prev, ^uint64(0), func(r *Record, _ [32]byte) error {
			when = r.Time
			return nil
		})
		if err != nil {
			return 0, 0, err
		}
		return seq, when, nil
	}
	return 0, 0, fmt.Errorf("the journal in %s holds no record", dir)
}

// copyJournalPrefix copies the records 1..upTo of the journal in src into the
// empty directory dst, byte for byte: sealed segments whole, and the segment
// holding upTo up to the end of that record. The copy is checked when the
// restored store opens (every segment, every frame, the whole hash chain).
// It is safe while a store appends to src: only bytes of acknowledged
// records at or before upTo are read.
func copyJournalPrefix(src, dst string, upTo uint64) error {
	if err := os.MkdirAll(dst, 0o700); err != nil {
		return err
	}
	if upTo == 0 {
		return nil
	}
	segs, base, err := liveSegments(src)
	if err != nil {
		return err
	}
	if upTo < base.Seq {
		return base.prunedError(fmt.Sprintf("copy the journal up to sequence %d", upTo))
	}
	if base.Seq > 0 {
		if err := writeBase(dst, base); err != nil {
			return err
		}
	}
	if upTo == base.Seq {
		return syncDir(dst)
	}
	if len(segs) == 0 || segs[0].firstSeq != base.Seq+1 {
		return &CorruptionError{Path: src, Offset: -1, Seq: base.Seq + 1, What: fmt.Sprintf("the journal does not start at sequence %d", base.Seq+1), Advice: adviceRestore}
	}
	for i, seg := range segs {
		if seg.firstSeq > upTo {
			break
		}
		out := filepath.Join(dst, filepath.Base(seg.path))
		if i+1 < len(segs) && segs[i+1].firstSeq <= upTo+1 {
			if err := copyFileSync(seg.path, out, -1); err != nil {
				return err
			}
			continue
		}
		end, err := recordEnd(seg, upTo)
		if err != nil {
			return err
		}
		if err := copyFileSync(seg.path, out, end); err != nil {
			return err
		}
	}
	return syncDir(dst)
}

// recordEnd returns the byte offset just after record seq in seg.
func recordEnd(seg segment, seq uint64) (int64, error) {
	b, err := os.ReadFile(seg.path)
	if err != nil {
		return 0, err
	}
	off := int64(segHeaderLen)
	for off < int64(len(b)) {
		r, n, _, err := decodeFrame(b[off:])
		if nerr := asNewer(err, seg.path, off); nerr != nil {
			return 0, nerr
		}
		if err != nil {
			return 0, &CorruptionError{Path: seg.path, Offset: off, Seq: seq, What: "damaged record before the restore target: " + err.Error(), Advice: adviceRestore}
		}
		off += int64(n)
		if r.Seq == seq {
			return off, nil
		}
	}
	return 0, &CorruptionError{Path: seg.path, Offset: off, Seq: seq, What: fmt.Sprintf("record %d is not in its segment", seq), Advice: adviceRestore}
}

const copyChunk = 32 << 20

// copyFileSync copies n bytes (all when n < 0) of src to a new file dst and
// fsyncs it.
func copyFileSync(src, dst string, n int64) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if n < 0 {
		st, err := in.Stat()
		if err != nil {
			out.Close()
			return err
		}
		n = st.Size()
	}
	// In chunks, each flushed to disk: a drill copies gigabytes while the
	// server runs, and a kernel full of dirty pages would make the live
	// journal's fdatasync wait behind them.
	var copied int64
	for copied < n && err == nil {
		var k int64
		k, err = io.CopyN(out, in, min(copyChunk, n-copied))
		copied += k
		if err == nil {
			err = fdatasync(out)
		}
	}
	if err == nil && copied != n {
		err = errors.New("short copy of " + src)
	}
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return err
}
