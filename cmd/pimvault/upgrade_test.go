package main

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"github.com/pimvault/pimvault/internal/fixture"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/pimvault/pimvault/storage"
	bolt "go.etcd.io/bbolt"
)

// treeHash digests every file name and its bytes under dir.
func treeHash(t *testing.T, dir string) string {
	t.Helper()
	var names []string
	if err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil {
			names = append(names, p)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	sort.Strings(names)
	h := sha256.New()
	for _, p := range names {
		h.Write([]byte(p + "\x00"))
		if st, err := os.Lstat(p); err == nil && st.Mode().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			h.Write(b)
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

func TestVersionCommand(t *testing.T) {
	t.Parallel()
	f := storage.CurrentFormats()
	for _, args := range [][]string{{"version"}, {"--version"}} {
		res := pimvault(t, args...)
		if res.code != 0 {
			t.Fatalf("pimvault %v: %s", args, res)
		}
		for _, want := range []string{
			"pimvault ", "\ncommit: ",
			"journal segment format: " + itoa(uint64(f.Segment)) + "\n",
			"journal record format: " + itoa(uint64(f.Record)) + "\n",
			"journal operations: up to " + itoa(uint64(f.HighOp)) + " (principal-state)\n",
			"store.db schema: " + itoa(uint64(f.Schema)) + " ",
			"IDENTITY format: " + itoa(uint64(f.Identity)) + "\n",
		} {
			if !strings.Contains(res.stdout, want) {
				t.Errorf("pimvault %v does not print %q:\n%s", args, want, res)
			}
		}
	}
}

// crc32c as the journal uses it.
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// lastFrame returns the offset and payload of the last record of seg.
func lastFrame(t *testing.T, seg string) (int, []byte) {
	t.Helper()
	b, err := os.ReadFile(seg)
	if err != nil {
		t.Fatal(err)
	}
	off, last := 36, -1
	for off+8 <= len(b) {
		n := int(binary.LittleEndian.Uint32(b[off:]))
		last = off
		off += 8 + n
	}
	if last < 0 {
		t.Fatalf("%s holds no record", seg)
	}
	n := int(binary.LittleEndian.Uint32(b[last:]))
	return last, b[last+8 : last+8+n]
}

// nextRecordWithOp takes the last record the real encoder wrote to seg and
// returns a frame for the record after it (next sequence, chained to it)
// carrying operation op, as a newer pimvault would write it.
func nextRecordWithOp(t *testing.T, seg string, op byte) []byte {
	t.Helper()
	_, prev := lastFrame(t, seg)
	seq, k := binary.Uvarint(prev[2:])
	_, k2 := binary.Varint(prev[2+k:])
	rest := prev[2+k+k2+32:] // the fields after seq, time and the previous hash
	chain := sha256.Sum256(prev)
	p := []byte{prev[0], op}
	p = binary.AppendUvarint(p, seq+1)
	p = append(p, prev[2+k:2+k+k2]...)
	p = append(p, chain[:]...)
	p = append(p, rest...)
	fr := make([]byte, 8, 8+len(p))
	binary.LittleEndian.PutUint32(fr[0:], uint32(len(p)))
	binary.LittleEndian.PutUint32(fr[4:], crc32.Checksum(p, castagnoli))
	return append(fr, p...)
}

// TestNewerVersionRefusedByEveryCommand: a data directory with a record of
// an operation this build does not know (valid checksum and chain), a
// segment of a newer format, or a store.db of a newer schema is refused by
// every command with "written by a newer pimvault … run …", and not one
// byte of it changes. On main the unknown operation was cut off by rebuild
// as a torn tail.
func TestNewerVersionRefusedByEveryCommand(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	writeStore(t, base, storage.Options{SegmentSize: 4096}, 30)
	if res := pimvault(t, "backup", "--data", base); res.code != 0 {
		t.Fatalf("backup: %s", res)
	}
	cases := map[string]func(t *testing.T, dir string){
		"operation": func(t *testing.T, dir string) {
			segs := segmentFiles(t, dir)
			fr := nextRecordWithOp(t, segs[len(segs)-1], byte(storage.HighestOp)+1)
			f, err := os.OpenFile(segs[len(segs)-1], os.O_WRONLY|os.O_APPEND, 0)
			if err != nil {
				t.Fatal(err)
			}
			f.Write(fr)
			f.Close()
		},
		"segment": func(t *testing.T, dir string) {
			segs := segmentFiles(t, dir)
			last := segs[len(segs)-1]
			b, err := os.ReadFile(last)
			if err != nil {
				t.Fatal(err)
			}
			copy(b, "PVJRNL02")
			binary.LittleEndian.PutUint32(b[32:36], crc32.Checksum(b[:32], castagnoli))
			if err := os.WriteFile(last, b, 0o600); err != nil {
				t.Fatal(err)
			}
		},
		"schema": func(t *testing.T, dir string) {
			db, err := bolt.Open(filepath.Join(dir, "store.db"), 0o600, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if err := db.Update(func(tx *bolt.Tx) error {
				v := make([]byte, 8)
				binary.BigEndian.PutUint64(v, uint64(storage.SchemaVersion()+1))
				if err := tx.Bucket([]byte("meta")).Put([]byte("schema"), v); err != nil {
					return err
				}
				return tx.Bucket([]byte("meta")).Put([]byte("min_release"), []byte("8.1.0"))
			}); err != nil {
				t.Fatal(err)
			}
		},
	}
	for name, mk := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(t.TempDir(), "data")
			if err := os.CopyFS(dir, os.DirFS(base)); err != nil {
				t.Fatal(err)
			}
			mk(t, dir)
			before := treeHash(t, dir)
			for _, args := range [][]string{
				{"status"}, {"verify"}, {"rebuild"}, {"restore", "--out", filepath.Join(t.TempDir(), "out")},
				{"prune", "--retention", "1ns"}, {"undo", "--user", "alice", "--to-seq", "3"},
				{"upgrade", "--check"}, {"upgrade"}, {"user", "list"}, {"export", "--user", "alice", "--out", filepath.Join(t.TempDir(), "x.zip")},
			} {
				res := pimvault(t, append(args, "--data", dir)...)
				out := res.stdout + res.stderr
				if res.code != 1 || !strings.Contains(out, "written by a newer pimvault") || !strings.Contains(out, "run ") {
					t.Errorf("pimvault %v on a newer directory: want exit 1 and the newer-version refusal, got\n%s", args, res)
				}
				if name == "schema" && !strings.Contains(out, "run pimvault ≥ 8.1.0") {
					t.Errorf("pimvault %v: the refusal does not name the release store.db asks for:\n%s", args, res)
				}
				if strings.Contains(out, "goroutine ") || strings.Contains(out, "panic") {
					t.Errorf("pimvault %v printed a stack trace:\n%s", args, res)
				}
				if treeHash(t, dir) != before {
					t.Fatalf("pimvault %v changed the data directory", args)
				}
			}
			srv := pimvault(t, "serve", "--addr", "127.0.0.1:0", "--data", dir)
			if srv.code != 1 || !strings.Contains(srv.stderr, "written by a newer pimvault") {
				t.Errorf("serve on a newer directory: %s", srv)
			}
			if treeHash(t, dir) != before {
				t.Fatal("serve changed the data directory")
			}
		})
	}
}

// unpackSchema1 extracts the fixture testdata/upgrade/schema1.tar.gz (a
// data directory written by pimvault 0.1.0) and returns the data directory
// and the state hash that pimvault printed for it.
func unpackSchema1(t *testing.T) (string, string) {
	t.Helper()
	return fixture.UnpackSchema1(t, "../../testdata/upgrade")
}

var upgradeSnapRe = regexp.MustCompile(`snapshot of the old store\.db, verified: (\S+)`)

// TestUpgradeSchema1Fixture: the data directory of pimvault 0.1.0 is
// refused by admin commands with the advice to upgrade; upgrade --check
// says what would happen and changes nothing; upgrade writes a verified
// snapshot, keeps the state hash 0.1.0 printed, and the store verifies;
// serve upgrades another copy at start and logs the snapshot's path.
func TestUpgradeSchema1Fixture(t *testing.T) {
	t.Parallel()
	dir, oldHash := unpackSchema1(t)
	before := treeHash(t, dir)
	if res := pimvault(t, "status", "--data", dir); res.code != 1 || !strings.Contains(res.stderr, "pimvault upgrade --data") {
		t.Fatalf("status on a schema-1 store: want the advice to upgrade, got\n%s", res)
	}
	res := pimvault(t, "upgrade", "--check", "--data", dir)
	if res.code != 0 || !strings.Contains(res.stdout, "schema 1 → 2") || !strings.Contains(res.stdout, "verified snapshot") {
		t.Fatalf("upgrade --check: %s", res)
	}
	if treeHash(t, dir) != before {
		t.Fatal("upgrade --check or a refused status changed the directory")
	}
	res = pimvault(t, "upgrade", "--data", dir)
	m := upgradeSnapRe.FindStringSubmatch(res.stdout)
	if res.code != 0 || m == nil || !strings.Contains(res.stdout, "state hash: "+oldHash) {
		t.Fatalf("upgrade: want a snapshot and the state hash %s of pimvault 0.1.0, got\n%s", oldHash, res)
	}
	if _, err := storage.VerifySnapshot(m[1], storeIDOf(t, dir)); err != nil {
		t.Fatalf("snapshot before the upgrade: %v", err)
	}
	if h, _ := status(t, dir); h != oldHash {
		t.Fatalf("state hash %s after the upgrade, pimvault 0.1.0 said %s", h, oldHash)
	}
	expectVerifyOK(t, dir)
	if res := pimvault(t, "upgrade", "--check", "--data", dir); res.code != 0 || !strings.Contains(res.stdout, "nothing to upgrade") {
		t.Fatalf("upgrade --check after the upgrade: %s", res)
	}

	dir2, _ := unpackSchema1(t)
	rs := startServer(t, dir2)
	logged := regexp.MustCompile(`upgrade: verified snapshot of store\.db written before migrating" path=(\S+)`).FindStringSubmatch(rs.stderr.String())
	rs.stop(t)
	if logged == nil {
		t.Fatalf("serve did not log the snapshot it took before upgrading:\n%s", rs.stderr.String())
	}
	if _, err := os.Stat(logged[1]); err != nil {
		t.Fatalf("logged snapshot: %v", err)
	}
	if h, _ := status(t, dir2); h != oldHash {
		t.Fatalf("state hash %s after serve upgraded, want %s", h, oldHash)
	}
}

func storeIDOf(t *testing.T, dir string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "IDENTITY"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`"store_id": "([0-9a-f]+)"`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("IDENTITY: %s", b)
	}
	return string(m[1])
}
