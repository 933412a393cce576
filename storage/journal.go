package storage

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Segment files are named by the sequence number of their first record and
// start with a fixed header:
//
//	magic "PVJRNL01" (8) | store id (16) | first seq u64 LE (8) | crc32c of the previous 32 bytes (4)
const (
	segMagic     = "PVJRNL01"
	segHeaderLen = 36
	segExt       = ".pvj"
	// DefaultSegmentSize is the size after which a segment is sealed.
	DefaultSegmentSize = 64 << 20
)

type segment struct {
	path     string
	firstSeq uint64
	prevHash [32]byte // chain hash before its first record (known after a scan)
}

// journal is the append-only log. It is used by one goroutine at a time for
// appends (the committer); scans of sealed data may run concurrently.
type journal struct {
	dir      string
	storeID  [16]byte
	segSize  int64
	segs     []segment
	f        *os.File // active segment, open for append
	size     int64    // bytes in the active segment
	lastSeq  uint64
	lastHash [32]byte
}

func segmentName(firstSeq uint64) string { return fmt.Sprintf("%020d%s", firstSeq, segExt) }

// listSegments returns the segment files of dir ordered by first sequence.
func listSegments(dir string) ([]segment, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var segs []segment
	for _, e := range ents {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, segExt) {
			continue
		}
		seq, err := strconv.ParseUint(strings.TrimSuffix(name, segExt), 10, 64)
		if err != nil {
			return nil, &CorruptionError{Path: filepath.Join(dir, name), Offset: -1,
				What: "journal segment with an unexpected name", Advice: "move the stray file out of the journal directory"}
		}
		segs = append(segs, segment{path: filepath.Join(dir, name), firstSeq: seq})
	}
	sort.Slice(segs, func(i, j int) bool { return segs[i].firstSeq < segs[j].firstSeq })
	return segs, nil
}

func encodeSegHeader(storeID [16]byte, firstSeq uint64) []byte {
	h := make([]byte, segHeaderLen)
	copy(h, segMagic)
	copy(h[8:24], storeID[:])
	binary.LittleEndian.PutUint64(h[24:32], firstSeq)
	binary.LittleEndian.PutUint32(h[32:36], crc32.Checksum(h[:32], castagnoli))
	return h
}

func checkSegHeader(h []byte, storeID [16]byte, firstSeq uint64) string {
	switch {
	case len(h) < segHeaderLen:
		return "segment header is truncated"
	case string(h[:8]) != segMagic:
		return "segment header has a bad magic number"
	case crc32.Checksum(h[:32], castagnoli) != binary.LittleEndian.Uint32(h[32:36]):
		return "segment header checksum mismatch"
	case !bytes.Equal(h[8:24], storeID[:]):
		return "segment belongs to another store (store id differs)"
	case binary.LittleEndian.Uint64(h[24:32]) != firstSeq:
		return "segment header sequence does not match its file name"
	}
	return ""
}

// segMagicPrefix is the magic without its two-digit format version.
const segMagicPrefix = "PVJRNL"

// segmentVersion returns the format version in a segment header's magic
// ("PVJRNL" and two decimal digits), or 0 when h does not start with one.
func segmentVersion(h []byte) int {
	if len(h) < 8 || string(h[:6]) != segMagicPrefix || h[6] < '0' || h[6] > '9' || h[7] < '0' || h[7] > '9' {
		return 0
	}
	return int(h[6]-'0')*10 + int(h[7]-'0')
}

// newerSegment returns a *NewerError when the header in h names a segment
// format this build does not read. Its layout after the magic may differ,
// so nothing else of it is checked.
func newerSegment(h []byte, path string) error {
	if v := segmentVersion(h); v > SegmentFormat {
		return &NewerError{Path: path, Offset: 0,
			What: fmt.Sprintf("journal segment format %d; this pimvault reads format %d", v, SegmentFormat)}
	}
	return nil
}

