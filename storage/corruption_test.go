package storage

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The table of journal and projection damage (docs/ARCHITECTURE.md,
// "Storage"). Every case builds a real store with a realistic history, closes it,
// damages its files the way a disk, a crash or an admin could, and reopens
// it. A torn tail that was never acknowledged is repaired (the bytes are kept
// in a .broken file); anything that loses or alters acknowledged data refuses
// to open, names the damaged file, says what to do and changes nothing.

// corruptSegSize keeps segments small so the history spans many sealed
// segments, each with several 4 KiB sectors.
type corruptionCase struct {
	name string
	opts Options // extra options for the store (SegmentSize is set if zero)
	// damage changes the closed store's files. It may return a check to run
	// on the repaired store (nil when there is nothing more to check).
	damage func(t *testing.T, h *corruptHistory) func(t *testing.T, h *corruptHistory, s *Store)

	refuse bool
	// For refused cases: the path the error must name (CorruptionError.Path
	// must be it or lie inside it) and more text the message must hold.
	wantPath func(h *corruptHistory) string
	wantMsg  func(h *corruptHistory) []string
	// fix, when set, follows the error's advice; the store must then open
	// with the state it had before the damage.
	fix func(t *testing.T, h *corruptHistory)

	// For repaired cases: the head and state hash the store must have.
	wantHead func(h *corruptHistory) uint64
	wantHash func(h *corruptHistory) string
}

func TestCorruptionTable(t *testing.T) {
	cases := []corruptionCase{
		{
			name: "truncate tail mid-record: partial frame of an unacknowledged record appended",
			damage: func(t *testing.T, h *corruptHistory) func(*testing.T, *corruptHistory, *Store) {
				seg := h.lastSegment(t)
				size := segSizeOf(t, seg)
				// The frame the next commit would have written, torn half way.
				var prev [32]byte
				if _, last, err := scanJournal(h.jdir, historyStoreID(t, h), ^uint64(0), nil); err != nil {
					t.Fatal(err)
				} else {
					prev = last
				}
				frame, _ := encodeFrame(&Record{Seq: h.head + 1, Time: 1, Prev: prev, Op: OpPut, Principal: "alice",
					Collection: "contacts", Name: "torn.vcf", ETag: ETagOf(vcard("torn", 1)), Body: vcard("torn", 1), Meta: ObjectMeta{UID: "torn", Component: "VCARD"}})
				partial := frame[:len(frame)/2]
				appendBytesTo(t, seg.path, partial)
				return func(t *testing.T, h *corruptHistory, s *Store) {
					want := fmt.Sprintf("%s.broken-%d", seg.path, size)
					got := brokenTailFiles(t, h.jdir)
					if len(got) != 1 || got[0] != want {
						t.Fatalf("broken files: got %q, want [%q]", got, want)
					}
					if b := readFileT(t, want); !bytes.Equal(b, partial) {
						t.Errorf("%s holds %d bytes, want the %d torn bytes", want, len(b), len(partial))
					}
					if got := segSizeOf(t, seg); got != size {
						t.Errorf("segment size after repair: got %d, want %d (cut at the torn frame)", got, size)
					}
				}
			},
			wantHead: func(h *corruptHistory) uint64 { return h.head },
			wantHash: func(h *corruptHistory) string { return h.hash },
		},
		{
			name: "truncate tail mid-record: store.db had applied it",
			damage: func(t *testing.T, h *corruptHistory) func(*testing.T, *corruptHistory, *Store) {
				seg, frames := lastSegmentFrames(t, h.jdir)
				last := frames[len(frames)-1]
				truncateFileTo(t, seg.path, last.off+last.len/2)
				return nil
			},
			refuse:   true,
			wantPath: func(h *corruptHistory) string { return h.segPath(-1) },
			wantMsg: func(h *corruptHistory) []string {
				return []string{"store.db had applied", fmt.Sprint(h.head), "restore"}
			},
		},
		{
			name: "truncate tail mid-record: store.db older than the torn record",
			damage: func(t *testing.T, h *corruptHistory) func(*testing.T, *corruptHistory, *Store) {
				seg, frames := lastSegmentFrames(t, h.jdir)
				last := frames[len(frames)-1]
				b := readFileT(t, seg.path)
				cut := last.off + last.len/2
				truncateFileTo(t, seg.path, cut)
				copyFileT(t, h.olderDB, h.dbPath())
				return func(t *testing.T, h *corruptHistory, s *Store) {
					want := fmt.Sprintf("%s.broken-%d", seg.path, last.off)
					got := brokenTailFiles(t, h.jdir)
					if len(got) != 1 || got[0] != want {
						t.Fatalf("broken files: got %q, want [%q]", got, want)
					}
					if kept := readFileT(t, want); !bytes.Equal(kept, b[last.off:cut]) {
						t.Errorf("%s holds %d bytes, want the %d bytes of the torn record", want, len(kept), cut-last.off)
					}
					if got := segSizeOf(t, seg); got != last.off {
						t.Errorf("segment size after repair: got %d, want %d", got, last.off)
					}
				}
			},
			wantHead: func(h *corruptHistory) uint64 { return h.midHead },
			wantHash: func(h *corruptHistory) string { return h.midHash },
		},
		{
			name: "torn header of a new segment (crash while rolling)",
			damage: func(t *testing.T, h *corruptHistory) func(*testing.T, *corruptHistory, *Store) {
				path := filepath.Join(h.jdir, segmentName(h.head+1))
				hdr := encodeSegHeader(historyStoreID(t, h), h.head+1)
				if err := os.WriteFile(path, hdr[:20], 0o600); err != nil {
					t.Fatal(err)
				}
				return func(t *testing.T, h *corruptHistory, s *Store) {
					if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
						t.Errorf("torn segment %s still in the journal: %v", path, err)
					}
					want := path + ".broken-0"
					if got := brokenTailFiles(t, h.jdir); len(got) != 1 || got[0] != want {
						t.Fatalf("broken files: got %q, want [%q]", got, want)
					}
					if kept := readFileT(t, want); !bytes.Equal(kept, hdr[:20]) {
						t.Errorf("%s: got %x, want the torn header %x", want, kept, hdr[:20])
					}
				}
			},
			wantHead: func(h *corruptHistory) uint64 { return h.head },
			wantHash: func(h *corruptHistory) string { return h.hash },
		},
		{
			name: "flip a byte in the last record",
			damage: func(t *testing.T, h *corruptHistory) func(*testing.T, *corruptHistory, *Store) {
				seg, frames := lastSegmentFrames(t, h.jdir)
				last := frames[len(frames)-1]
				flipByteAt(t, seg.path, last.off+last.len-40)
				return nil
			},
			refuse:   true,
			wantPath: func(h *corruptHistory) string { return h.segPath(-1) },
			wantMsg: func(h *corruptHistory) []string {
				return []string{"checksum", "store.db had applied", "restore"}
			},
		},
		{
			name: "flip a byte in an early record",
			damage: func(t *testing.T, h *corruptHistory) func(*testing.T, *corruptHistory, *Store) {
				seg := h.sealedSegment(t, 1)
				f := segmentFramesOf(t, seg.path)[1]
				flipByteAt(t, seg.path, f.off+f.len/2)
				return nil
			},
			refuse:   true,
			wantPath: func(h *corruptHistory) string { return h.segPath(1) },
			wantMsg:  func(h *corruptHistory) []string { return []string{"sealed segment", "checksum", "restore"} },
		},
		{
			name: "zero a 4 KiB sector in a sealed segment",
			damage: func(t *testing.T, h *corruptHistory) func(*testing.T, *corruptHistory, *Store) {
				seg := h.sealedSegment(t, 2)
				b := readFileT(t, seg.path)
				if len(b) < 8192 {
					t.Fatalf("sealed segment %s has %d bytes, want at least two sectors", seg.path, len(b))
				}
				copy(b[4096:8192], make([]byte, 4096))
				if err := os.WriteFile(seg.path, b, 0o600); err != nil {
					t.Fatal(err)
				}
				return nil
			},
			refuse:   true,
			wantPath: func(h *corruptHistory) string { return h.segPath(2) },
			wantMsg:  func(h *corruptHistory) []string { return []string{"sealed segment", "restore"} },
		},
		{
			name: "store.db missing and a sealed segment damaged",
			damage: func(t *testing.T, h *corruptHistory) func(*testing.T, *corruptHistory, *Store) {
				if err := os.Remove(h.dbPath()); err != nil {
					t.Fatal(err)
				}
				seg := h.sealedSegment(t, 2)
				f := segmentFramesOf(t, seg.path)[0]
				flipByteAt(t, seg.path, f.off+f.len/2)
				return nil
			},
			refuse:   true,
			wantPath: func(h *corruptHistory) string { return h.segPath(2) },
			wantMsg:  func(h *corruptHistory) []string { return []string{"sealed segment", "checksum", "restore"} },
		},
		{
			name: "delete a middle segment",
			damage: func(t *testing.T, h *corruptHistory) func(*testing.T, *corruptHistory, *Store) {
				if err := os.Remove(h.sealedSegment(t, 3).path); err != nil {
					t.Fatal(err)
				}
				return nil
			},
			refuse:   true,
			wantPath: func(h *corruptHistory) string { return h.jdir },
			wantMsg: func(h *corruptHistory) []string {
				segs, _ := listSegments(h.jdir)
				// segs[3] is now the segment after the removed one.
				from := h.olderSegFirst(3)
				return []string{fmt.Sprintf("records %d to %d are missing", from, segs[3].firstSeq-1), "restore"}
			},
		},
		{
			name: "replace store.db with an older copy",
			damage: func(t *testing.T, h *corruptHistory) func(*testing.T, *corruptHistory, *Store) {
				copyFileT(t, h.olderDB, h.dbPath())
				return nil
			},
			wantHead: func(h *corruptHistory) uint64 { return h.head },
			wantHash: func(h *corruptHistory) string { return h.hash },
		},
		{
			name: "store.db from another store",
			damage: func(t *testing.T, h *corruptHistory) func(*testing.T, *corruptHistory, *Store) {
				other := t.TempDir()
				s, err := Open(other, Options{})
				if err != nil {
					t.Fatal(err)
				}
				seedCollection(t, s, "alice", "contacts")
				for i := 0; i < 5; i++ {
					mustCommit(t, s, putChange("alice", "contacts", fmt.Sprintf("%d.vcf", i), fmt.Sprint(i), vcard(fmt.Sprint(i), i)))
				}
				if err := s.Close(); err != nil {
					t.Fatal(err)
				}
				copyFileT(t, filepath.Join(other, dbFile), h.dbPath())
				return nil
			},
			refuse:   true,
			wantPath: func(h *corruptHistory) string { return h.dbPath() },
			wantMsg:  func(h *corruptHistory) []string { return []string{"another store", "rebuild"} },
			fix:      followRebuildAdvice,
		},
		{
			name: "store.db from a diverged copy of the same store, journal on another disk",
			opts: Options{JournalDir: "<elsewhere>"},
			damage: func(t *testing.T, h *corruptHistory) func(*testing.T, *corruptHistory, *Store) {
				// The older copy goes on with other writes; its store.db then
				// claims a sequence whose record in this journal differs.
				odir, ojdir := filepath.Join(h.olderDir, "data"), filepath.Join(h.olderDir, "journal")
				s, err := Open(odir, Options{JournalDir: ojdir, SegmentSize: h.opts.SegmentSize})
				if err != nil {
					t.Fatal(err)
				}
				mustCommit(t, s, putChange("alice", "contacts", "diverged.vcf", "diverged", vcard("diverged", 1)))
				if s.Head() > h.head {
					t.Fatalf("diverged copy is ahead of the store")
				}
				if err := s.Close(); err != nil {
					t.Fatal(err)
				}
				copyFileT(t, filepath.Join(odir, dbFile), h.dbPath())
				return nil
			},
			refuse:   true,
			wantPath: func(h *corruptHistory) string { return h.dbPath() },
			wantMsg: func(h *corruptHistory) []string {
				return []string{"store.db does not match the journal", "rebuild"}
			},
			fix: followRebuildAdvice,
		},
		{
			name: "IDENTITY removed",
			damage: func(t *testing.T, h *corruptHistory) func(*testing.T, *corruptHistory, *Store) {
				if err := os.Remove(filepath.Join(h.dir, identityFile)); err != nil {
					t.Fatal(err)
				}
				return nil
			},
			refuse:   true,
			wantPath: func(h *corruptHistory) string { return filepath.Join(h.dir, identityFile) },
			wantMsg:  func(h *corruptHistory) []string { return []string{"IDENTITY is missing", "restore IDENTITY"} },
			fix: func(t *testing.T, h *corruptHistory) {
				copyFileT(t, filepath.Join(h.olderDir, "data", identityFile), filepath.Join(h.dir, identityFile))
			},
		},
		{
			name: "bad record followed by valid ones in the last segment",
			damage: func(t *testing.T, h *corruptHistory) func(*testing.T, *corruptHistory, *Store) {
				seg, frames := lastSegmentFrames(t, h.jdir)
				f := frames[len(frames)-3]
				flipByteAt(t, seg.path, f.off+f.len/2)
				return nil
			},
			refuse:   true,
			wantPath: func(h *corruptHistory) string { return h.segPath(-1) },
			wantMsg: func(h *corruptHistory) []string {
				return []string{"followed by valid records", "restore"}
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			opts := tc.opts
			if opts.JournalDir == "<elsewhere>" {
				opts.JournalDir = filepath.Join(t.TempDir(), "other-disk", "pimvault-journal")
			}
			h := buildCorruptHistory(t, opts)
			check := tc.damage(t, h)
			if tc.refuse {
				expectRefused(t, tc, h)
			} else {
				expectRepaired(t, tc, h, check)
			}
		})
	}
}

