package storage

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// The history the corruption table damages, and the file helpers it uses
// (see corruption_test.go).

// corruptSegSize keeps segments small so the history spans many sealed
// segments, each with several 4 KiB sectors.
const corruptSegSize = 16 << 10

// corruptHistory is a closed store with a known history.
type corruptHistory struct {
	dir, jdir string
	opts      Options

	head uint64 // last record written
	hash string // state hash at head

	midHead uint64 // head-1: before the last record
	midHash string

	olderDB  string // copy of store.db taken (store closed) at olderSeq
	olderSeq uint64
	olderDir string // copy of the whole data directory (and journal) at olderSeq
}

// historyWriter writes realistic objects with a fixed random sequence.
type historyWriter struct {
	t     *testing.T
	s     *Store
	rng   *rand.Rand
	n     int
	etags map[string]string // "collection/name" → etag of live objects
	names []string          // live "collection/name", in creation order
}

func (w *historyWriter) text(n int) string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789,."
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[w.rng.IntN(len(alphabet))]
	}
	return string(b)
}

// body returns a vCard or an iCalendar event of 200–900 bytes.
func (w *historyWriter) body(col, uid string, rev int) ([]byte, ObjectMeta) {
	size := 200 + w.rng.IntN(701)
	var head, tail string
	meta := ObjectMeta{UID: uid}
	if col == "calendar" {
		start := int64(1_700_000_000 + w.rng.IntN(30_000_000))
		end := start + int64(900+w.rng.IntN(7200))
		head = fmt.Sprintf("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//pimvault//test//EN\r\nBEGIN:VEVENT\r\nUID:%s\r\nSEQUENCE:%d\r\nDTSTAMP:20240101T000000Z\r\nSUMMARY:Meeting %s\r\nDESCRIPTION:", uid, rev, uid)
		tail = "\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
		meta.Component, meta.Span = "VEVENT", &Span{Start: start, End: end}
	} else {
		head = fmt.Sprintf("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:%s\r\nREV:%d\r\nFN:Person %s\r\nNOTE:", uid, rev, uid)
		tail = "\r\nEND:VCARD\r\n"
		meta.Component = "VCARD"
	}
	pad := size - len(head) - len(tail)
	if pad < 1 {
		pad = 1
	}
	return []byte(head + w.text(pad) + tail), meta
}

func (w *historyWriter) put(col string) {
	w.n++
	uid := fmt.Sprintf("%s-%04d", col, w.n)
	name := uid + map[bool]string{true: ".ics", false: ".vcf"}[col == "calendar"]
	body, meta := w.body(col, uid, 0)
	res := mustCommit(w.t, w.s, Change{Op: OpPut, Principal: "alice", Collection: col, Name: name, Body: body, Meta: meta, IfNoneMatch: true})
	w.etags[col+"/"+name] = res.ETag
	w.names = append(w.names, col+"/"+name)
}

// overwrite replaces a live object with a new body, with If-Match.
func (w *historyWriter) overwrite(i int) {
	key := w.names[i%len(w.names)]
	col, name, _ := strings.Cut(key, "/")
	uid := strings.TrimSuffix(strings.TrimSuffix(name, ".vcf"), ".ics")
	body, meta := w.body(col, uid, 1+w.rng.IntN(9))
	res := mustCommit(w.t, w.s, Change{Op: OpPut, Principal: "alice", Collection: col, Name: name, Body: body, Meta: meta, IfMatch: w.etags[key]})
	w.etags[key] = res.ETag
}

func (w *historyWriter) remove(i int) {
	i %= len(w.names)
	key := w.names[i]
	col, name, _ := strings.Cut(key, "/")
	mustCommit(w.t, w.s, Change{Op: OpDelete, Principal: "alice", Collection: col, Name: name, IfMatch: w.etags[key]})
	delete(w.etags, key)
	w.names = append(w.names[:i], w.names[i+1:]...)
}

