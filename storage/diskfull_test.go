package storage

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
)

// mountSmallFS mounts a tmpfs of size (e.g. "4m") on a new directory and
// unmounts it when the test ends. Disk-full behaviour is tested on a real
// full filesystem; where mounting is not permitted the test is skipped.
func mountSmallFS(t *testing.T, size string) string {
	t.Helper()
	dir := t.TempDir()
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size+",mode=0700", "tmpfs", dir).CombinedOutput()
	if err != nil {
		t.Skipf("disk-full tests need to mount a small tmpfs (run as root where mount is permitted, as CI does): mount: %v: %s", err, strings.TrimSpace(string(out)))
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}

// fillDisk writes zeros to a new file in dir until the filesystem is full
// and returns the file's path.
func fillDisk(t *testing.T, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "filler")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 4096)
	for {
		if _, err := f.Write(buf); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("fill %s: %v", dir, err)
			}
			return path
		}
	}
}

// TestDiskFullRefusesWritesThenResumes: on a full filesystem a commit gets
// a *NoSpaceError naming a real file, reads keep working, and once space is
// freed commits succeed without reopening. No write that was refused is in
// the store, now or after a reopen (a client retrying its PUT with
// If-None-Match: * is not told it exists), and the store verifies.
func TestDiskFullRefusesWritesThenResumes(t *testing.T) {
	mnt := mountSmallFS(t, "4m")
	dir := filepath.Join(mnt, "data")
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { s.Close() }()
	seedContacts(t, s, "alice", "contacts", 20)
	filler := fillDisk(t, mnt)

	ctx := context.Background()
	// Small bodies fit in the journal segment's last page, so the journal
	// takes them and store.db is what cannot grow; large ones fail in the
	// journal. Both are refused and leave nothing behind.
	body := func(i int) []byte {
		n := 200
		if i%2 == 1 {
			n = 16000
		}
		return append(vcard(fmt.Sprintf("full-%d", i), i), strings.Repeat("NOTE:x\r\n", n)...)
	}
	put := func(i int) Change {
		c := putChange("alice", "contacts", fmt.Sprintf("full-%d.vcf", i), fmt.Sprintf("full-%d", i), body(i))
		c.IfNoneMatch = true
		return c
	}
	acked, refused := map[int]bool{}, map[int]bool{}
	var files []string
	for i := 0; i < 200 && len(refused) < 20; i++ {
		_, err := s.Commit(ctx, put(i))
		if err == nil {
			acked[i] = true
			continue
		}
		var ns *NoSpaceError
		if !errors.As(err, &ns) || !errors.Is(err, ErrNoSpace) || !errors.Is(err, syscall.ENOSPC) {
			t.Fatalf("commit %d on a full disk: want *NoSpaceError, got %T %v", i, err, err)
		}
		if len(refused) < 2 {
			t.Logf("commit %d on a full disk: %v", i, err)
		}
		if _, serr := os.Stat(ns.Path); serr != nil || strings.Contains(err.Error(), rebuildSuffix) || strings.Contains(err.Error(), "reopen") {
			t.Fatalf("error names %q (%v), which is not a real file of the store: %v", ns.Path, serr, err)
		}
		refused[i] = true
		files = append(files, filepath.Base(ns.Path))
	}
	if len(refused) == 0 {
		t.Fatal("no commit was refused on a full disk")
	}
	t.Logf("full disk: %d commits acknowledged, %d refused (files %v)", len(acked), len(refused), files)
	if !slices.ContainsFunc(files, func(f string) bool { return strings.HasSuffix(f, segExt) }) {
		t.Fatalf("no journal append was refused (files %v)", files)
	}

	// Reads work on a full disk.
	objs := objectsOf(t, s, "alice", "contacts")
	if len(objs) != 20+len(acked) {
		t.Fatalf("read %d objects on a full disk, want %d", len(objs), 20+len(acked))
	}
	for i := range refused {
		if _, ok := objs[fmt.Sprintf("full-%d.vcf", i)]; ok {
			t.Fatalf("refused write full-%d.vcf is readable", i)
		}
	}

	// Space comes back: writes resume without a reopen, including the
	// retry of a refused PUT with If-None-Match: *.
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	var retried int
	for i := range refused {
		retried = i
		break
	}
	if _, err := s.Commit(ctx, put(retried)); err != nil {
		t.Fatalf("retry of the refused write after space was freed: %v", err)
	}
	mustCommit(t, s, putChange("alice", "contacts", "after.vcf", "after", vcard("after", 1)))
	delete(refused, retried)
	acked[retried] = true

	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = Open(dir, Options{})
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	objs = objectsOf(t, s, "alice", "contacts")
	for i := range refused {
		if _, ok := objs[fmt.Sprintf("full-%d.vcf", i)]; ok {
			t.Fatalf("write full-%d.vcf was refused but exists after a reopen", i)
		}
	}
	for i := range acked {
		if objs[fmt.Sprintf("full-%d.vcf", i)] != string(body(i)) {
			t.Fatalf("acknowledged write full-%d.vcf is missing after a reopen", i)
		}
	}
	if _, ok := objs["after.vcf"]; !ok || len(objs) != 20+len(acked)+1 {
		t.Fatalf("after a reopen: %d objects, want %d", len(objs), 20+len(acked)+1)
	}
	checkIntegrity(t, s)
}