// olderSegFirst returns the first sequence of the i-th segment of the older
// copy of the store (taken before the damage, so it still lists every
// segment up to that point).
func (h *corruptHistory) olderSegFirst(i int) uint64 {
	jdir := filepath.Join(h.olderDir, "data", "journal")
	if h.opts.JournalDir != "" {
		jdir = filepath.Join(h.olderDir, "journal")
	}
	segs, err := listSegments(jdir)
	if err != nil || i >= len(segs) {
		return 0
	}
	return segs[i].firstSeq
}

func historyStoreID(t *testing.T, h *corruptHistory) [16]byte {
	t.Helper()
	id, err := loadIdentity(h.dir, h.jdir, "")
	if err != nil {
		t.Fatal(err)
	}
	raw, err := id.rawID()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func expectRefused(t *testing.T, tc corruptionCase, h *corruptHistory) {
	roots := []string{h.dir}
	if h.opts.JournalDir != "" {
		roots = append(roots, h.jdir)
	}
	before := snapshotFiles(t, roots...)
	s, err := Open(h.dir, h.opts)
	if err == nil {
		s.Close()
		t.Fatalf("Open succeeded on a damaged store, want a refusal")
	}
	if !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Open: got %v, want an error that is ErrCorrupt", err)
	}
	var ce *CorruptionError
	if !errors.As(err, &ce) {
		t.Fatalf("Open: got %T %v, want a *CorruptionError", err, err)
	}
	msg := err.Error()
	t.Logf("refused: %s", msg)
	wantPath := tc.wantPath(h)
	if ce.Path != wantPath && !strings.HasPrefix(ce.Path, wantPath+string(filepath.Separator)) {
		t.Errorf("CorruptionError.Path: got %q, want %q (or a file in it)", ce.Path, wantPath)
	}
	if !strings.Contains(msg, wantPath) {
		t.Errorf("message does not name the damaged path %q:\n%s", wantPath, msg)
	}
	if ce.Advice == "" || !strings.Contains(msg, ce.Advice) {
		t.Errorf("message does not say what to do (advice %q):\n%s", ce.Advice, msg)
	}
	for _, want := range tc.wantMsg(h) {
		if !strings.Contains(msg, want) {
			t.Errorf("message does not say %q:\n%s", want, msg)
		}
	}
	if d := diffFileSnapshots(before, snapshotFiles(t, roots...)); len(d) > 0 {
		t.Errorf("a refused Open changed the data directory:\n  %s", strings.Join(d, "\n  "))
	}
	// The refusal releases the lock and is the same every time.
	_, err2 := Open(h.dir, h.opts)
	if err2 == nil || errors.Is(err2, ErrLocked) || err2.Error() != msg {
		t.Errorf("second Open: got %v, want the same refusal", err2)
	}
	if tc.fix == nil {
		return
	}
	tc.fix(t, h)
	s, err = Open(h.dir, h.opts)
	if err != nil {
		t.Fatalf("Open after following the advice: %v", err)
	}
	defer s.Close()
	if hash, seq, _ := s.StateHash(); hash != h.hash || seq != h.head {
		t.Errorf("state after following the advice: got %s at %d, want %s at %d", hash, seq, h.hash, h.head)
	}
	checkIntegrity(t, s)
}