// buildCorruptHistory writes a principal, two collections, about 300 puts of
// 200–900 byte bodies, overwrites, deletes, moves and property changes, with
// a copy of the closed store taken part way. The store is closed on return.
func buildCorruptHistory(t *testing.T, opts Options) *corruptHistory {
	t.Helper()
	h := &corruptHistory{dir: t.TempDir(), opts: opts}
	if opts.SegmentSize == 0 {
		h.opts.SegmentSize = corruptSegSize
	}
	h.jdir = h.opts.JournalDir
	if h.jdir == "" {
		h.jdir = filepath.Join(h.dir, "journal")
	}
	s, err := Open(h.dir, h.opts)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	w := &historyWriter{t: t, s: s, rng: rand.New(rand.NewPCG(2009, 2014)), etags: map[string]string{}}
	mustCommit(t, s, Change{Op: OpPutPrincipal, Principal: "alice", Body: []byte(`{"name":"Alice","email":"alice@example.org"}`)})
	mustCommit(t, s, Change{Op: OpCreateCollection, Principal: "alice", Collection: "contacts", Kind: "addressbook",
		Props: map[string][]byte{"DAV:displayname": []byte("Contacts"), "urn:ietf:params:xml:ns:carddav:addressbook-description": []byte("Friends and family")}})
	mustCommit(t, s, Change{Op: OpCreateCollection, Principal: "alice", Collection: "calendar", Kind: "calendar",
		Props: map[string][]byte{"DAV:displayname": []byte("Calendar"), "http://apple.com/ns/ical/:calendar-color": []byte("#336699FF")}})
	for i := 0; i < 300; i++ {
		switch {
		case i%3 == 2:
			w.put("calendar")
		default:
			w.put("contacts")
		}
		if i%7 == 6 {
			w.overwrite(w.rng.IntN(len(w.names)))
		}
		if i%23 == 22 {
			w.remove(w.rng.IntN(len(w.names)))
		}
		if i == 150 {
			mustCommit(t, s, Change{Op: OpSetProps, Principal: "alice", Collection: "contacts",
				Props:  map[string][]byte{"DAV:displayname": []byte("Kontakte"), "http://apple.com/ns/ical/:calendar-order": []byte("2")},
				Remove: []string{"urn:ietf:params:xml:ns:carddav:addressbook-description"}})
		}
		if i == 200 {
			key := w.names[3]
			col, name, _ := strings.Cut(key, "/")
			mustCommit(t, s, Change{Op: OpMove, Principal: "alice", Collection: col, Name: name, ToCollection: col, ToName: "moved-" + name})
			w.etags[col+"/moved-"+name] = w.etags[key]
			delete(w.etags, key)
			w.names[3] = col + "/moved-" + name
		}
	}
	if err := s.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}

	// A copy of the closed store at this point: an older store.db, and an
	// older copy of everything (for a diverged history).
	h.olderSeq = s.Head()
	h.olderDB = filepath.Join(t.TempDir(), "store.db.older")
	copyFileT(t, filepath.Join(h.dir, dbFile), h.olderDB)
	h.olderDir = t.TempDir()
	copyTreeT(t, h.dir, filepath.Join(h.olderDir, "data"))
	if h.opts.JournalDir != "" {
		copyTreeT(t, h.jdir, filepath.Join(h.olderDir, "journal"))
	}

	// More records, so the last segment holds several of them and the last
	// record fits in it, then the last record.
	s, err = Open(h.dir, h.opts)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	w.s = s
	mustCommit(t, s, Change{Op: OpSetProps, Principal: "alice", Collection: "calendar",
		Props: map[string][]byte{"http://apple.com/ns/ical/:calendar-color": []byte("#FF2968FF")}})
	for i := 0; ; i++ {
		w.put("contacts")
		segs, frames := lastSegmentFrames(t, h.jdir)
		if i >= 4 && len(frames) >= 3 && segSizeOf(t, segs) < h.opts.SegmentSize-2048 {
			break
		}
	}
	h.midHead = s.Head()
	if h.midHash, _, err = s.StateHash(); err != nil {
		t.Fatal(err)
	}
	// The damage cases tear the last record as a crash during its write
	// would. The high-water mark never covers a record being written, so
	// the data directory keeps the mark from before it (highwater.go).
	if err := s.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	midMark := readFileT(t, filepath.Join(h.dir, highWaterFile))
	if s, err = Open(h.dir, h.opts); err != nil {
		t.Fatalf("reopen: %v", err)
	}
	w.s = s
	w.overwrite(0) // the last record
	h.head = s.Head()
	if h.head != h.midHead+1 {
		t.Fatalf("last record: head %d, want %d", h.head, h.midHead+1)
	}
	if h.hash, _, err = s.StateHash(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	if err := os.WriteFile(filepath.Join(h.dir, highWaterFile), midMark, 0o600); err != nil {
		t.Fatal(err)
	}
	if segs, _ := listSegments(h.jdir); len(segs) < 6 {
		t.Fatalf("history spans %d segments, want several sealed ones", len(segs))
	}
	return h
}