// failSyncs makes the next n journal fsyncs fail with EIO.
func failSyncs(t *testing.T, n int) {
	t.Helper()
	orig := syncJournal
	left := n
	syncJournal = func(f *os.File) error {
		if left > 0 {
			left--
			return &os.PathError{Op: "fdatasync", Path: f.Name(), Err: syscall.EIO}
		}
		return orig(f)
	}
	t.Cleanup(func() { syncJournal = orig })
}

// TestFailedJournalFsyncNeverAppears: after an fsync of the journal fails,
// the batch is refused and cut off the journal before any other write, so
// it never appears, even after a reopen, and writes go on without one. If
// the cut's own fsync fails too, writes are refused until a retry of the cut
// succeeds, which happens by itself before the next write.
func TestFailedJournalFsyncNeverAppears(t *testing.T) {
	for _, fails := range []int{1, 2} {
		t.Run(fmt.Sprintf("failed-fsyncs=%d", fails), func(t *testing.T) {
			dir := t.TempDir()
			s, err := Open(dir, Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer func() { s.Close() }()
			seedContacts(t, s, "alice", "contacts", 3)
			head := s.Head()
			ctx := context.Background()

			failSyncs(t, fails)
			_, err = s.Commit(ctx, putChange("alice", "contacts", "lost.vcf", "lost", vcard("lost", 1)))
			if !errors.Is(err, syscall.EIO) || errors.Is(err, ErrNoSpace) {
				t.Fatalf("commit with a failing fsync: %v", err)
			}
			if !strings.Contains(err.Error(), filepath.Join(dir, "journal")) {
				t.Fatalf("error does not name the journal segment: %v", err)
			}
			if s.Head() != head {
				t.Fatalf("head moved to %d after a failed write", s.Head())
			}
			if fails == 2 {
				// The cut failed as well: the store says so, and retries it.
				if p := s.failed.Load(); p == nil {
					t.Fatal("store takes writes although the journal still holds the refused record")
				}
			}
			res := mustCommit(t, s, putChange("alice", "contacts", "kept.vcf", "kept", vcard("kept", 1)))
			if res.Seq != head+1 {
				t.Fatalf("next write got sequence %d, want %d (the refused one's)", res.Seq, head+1)
			}
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			if s, err = Open(dir, Options{}); err != nil {
				t.Fatal(err)
			}
			objs := objectsOf(t, s, "alice", "contacts")
			if _, ok := objs["lost.vcf"]; ok {
				t.Fatal("a write answered with an fsync error exists after a reopen")
			}
			if _, ok := objs["kept.vcf"]; !ok || len(objs) != 4 {
				t.Fatalf("after a reopen: %v", objs)
			}
			checkIntegrity(t, s)
		})
	}
}

// TestVerifyAndDrillNeedScratchSpace: on a full data filesystem verify and
// the restore drill refuse at once, saying how much scratch space they need
// and that --tmp takes it elsewhere; with a scratch directory on another
// filesystem both work and leave nothing behind.
func TestVerifyAndDrillNeedScratchSpace(t *testing.T) {
	mnt := mountSmallFS(t, "8m")
	dir := filepath.Join(mnt, "data")
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { s.Close() }()
	seedContacts(t, s, "alice", "contacts", 50)
	ctx := context.Background()
	if _, _, err := s.SnapshotScheduled(ctx, 0); err != nil {
		t.Fatal(err)
	}
	mustCommit(t, s, putChange("alice", "contacts", "late.vcf", "late", vcard("late", 1)))
	filler := fillDisk(t, mnt)

	_, err = s.VerifyIn(ctx, "")
	if !errors.Is(err, ErrNoSpace) || !strings.Contains(err.Error(), "--tmp DIR") || !strings.Contains(err.Error(), "MiB") {
		t.Fatalf("verify on a full disk: want a no-space error naming --tmp and the space needed, got %v", err)
	}
	t.Logf("verify on a full disk: %v", err)
	if _, err := s.DrillIn(ctx, ""); !errors.Is(err, ErrNoSpace) || !strings.Contains(err.Error(), "--tmp DIR") {
		t.Fatalf("drill on a full disk: %v", err)
	}
	scratch := t.TempDir()
	rep, err := s.VerifyIn(ctx, scratch)
	if err != nil || !rep.OK() {
		t.Fatalf("verify --tmp on a full data disk: %v\n%v", err, rep)
	}
	res, err := s.DrillIn(ctx, scratch)
	if err != nil || !res.OK || res.Snapshot == "" {
		t.Fatalf("drill --tmp on a full data disk: %v %+v", err, res)
	}
	if ents, _ := os.ReadDir(scratch); len(ents) != 0 {
		t.Fatalf("scratch directory keeps %d entries", len(ents))
	}
	// A scratch directory that is itself too small is refused the same way.
	small := mountSmallFS(t, "64k")
	if _, err := s.VerifyIn(ctx, small); !errors.Is(err, ErrNoSpace) || !strings.Contains(err.Error(), small) {
		t.Fatalf("verify into a 64 KiB scratch: %v", err)
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
}

// TestOpenOnFullDisk: a store opens on a full disk (a restart while full):
// reads are served, writes are refused with ErrNoSpace, and once space is
// freed writes resume; it closes cleanly and reopens with everything.
func TestOpenOnFullDisk(t *testing.T) {
	mnt := mountSmallFS(t, "4m")
	dir := filepath.Join(mnt, "data")
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	seedContacts(t, s, "alice", "contacts", 10)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	filler := fillDisk(t, mnt)
	s, err = Open(dir, Options{})
	if err != nil {
		t.Fatalf("open on a full disk: %v", err)
	}
	defer func() { s.Close() }()
	if n := len(objectsOf(t, s, "alice", "contacts")); n != 10 {
		t.Fatalf("read %d objects on a full disk, want 10", n)
	}
	big := append(vcard("big", 1), strings.Repeat("NOTE:x\r\n", 16000)...)
	if _, err := s.Commit(context.Background(), putChange("alice", "contacts", "big.vcf", "big", big)); !errors.Is(err, ErrNoSpace) {
		t.Fatalf("commit on a full disk after opening there: %v", err)
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	mustCommit(t, s, putChange("alice", "contacts", "big.vcf", "big", big))
	if err := s.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	if s, err = Open(dir, Options{}); err != nil {
		t.Fatal(err)
	}
	if objs := objectsOf(t, s, "alice", "contacts"); len(objs) != 11 || objs["big.vcf"] != string(big) {
		t.Fatalf("after reopening: %d objects", len(objs))
	}
	checkIntegrity(t, s)
}