// segmentFormatOf reads the format version of the segment at path (0 when
// its header is unreadable).
func segmentFormatOf(path string) int {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	h := make([]byte, 8)
	if _, err := io.ReadFull(f, h); err != nil {
		return 0
	}
	return segmentVersion(h)
}

// tornFrame reports whether a frame that failed to decode with err could be
// a write that never completed: its bytes run past the end, or its length
// or checksum do not hold. A frame whose checksum holds was written whole,
// so it is never a torn write (it is damage, or from a newer version).
func tornFrame(err error) bool {
	return errors.Is(err, errShortFrame) || errors.Is(err, errBadCRC) || errors.Is(err, errBadLength) || errors.Is(err, errEndMarker)
}

// scanFunc receives each record in order with its chain hash.
type scanFunc func(r *Record, hash [32]byte) error

// errStopScan ends a scan early without error.
var errStopScan = errors.New("stop scan")

// scanSegment decodes and checks one segment whose data is b. It verifies the
// header, the sequence numbers and the hash chain, starting from prevSeq and
// prevHash. It returns the last good sequence and hash and, when a frame is
// bad, the offset of the first bad byte (-1 when the whole segment is good).
func scanSegment(b []byte, seg segment, storeID [16]byte, prevSeq uint64, prevHash [32]byte, upTo uint64, fn scanFunc) (lastSeq uint64, lastHash [32]byte, badAt int64, badErr error, err error) {
	lastSeq, lastHash, badAt = prevSeq, prevHash, -1
	if err := newerSegment(b, seg.path); err != nil {
		return lastSeq, lastHash, -1, nil, err
	}
	if msg := checkSegHeader(b, storeID, seg.firstSeq); msg != "" {
		return lastSeq, lastHash, 0, errors.New(msg), nil
	}
	if seg.firstSeq != prevSeq+1 {
		return lastSeq, lastHash, -1, nil, &CorruptionError{Path: seg.path, Offset: 0, Seq: prevSeq + 1,
			What: fmt.Sprintf("records %d to %d are missing (a segment was removed or renamed)", prevSeq+1, seg.firstSeq-1), Advice: adviceRestore}
	}
	off := int64(segHeaderLen)
	for off < int64(len(b)) {
		if lastSeq >= upTo {
			return lastSeq, lastHash, -1, nil, errStopScan
		}
		r, n, h, derr := decodeFrame(b[off:])
		if nerr := asNewer(derr, seg.path, off); nerr != nil {
			return lastSeq, lastHash, -1, nil, nerr
		}
		if derr != nil {
			return lastSeq, lastHash, off, derr, nil
		}
		if r.Seq != lastSeq+1 {
			return lastSeq, lastHash, -1, nil, &CorruptionError{Path: seg.path, Offset: off, Seq: r.Seq,
				What: fmt.Sprintf("record has sequence %d, expected %d", r.Seq, lastSeq+1), Advice: adviceRestore}
		}
		if r.Prev != lastHash {
			return lastSeq, lastHash, -1, nil, &CorruptionError{Path: seg.path, Offset: off, Seq: r.Seq,
				What: "hash chain broken: record does not follow the previous one", Advice: adviceRestore}
		}
		if fn != nil {
			if err := fn(r, h); err != nil {
				return lastSeq, lastHash, -1, nil, err
			}
		}
		lastSeq, lastHash = r.Seq, h
		off += int64(n)
	}
	return lastSeq, lastHash, -1, nil, nil
}

