package main

import (
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// plainCopy copies the regular files under src to dst one by one, the way
// cp -r does, with no regard for a process writing them meanwhile.
func plainCopy(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) {
				return nil // removed while copying (a temporary file)
			}
			return err
		}
		rel, _ := filepath.Rel(src, p)
		out := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(out, 0o700)
		}
		if !d.Type().IsRegular() {
			return nil // the admin socket
		}
		in, err := os.Open(p)
		if os.IsNotExist(err) {
			return nil
		}
		if err != nil {
			return err
		}
		defer in.Close()
		w, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return err
		}
		_, err = io.Copy(w, in)
		if cerr := w.Close(); err == nil {
			err = cerr
		}
		return err
	})
}

func stackTrace(s string) bool {
	return strings.Contains(s, "panic") || strings.Contains(s, "goroutine ") || strings.Contains(s, ".go:")
}

// TestCopyOfLiveDataDirectory: a data directory copied file by file while
// the real server writes to it never makes pimvault print a stack trace:
// the copy either opens and verifies, or is refused with advice that names
// 'pimvault rebuild', and a rebuild then makes it verify.
func TestCopyOfLiveDataDirectory(t *testing.T) {
	t.Parallel()
	rounds := 20
	if testing.Short() {
		rounds = 3
	}
	dir := t.TempDir()
	rs := startServer(t, dir, "--user", "alice")
	var stop atomic.Bool
	var puts atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < 2; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; !stop.Load(); i++ {
				uid := fmt.Sprintf("w%d-%d", w, i%400)
				body := "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:" + uid + "\r\nFN:" + uid + "\r\nNOTE:" + strings.Repeat("n", (i*37)%3000) + "\r\nEND:VCARD\r\n"
				method := "PUT"
				if i%7 == 6 {
					method, body = "DELETE", ""
				}
				req, _ := http.NewRequest(method, rs.url+"/dav/addressbooks/alice/contacts/"+uid+".vcf", strings.NewReader(body))
				req.SetBasicAuth("alice", rs.password)
				req.Header.Set("Content-Type", "text/vcard")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				puts.Add(1)
			}
		}(w)
	}
	copies := make([]string, 0, rounds)
	for r := 0; r < rounds; r++ {
		// Let writes happen between two copies (the race detector and a
		// loaded machine slow the server down), then copy at some point
		// in the middle of them.
		seen := puts.Load()
		for deadline := time.Now().Add(time.Minute); puts.Load() < seen+3; time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("the server made no writes for a minute:\n%s", rs.stderr.String())
			}
		}
		time.Sleep(time.Duration(r*17%40) * time.Millisecond)
		c := filepath.Join(t.TempDir(), "copy")
		if err := plainCopy(dir, c); err != nil {
			t.Fatalf("copy %d: %v", r, err)
		}
		copies = append(copies, c)
	}
	stop.Store(true)
	wg.Wait()
	rs.stop(t)
	if puts.Load() < int64(rounds) {
		t.Fatalf("only %d writes while copying", puts.Load())
	}
	var opened, refused int
	for r, c := range copies {
		res := pimvault(t, "verify", "--data", c)
		out := res.stdout + res.stderr
		if stackTrace(out) {
			t.Fatalf("copy %d: verify printed a stack trace:\n%s", r, res)
		}
		if res.code == 0 && strings.Contains(res.stdout, "OK") {
			opened++
			continue
		}
		if res.code != 1 || !strings.Contains(out, "pimvault rebuild") {
			t.Fatalf("copy %d: verify neither verified nor gave the rebuild advice:\n%s", r, res)
		}
		refused++
		t.Logf("copy %d refused: %s", r, strings.TrimSpace(out))
		rb := pimvault(t, "rebuild", "--data", c)
		if rb.code != 0 || stackTrace(rb.stdout+rb.stderr) {
			t.Fatalf("copy %d: rebuild after the refusal:\n%s", r, rb)
		}
		expectVerifyOK(t, c)
	}
	t.Logf("%d copies taken during %d writes: %d opened and verified, %d refused with the rebuild advice and fixed by it", rounds, puts.Load(), opened, refused)
}