// followRebuildAdvice follows adviceRebuild: 'pimvault rebuild' on a closed store.
func followRebuildAdvice(t *testing.T, h *corruptHistory) {
	t.Helper()
	q, err := RebuildDir(h.dir, h.opts)
	if err != nil {
		t.Fatalf("RebuildDir: %v", err)
	}
	if _, err := os.Stat(q); err != nil {
		t.Errorf("the replaced store.db is not kept in quarantine: %v", err)
	}
}

func expectRepaired(t *testing.T, tc corruptionCase, h *corruptHistory, check func(*testing.T, *corruptHistory, *Store)) {
	s, err := Open(h.dir, h.opts)
	if err != nil {
		t.Fatalf("Open: got %v, want the store repaired", err)
	}
	defer s.Close()
	if got, want := s.Head(), tc.wantHead(h); got != want {
		t.Errorf("head after repair: got %d, want %d", got, want)
	}
	hash, seq, err := s.StateHash()
	if err != nil {
		t.Fatal(err)
	}
	if want := tc.wantHash(h); hash != want || seq != tc.wantHead(h) {
		t.Errorf("state after repair: got %s at %d, want %s at %d", hash, seq, want, tc.wantHead(h))
	}
	if check != nil {
		check(t, h, s)
	}
	checkIntegrity(t, s)
	// The repaired store takes writes, and they survive a reopen.
	res := mustCommit(t, s, putChange("alice", "contacts", "after-repair.vcf", "after-repair", vcard("after-repair", 1)))
	if res.Seq != tc.wantHead(h)+1 {
		t.Errorf("first write after repair: seq %d, want %d", res.Seq, tc.wantHead(h)+1)
	}
	wantHash, _, _ := s.StateHash()
	checkIntegrity(t, s)
	broken := brokenTailFiles(t, h.jdir)
	if err := s.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	s2, err := Open(h.dir, h.opts)
	if err != nil {
		t.Fatalf("reopen after repair: %v", err)
	}
	defer s2.Close()
	if got, _, _ := s2.StateHash(); got != wantHash {
		t.Errorf("state after reopen: got %s, want %s", got, wantHash)
	}
	if got := brokenTailFiles(t, h.jdir); strings.Join(got, ",") != strings.Join(broken, ",") {
		t.Errorf("reopen made new .broken files: got %q, had %q", got, broken)
	}
	checkIntegrity(t, s2)
}