// validFrameAfter reports whether a checksummed frame starts anywhere in b
// after off: a record of a later sequence than lastSeq, or one of a newer
// format or operation (whose sequence this build cannot read). It tells a
// torn tail (nothing valid follows) from damage in the middle of
// acknowledged data.
func validFrameAfter(b []byte, off int64, lastSeq uint64) (int64, bool) {
	for p := off + 1; p+frameHeaderLen+2 < int64(len(b)); p++ {
		n := binary.LittleEndian.Uint32(b[p : p+4])
		if n < 2 || n > maxRecordLen || int64(n) > int64(len(b))-p-frameHeaderLen {
			continue
		}
		pl := b[p+frameHeaderLen:]
		if pl[0] == 0 || pl[1] == 0 {
			continue
		}
		if pl[0] == recordFormatVersion && Op(pl[1]) <= opMax {
			if n < 36 {
				continue
			}
			if seq, k := binary.Uvarint(pl[2:]); k <= 0 || seq <= lastSeq {
				continue
			}
		}
		_, _, _, err := decodeFrame(b[p:])
		if err == nil || isNewer(err) {
			return p, true
		}
	}
	return 0, false
}

// openJournal opens dir and checks every segment: the header, the sequence
// numbers and the hash chain. Only when the whole journal checks out are the
// records after appliedSeq passed to fn, so the caller can bring its
// projection up to date: a refused open changes nothing. A torn tail (a bad
// record with nothing valid after it, past appliedSeq) is copied to a
// .broken file and truncated; any other damage is a *CorruptionError.
func openJournal(dir string, storeID [16]byte, segSize int64, dbPath string, appliedSeq uint64, appliedHash [32]byte, fn scanFunc) (*journal, error) {
	return openJournalStream(dir, storeID, segSize, dbPath, appliedSeq, appliedHash, false, fn)
}

// openJournalStream is openJournal where, with stream set, fn receives the
// records during the check itself (one pass over the journal instead of
// two). Only for a new projection, which the caller discards when the open
// is refused.
func openJournalStream(dir string, storeID [16]byte, segSize int64, dbPath string, appliedSeq uint64, appliedHash [32]byte, stream bool, fn scanFunc) (*journal, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	segs, base, err := liveSegments(dir)
	if err != nil {
		return nil, err
	}
	j := &journal{dir: dir, storeID: storeID, segSize: segSize, segs: segs, lastSeq: base.Seq, lastHash: base.hash}
	if appliedSeq < base.Seq {
		return nil, &CorruptionError{Path: dbPath, Offset: -1, Seq: appliedSeq + 1,
			What:   fmt.Sprintf("store.db has applied sequence %d but the journal before sequence %d was pruned", appliedSeq, base.Seq+1),
			Advice: fmt.Sprintf("run 'pimvault rebuild --data DIR': it starts from the snapshot %s (sequence %d) that covers the pruned journal", base.Snapshot, base.SnapSeq)}
	}
	if base.Seq > 0 && appliedSeq == base.Seq && appliedHash != base.hash {
		return nil, &CorruptionError{Path: dbPath, Offset: -1, Seq: appliedSeq,
			What: "store.db does not match the journal base at its applied sequence", Advice: adviceRebuild}
	}
	checkApplied := func(r *Record, h [32]byte) error {
		if r.Seq == appliedSeq && h != appliedHash {
			return &CorruptionError{Path: dbPath, Offset: -1, Seq: r.Seq,
				What: "store.db does not match the journal at its applied sequence", Advice: adviceRebuild}
		}
		return nil
	}
	check := checkApplied
	if stream && fn != nil {
		check = func(r *Record, h [32]byte) error {
			if r.Seq > appliedSeq {
				return fn(r, h)
			}
			return checkApplied(r, h)
		}
	}
	for i := range j.segs {
		seg := &j.segs[i]
		seg.prevHash = j.lastHash
		b, err := os.ReadFile(seg.path)
		if err != nil {
			return nil, err
		}
		last := i == len(j.segs)-1
		seq, hash, badAt, badErr, err := scanSegment(b, *seg, storeID, j.lastSeq, j.lastHash, ^uint64(0), check)
		if err != nil {
			return nil, err
		}
		if badAt >= 0 {
			if !last {
				return nil, &CorruptionError{Path: seg.path, Offset: badAt, Seq: seq + 1,
					What: "damaged record in a sealed segment (" + badErr.Error() + ")", Advice: adviceRestore}
			}
			if p, ok := validFrameAfter(b, badAt, seq); ok {
				return nil, &CorruptionError{Path: seg.path, Offset: badAt, Seq: seq + 1,
					What: fmt.Sprintf("damaged record followed by valid records (next valid at offset %d): %v", p, badErr), Advice: adviceRestore}
			}
			if badAt >= segHeaderLen && !tornFrame(badErr) {
				return nil, &CorruptionError{Path: seg.path, Offset: badAt, Seq: seq + 1,
					What: fmt.Sprintf("the last record's checksum holds but it does not decode (%v): it was written whole, so it is not a torn write", badErr), Advice: adviceRestore}
			}
			if appliedSeq > seq {
				return nil, &CorruptionError{Path: seg.path, Offset: badAt, Seq: seq + 1,
					What: fmt.Sprintf("the last records are damaged (%v) but store.db had applied them up to sequence %d", badErr, appliedSeq), Advice: adviceCopyOrRestore}
			}
			if err := j.cutTornTail(*seg, b, badAt); err != nil {
				return nil, err
			}
			if badAt < segHeaderLen {
				j.segs = j.segs[:i]
			}
		}
		j.lastSeq, j.lastHash = seq, hash
	}
	if appliedSeq > j.lastSeq {
		return nil, &CorruptionError{Path: dir, Offset: -1, Seq: j.lastSeq + 1,
			What: fmt.Sprintf("store.db has applied sequence %d but the journal ends at %d: journal records are missing", appliedSeq, j.lastSeq), Advice: adviceCopyOrRestore}
	}
	if fn != nil && !stream && appliedSeq < j.lastSeq {
		if err := j.replay(appliedSeq, fn); err != nil {
			return nil, err
		}
	}
	if n := len(j.segs); n > 0 {
		f, err := os.OpenFile(j.segs[n-1].path, os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return nil, err
		}
		st, err := f.Stat()
		if err != nil {
			f.Close()
			return nil, err
		}
		j.f, j.size = f, st.Size()
	}
	return j, nil
}

