package storage

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// hashTree returns a digest of every file name and its bytes under dir.
func hashTree(t *testing.T, dir string) string {
	t.Helper()
	var names []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		names = append(names, p)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(names)
	h := sha256.New()
	for _, p := range names {
		st, err := os.Lstat(p)
		if err != nil {
			t.Fatal(err)
		}
		h.Write([]byte(p + "\x00"))
		if st.Mode().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			h.Write(b)
		}
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// newerFixture writes a small closed store with a snapshot (so prune and
// undo have something to work from) and returns its directory.
func newerFixture(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	s, err := Open(dir, Options{SegmentSize: 4096})
	if err != nil {
		t.Fatal(err)
	}
	seedCollection(t, s, "alice", "contacts")
	for i := 0; i < 40; i++ {
		mustCommit(t, s, putChange("alice", "contacts", "c"+itoa(i)+".vcf", "u"+itoa(i), vcard("u"+itoa(i), i)))
	}
	if _, _, err := s.SnapshotScheduled(context.Background(), 0); err != nil {
		t.Fatal(err)
	}
	mustCommit(t, s, putChange("alice", "contacts", "late.vcf", "late", vcard("late", 99)))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

func itoa(i int) string { return strconv.Itoa(i) }

// lastSegment returns the path of the last journal segment of dir.
func lastSegment(t *testing.T, dir string) string {
	t.Helper()
	segs, err := listSegments(filepath.Join(dir, "journal"))
	if err != nil || len(segs) == 0 {
		t.Fatalf("segments: %v %d", err, len(segs))
	}
	return segs[len(segs)-1].path
}

func journalEnd(t *testing.T, dir string) (uint64, [32]byte, [16]byte) {
	t.Helper()
	_, id, err := readIdentityFile(dir)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := id.rawID()
	seq, hash, err := scanJournal(filepath.Join(dir, "journal"), raw, ^uint64(0), nil)
	if err != nil {
		t.Fatal(err)
	}
	return seq, hash, raw
}

func appendToFile(t *testing.T, path string, b []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(b); err != nil {
		t.Fatal(err)
	}
	f.Close()
}

// frameOf frames a payload as the journal does.
func frameOf(p []byte) []byte {
	fr := make([]byte, frameHeaderLen, frameHeaderLen+len(p))
	binary.LittleEndian.PutUint32(fr[0:4], uint32(len(p)))
	binary.LittleEndian.PutUint32(fr[4:8], crc32.Checksum(p, castagnoli))
	return append(fr, p...)
}

// The ways a data directory can be newer than this build.
var newerCases = []struct {
	name string
	make func(t *testing.T, dir string)
	want string // in the error
}{
	{"operation", func(t *testing.T, dir string) {
		seq, hash, _ := journalEnd(t, dir)
		fr, _ := encodeFrame(&Record{Seq: seq + 1, Time: time.Now().UnixNano(), Prev: hash, Op: opMax + 1, Principal: "alice", Props: map[string][]byte{"x": []byte("y")}})
		appendToFile(t, lastSegment(t, dir), fr)
	}, "operation 12"},
	{"record-format", func(t *testing.T, dir string) {
		seq, hash, _ := journalEnd(t, dir)
		p := encodePayload(&Record{Seq: seq + 1, Time: time.Now().UnixNano(), Prev: hash, Op: OpCheckpoint, Body: []byte("v2")})
		p[0] = recordFormatVersion + 1
		appendToFile(t, lastSegment(t, dir), frameOf(p))
	}, "record format 2"},
	{"flags", func(t *testing.T, dir string) {
		seq, hash, _ := journalEnd(t, dir)
		p := encodePayload(&Record{Seq: seq + 1, Time: time.Now().UnixNano(), Prev: hash, Op: OpCheckpoint, Body: []byte("f")})
		appendToFile(t, lastSegment(t, dir), frameOf(binary.AppendUvarint(p, 1<<5)))
	}, "flags 0x20"},
	{"segment-format", func(t *testing.T, dir string) {
		seq, hash, raw := journalEnd(t, dir)
		h := encodeSegHeader(raw, seq+1)
		copy(h, "PVJRNL02")
		binary.LittleEndian.PutUint32(h[32:36], crc32.Checksum(h[:32], castagnoli))
		fr, _ := encodeFrame(&Record{Seq: seq + 1, Time: time.Now().UnixNano(), Prev: hash, Op: OpCheckpoint, Body: []byte("s2")})
		if err := os.WriteFile(filepath.Join(dir, "journal", segmentName(seq+1)), append(h, fr...), 0o600); err != nil {
			t.Fatal(err)
		}
	}, "segment format 2"},
	{"schema", func(t *testing.T, dir string) {
		db, err := bolt.Open(filepath.Join(dir, dbFile), 0o600, nil)
		if err != nil {
			t.Fatal(err)
		}
		err = db.Update(func(tx *bolt.Tx) error {
			m := tx.Bucket(bktMeta)
			if err := m.Put(keySchema, u64(uint64(currentSchema()+1))); err != nil {
				return err
			}
			return m.Put(keyMinRelease, []byte("7.0.0"))
		})
		db.Close()
		if err != nil {
			t.Fatal(err)
		}
	}, "run pimvault ≥ 7.0.0"},
	{"identity", func(t *testing.T, dir string) {
		p := filepath.Join(dir, identityFile)
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		b = []byte(strings.Replace(string(b), `"format": 1`, `"format": 2`, 1))
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}, "IDENTITY format 2"},
}

// TestNewerDataIsRefusedAndNeverTouched: open (also with Upgrade, and after
// a system crash, which would rebuild store.db), rebuild, verify, restore,
// prune, undo and the upgrade check all refuse a directory that a newer
// pimvault wrote, say so, and leave every byte of it as it was.
func TestNewerDataIsRefusedAndNeverTouched(t *testing.T) {
	base := newerFixture(t)
	for _, tc := range newerCases {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "data")
			if err := os.CopyFS(dir, os.DirFS(base)); err != nil {
				t.Fatal(err)
			}
			tc.make(t, dir)
			before := hashTree(t, dir)
			check := func(what string, err error) {
				t.Helper()
				if !errors.Is(err, ErrNewer) {
					t.Errorf("%s: %v, want a newer-version refusal", what, err)
				} else if msg := err.Error(); !strings.Contains(msg, tc.want) || !strings.Contains(msg, "written by a newer pimvault") || !strings.Contains(msg, "run ") {
					t.Errorf("%s: message %q does not say %q, newer pimvault and what to run", what, msg, tc.want)
				}
				if after := hashTree(t, dir); after != before {
					t.Fatalf("%s changed the data directory", what)
				}
			}
			open := func(o Options) error {
				s, err := Open(dir, o)
				if err == nil {
					s.Close()
				}
				return err
			}
			check("open", open(Options{}))
			check("open with upgrade", open(Options{Upgrade: true}))
			_, err := RebuildDir(dir, Options{})
			check("rebuild", err)
			_, err = Restore(context.Background(), RestoreOptions{DataDir: dir, Out: filepath.Join(t.TempDir(), "out")})
			check("restore", err)
			_, err = PlanUpgrade(dir, Options{})
			check("upgrade check", err)
			// verify, prune and undo run on an opened store: the open refuses.
			// After a system crash store.db would be rebuilt: not this one.
			if err := os.WriteFile(filepath.Join(dir, dirtyFile), []byte("another-boot nosync\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			before = hashTree(t, dir)
			check("open after a crash", open(Options{}))
			check("rebuild after a crash", func() error { _, err := RebuildDir(dir, Options{}); return err }())
		})
	}
}

// TestTornTailOnlyWhenChecksumFails: a last record whose checksum holds but
// whose payload does not decode is damage, not a torn write: the open
// refuses and cuts nothing. A newer record after a torn frame makes the
// torn frame damage in the middle, not a tail.
func TestTornTailOnlyWhenChecksumFails(t *testing.T) {
	base := newerFixture(t)
	t.Run("valid-crc-bad-payload", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "data")
		if err := os.CopyFS(dir, os.DirFS(base)); err != nil {
			t.Fatal(err)
		}
		seq, hash, _ := journalEnd(t, dir)
		p := encodePayload(&Record{Seq: seq + 1, Prev: hash, Op: OpCheckpoint, Body: []byte("x")})
		appendToFile(t, lastSegment(t, dir), frameOf(append(p, 0, 0))) // trailing bytes
		before := hashTree(t, dir)
		_, err := Open(dir, Options{})
		if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "not a torn write") {
			t.Fatalf("open: %v, want damage that is not a torn write", err)
		}
		if hashTree(t, dir) != before {
			t.Fatal("open changed the directory")
		}
	})
	t.Run("torn-then-newer", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "data")
		if err := os.CopyFS(dir, os.DirFS(base)); err != nil {
			t.Fatal(err)
		}
		seq, hash, _ := journalEnd(t, dir)
		torn, _ := encodeFrame(&Record{Seq: seq + 1, Prev: hash, Op: OpCheckpoint, Body: []byte("torn")})
		torn[len(torn)-1] ^= 0xff
		newer, _ := encodeFrame(&Record{Seq: seq + 2, Op: opMax + 1, Principal: "alice"})
		appendToFile(t, lastSegment(t, dir), append(torn, newer...))
		before := hashTree(t, dir)
		_, err := Open(dir, Options{})
		if err == nil || !strings.Contains(err.Error(), "followed by valid records") {
			t.Fatalf("open: %v, want damage followed by a valid (newer) record", err)
		}
		if hashTree(t, dir) != before {
			t.Fatal("open cut the journal in front of a newer record")
		}
	})
	t.Run("torn-crc", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "data")
		if err := os.CopyFS(dir, os.DirFS(base)); err != nil {
			t.Fatal(err)
		}
		seq, hash, _ := journalEnd(t, dir)
		torn, _ := encodeFrame(&Record{Seq: seq + 1, Prev: hash, Op: OpCheckpoint, Body: []byte("torn")})
		appendToFile(t, lastSegment(t, dir), torn[:len(torn)-3])
		s, err := Open(dir, Options{})
		if err != nil {
			t.Fatalf("a torn last frame must be repaired: %v", err)
		}
		if s.Head() != seq {
			t.Errorf("head %d after the cut, want %d", s.Head(), seq)
		}
		s.Close()
		if m, _ := filepath.Glob(lastSegment(t, dir) + ".broken-*"); len(m) != 1 {
			t.Errorf("torn tail not kept in a .broken file: %v", m)
		}
	})
}

// TestNewerJournalNamesReleaseFromStoreDB: a release that writes a journal
// operation older ones do not know stamps itself as min_release in
// store.db; the refusal of a record of that operation then names it.
func TestNewerJournalNamesReleaseFromStoreDB(t *testing.T) {
	dir := newerFixture(t)
	newerCases[0].make(t, dir) // operation 12
	db, err := bolt.Open(filepath.Join(dir, dbFile), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bktMeta).Put(keyMinRelease, []byte("7.3.0")) })
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	before := hashTree(t, dir)
	_, err = Open(dir, Options{})
	if !errors.Is(err, ErrNewer) || !strings.Contains(err.Error(), "operation 12") || !strings.Contains(err.Error(), "run pimvault ≥ 7.3.0") {
		t.Fatalf("open: %v", err)
	}
	if _, err := PlanUpgrade(dir, Options{}); err == nil || !strings.Contains(err.Error(), "run pimvault ≥ 7.3.0") {
		t.Fatalf("upgrade check: %v", err)
	}
	if hashTree(t, dir) != before {
		t.Fatal("the directory changed")
	}
}