// segFrame is one record's place in a segment file.
type segFrame struct {
	off, len int64
	seq      uint64
}

// segmentFramesOf decodes the frames of a segment file (it must be intact).
func segmentFramesOf(t *testing.T, path string) []segFrame {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []segFrame
	for off := int64(segHeaderLen); off < int64(len(b)); {
		r, n, _, err := decodeFrame(b[off:])
		if err != nil {
			t.Fatalf("%s at %d: %v", path, off, err)
		}
		out = append(out, segFrame{off: off, len: int64(n), seq: r.Seq})
		off += int64(n)
	}
	return out
}

func lastSegmentFrames(t *testing.T, jdir string) (segment, []segFrame) {
	t.Helper()
	segs, err := listSegments(jdir)
	if err != nil || len(segs) == 0 {
		t.Fatalf("list segments of %s: %v (%d)", jdir, err, len(segs))
	}
	last := segs[len(segs)-1]
	return last, segmentFramesOf(t, last.path)
}

func segSizeOf(t *testing.T, seg segment) int64 {
	t.Helper()
	st, err := os.Stat(seg.path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}

// sealedSegment returns the i-th segment, which must not be the last.
func (h *corruptHistory) sealedSegment(t *testing.T, i int) segment {
	t.Helper()
	segs, err := listSegments(h.jdir)
	if err != nil {
		t.Fatal(err)
	}
	if i >= len(segs)-1 {
		t.Fatalf("segment %d is not sealed (%d segments)", i, len(segs))
	}
	return segs[i]
}

func (h *corruptHistory) lastSegment(t *testing.T) segment {
	t.Helper()
	seg, _ := lastSegmentFrames(t, h.jdir)
	return seg
}

// segPath returns the path of the i-th segment, or of the last one for -1
// ("" when there is no such segment).
func (h *corruptHistory) segPath(i int) string {
	segs, err := listSegments(h.jdir)
	if i < 0 {
		i = len(segs) - 1
	}
	if err != nil || i < 0 || i >= len(segs) {
		return ""
	}
	return segs[i].path
}

func (h *corruptHistory) dbPath() string { return filepath.Join(h.dir, dbFile) }

func copyFileT(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func copyTreeT(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o700)
		}
		copyFileT(t, p, filepath.Join(dst, rel))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// flipByteAt inverts one byte of a file.
func flipByteAt(t *testing.T, path string, off int64) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[off] ^= 0xff
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func appendBytesTo(t *testing.T, path string, data []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(data); err != nil {
		t.Fatal(err)
	}
}

func truncateFileTo(t *testing.T, path string, size int64) {
	t.Helper()
	if err := os.Truncate(path, size); err != nil {
		t.Fatal(err)
	}
}

// snapshotFiles maps every file and directory under the given roots to a hash
// of its content (the LOCK file only to its presence: it holds the pid of
// whoever tried last).
func snapshotFiles(t *testing.T, roots ...string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, root := range roots {
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			switch {
			case d.IsDir():
				out[p] = "dir"
			case d.Name() == lockFile:
				out[p] = "lock"
			default:
				b, err := os.ReadFile(p)
				if err != nil {
					return err
				}
				sum := sha256.Sum256(b)
				out[p] = fmt.Sprintf("%d bytes, sha256 %s", len(b), hex.EncodeToString(sum[:8]))
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func diffFileSnapshots(before, after map[string]string) []string {
	var out []string
	for p, v := range before {
		switch w, ok := after[p]; {
		case !ok:
			out = append(out, p+": removed")
		case w != v:
			out = append(out, fmt.Sprintf("%s: changed from %s to %s", p, v, w))
		}
	}
	for p := range after {
		if _, ok := before[p]; !ok {
			out = append(out, p+": created")
		}
	}
	sort.Strings(out)
	return out
}

// brokenTailFiles lists the .broken-<offset> files in the journal directory.
func brokenTailFiles(t *testing.T, jdir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(jdir, "*"+segExt+".broken-*"))
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(m)
	return m
}

func readFileT(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// corruptionCase is one kind of damage and what Open must do about it.