// replay passes the records after `after` to fn, reading only the segments
// that hold them. It runs after openJournal checked the whole journal.
func (j *journal) replay(after uint64, fn scanFunc) error {
	for i, seg := range j.segs {
		if i+1 < len(j.segs) && j.segs[i+1].firstSeq <= after+1 {
			continue // every record of this segment is at or before after
		}
		b, err := os.ReadFile(seg.path)
		if err != nil {
			return err
		}
		_, _, badAt, badErr, err := scanSegment(b, seg, j.storeID, seg.firstSeq-1, seg.prevHash, j.lastSeq, func(r *Record, h [32]byte) error {
			if r.Seq > after {
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
		if badAt >= 0 {
			return &CorruptionError{Path: seg.path, Offset: badAt, Seq: 0,
				What: "segment changed while the store was opening (" + badErr.Error() + ")", Advice: adviceRestore}
		}
	}
	return nil
}

// cutTornTail keeps a copy of the bytes from off to the end of the segment and
// truncates the segment there. A segment whose header itself is torn is
// removed after the copy.
func (j *journal) cutTornTail(seg segment, b []byte, off int64) error {
	// Never reuse a name: a crash loop at the same offset keeps every copy.
	broken := fmt.Sprintf("%s.broken-%d", seg.path, off)
	for n := 1; ; n++ {
		if _, err := os.Lstat(broken); errors.Is(err, fs.ErrNotExist) {
			break
		}
		broken = fmt.Sprintf("%s.broken-%d.%d", seg.path, off, n)
	}
	if err := writeFileSync(broken, b[off:]); err != nil {
		return fmt.Errorf("keep torn tail: %w", err)
	}
	if off < segHeaderLen {
		if err := os.Remove(seg.path); err != nil {
			return err
		}
		return syncDir(j.dir)
	}
	f, err := os.OpenFile(seg.path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.Truncate(off); err != nil {
		return err
	}
	return f.Sync()
}

// append writes framed records, sealing and starting segments as needed, and
// makes them durable with one fdatasync of the active segment.
func (j *journal) append(frames [][]byte, firstSeq uint64) error {
	seq := firstSeq
	for _, fr := range frames {
		if j.f == nil || (j.size > segHeaderLen && j.size+int64(len(fr)) > j.segSize) {
			if err := j.roll(seq); err != nil {
				return err
			}
		}
		if _, err := j.f.Write(fr); err != nil {
			return fmt.Errorf("journal write: %w", err)
		}
		j.size += int64(len(fr))
		seq++
	}
	if err := syncJournal(j.f); err != nil {
		return fmt.Errorf("journal fsync: %w", err)
	}
	return nil
}

// roll seals the active segment (it is already synced up to its last batch
// except for the records of this batch, so sync it) and starts a new one.
func (j *journal) roll(firstSeq uint64) error {
	if j.f != nil {
		if err := fdatasync(j.f); err != nil {
			return fmt.Errorf("seal segment: %w", err)
		}
		if err := j.f.Close(); err != nil {
			return err
		}
		j.f = nil
	}
	seg := segment{path: filepath.Join(j.dir, segmentName(firstSeq)), firstSeq: firstSeq}
	f, err := os.OpenFile(seg.path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("new segment: %w", err)
	}
	if _, err := f.Write(encodeSegHeader(j.storeID, firstSeq)); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := syncDir(j.dir); err != nil {
		f.Close()
		return err
	}
	j.f, j.size = f, segHeaderLen
	j.segs = append(j.segs, seg)
	return nil
}

func (j *journal) close() error {
	if j.f == nil {
		return nil
	}
	err := j.f.Sync()
	if cerr := j.f.Close(); err == nil {
		err = cerr
	}
	j.f = nil
	return err
}

// scanJournal reads the journal in dir from its base (sequence 1, or after
// the records retention pruned: base.go) up to and including upTo, verifying headers, sequence numbers and the hash chain, and calls fn
// for each record. Unlike openJournal it repairs nothing: any bad frame before
// upTo is reported as damage. It is safe while another goroutine appends.
func scanJournal(dir string, storeID [16]byte, upTo uint64, fn scanFunc) (lastSeq uint64, lastHash [32]byte, err error) {
	segs, base, err := liveSegments(dir)
	if err != nil {
		return 0, lastHash, err
	}
	if upTo < base.Seq {
		return 0, lastHash, base.prunedError(fmt.Sprintf("read the journal up to sequence %d", upTo))
	}
	lastSeq, lastHash = base.Seq, base.hash
	for _, seg := range segs {
		if seg.firstSeq > upTo {
			break
		}
		b, err := os.ReadFile(seg.path)
		if err != nil {
			return lastSeq, lastHash, err
		}
		seq, hash, badAt, badErr, err := scanSegment(b, seg, storeID, lastSeq, lastHash, upTo, fn)
		lastSeq, lastHash = seq, hash
		if err == errStopScan {
			return lastSeq, lastHash, nil
		}
		if err != nil {
			return lastSeq, lastHash, err
		}
		if badAt >= 0 && seq < upTo {
			return lastSeq, lastHash, &CorruptionError{Path: seg.path, Offset: badAt, Seq: seq + 1,
				What: "damaged record (" + badErr.Error() + ")", Advice: adviceRestore}
		}
	}
	if upTo != ^uint64(0) && lastSeq < upTo {
		return lastSeq, lastHash, &CorruptionError{Path: dir, Offset: -1, Seq: lastSeq + 1,
			What: fmt.Sprintf("journal ends at sequence %d, expected at least %d", lastSeq, upTo), Advice: adviceRestore}
	}
	return lastSeq, lastHash, nil
}
