package storage

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// A child process (this test binary, re-executed) writes on a full disk or
// with failing journal fsyncs, reports each commit as acknowledged or
// refused, and is killed with SIGKILL. The parent frees the disk, reopens
// the store and checks that every acknowledged write is there and no refused
// one is: a refused write never appears after a crash either.

const (
	refusedChildDirEnv  = "PIMVAULT_REFUSED_CHILD_DIR"
	refusedChildModeEnv = "PIMVAULT_REFUSED_CHILD_MODE" // full | fsync
	refusedLinePrefix   = "REFUSEDLOG "
)

// TestRefusedWriteChild is the child process of TestRefusedWritesAbsentAfterKill.
func TestRefusedWriteChild(t *testing.T) {
	dir := os.Getenv(refusedChildDirEnv)
	if dir == "" {
		t.Skip("helper process for TestRefusedWritesAbsentAfterKill; runs only when re-executed by it")
	}
	emit := func(format string, args ...any) {
		if _, err := os.Stdout.Write([]byte(refusedLinePrefix + fmt.Sprintf(format, args...) + "\n")); err != nil {
			os.Exit(5)
		}
	}
	time.AfterFunc(30*time.Second, func() { emit("fail child not killed in time"); os.Exit(3) })
	if os.Getenv(refusedChildModeEnv) == "fsync" {
		// Journal fsyncs fail in pairs now and then: an append's and the
		// following cut's, so the retried cut is exercised too.
		var n atomic.Int64
		orig := syncJournal
		syncJournal = func(f *os.File) error {
			if k := n.Add(1); k%7 == 0 || k%7 == 1 {
				return &os.PathError{Op: "fdatasync", Path: f.Name(), Err: syscall.EIO}
			}
			return orig(f)
		}
	}
	s, err := Open(dir, Options{})
	if err != nil {
		emit("fail open: %v", err)
		os.Exit(3)
	}
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < 30; i++ {
				name := fmt.Sprintf("w%d-%d", w, i)
				n := 100
				if i%2 == 1 {
					n = 8000
				}
				body := append(vcard(name, i), strings.Repeat("NOTE:x\r\n", n)...)
				c := putChange("alice", "contacts", name+".vcf", name, body)
				c.IfNoneMatch = true
				if _, err := s.Commit(context.Background(), c); err != nil {
					if !errors.Is(err, ErrNoSpace) && !errors.Is(err, syscall.EIO) {
						emit("fail %s: unexpected error %v", name, err)
						continue
					}
					emit("refused %s", name)
					continue
				}
				emit("ack %s", name)
			}
		}(w)
	}
	wg.Wait()
	emit("done")
	time.Sleep(time.Minute) // killed here, without Close
}

// TestRefusedWritesAbsentAfterKill runs the child on a full tmpfs and with
// failing fsyncs, kills it, and checks the reopened store.
func TestRefusedWritesAbsentAfterKill(t *testing.T) {
	for _, mode := range []string{"full", "fsync"} {
		t.Run(mode, func(t *testing.T) {
			base := t.TempDir()
			if mode == "full" {
				base = mountSmallFS(t, "4m")
			}
			dir := filepath.Join(base, "data")
			s, err := Open(dir, Options{})
			if err != nil {
				t.Fatal(err)
			}
			seedContacts(t, s, "alice", "contacts", 5)
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			filler := ""
			if mode == "full" {
				filler = fillDisk(t, base)
			}
			cmd := exec.Command(os.Args[0], "-test.run=^TestRefusedWriteChild$")
			cmd.Env = append(os.Environ(), refusedChildDirEnv+"="+dir, refusedChildModeEnv+"="+mode)
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			var stderr strings.Builder
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			acked, refused := map[string]bool{}, map[string]bool{}
			sc := bufio.NewScanner(stdout)
			done := false
			for !done && sc.Scan() {
				line, ok := strings.CutPrefix(sc.Text(), refusedLinePrefix)
				if !ok {
					continue
				}
				word, rest, _ := strings.Cut(line, " ")
				switch word {
				case "ack":
					acked[rest] = true
				case "refused":
					refused[rest] = true
				case "done":
					done = true
				default:
					cmd.Process.Kill()
					cmd.Wait()
					t.Fatalf("child: %s", line)
				}
			}
			cmd.Process.Kill()
			cmd.Wait()
			if !done {
				t.Fatalf("child ended early: %s", stderr.String())
			}
			if len(refused) == 0 || (mode == "fsync" && len(acked) == 0) {
				t.Fatalf("child: %d acknowledged, %d refused; want both kinds", len(acked), len(refused))
			}
			t.Logf("%s: %d acknowledged, %d refused, then SIGKILL", mode, len(acked), len(refused))
			if filler != "" {
				if err := os.Remove(filler); err != nil {
					t.Fatal(err)
				}
			}
			s, err = Open(dir, Options{})
			if err != nil {
				t.Fatalf("reopen after the kill: %v", err)
			}
			defer s.Close()
			objs := objectsOf(t, s, "alice", "contacts")
			for name := range refused {
				if _, ok := objs[name+".vcf"]; ok {
					t.Errorf("refused write %s exists after the kill", name)
				}
			}
			for name := range acked {
				if _, ok := objs[name+".vcf"]; !ok {
					t.Errorf("acknowledged write %s is missing after the kill", name)
				}
			}
			if len(objs) != 5+len(acked) {
				t.Errorf("%d objects after the kill, want %d", len(objs), 5+len(acked))
			}
			checkIntegrity(t, s)
		})
	}
}
