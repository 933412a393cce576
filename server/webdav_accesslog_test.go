package server

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pimvault/pimvault/account"
	"github.com/pimvault/pimvault/storage"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestAccessLog: with Config.AccessLog each request gives one line with its
// method, path, status, bytes, duration and user; without it, none.
func TestAccessLog(t *testing.T) {
	st, err := storage.Open(t.TempDir(), storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := account.AddUser(context.Background(), st, "alice", testPassword); err != nil {
		t.Fatal(err)
	}
	for _, on := range []bool{true, false} {
		var buf lockedBuffer
		log := slog.New(slog.NewTextHandler(&buf, nil))
		srv := httptest.NewServer(New(st, Config{AccessLog: on, FailedLoginDelay: time.Millisecond}, log).Handler())
		req, _ := http.NewRequest("PUT", srv.URL+"/dav/files/alice/hello.txt", strings.NewReader("hello"))
		req.SetBasicAuth("alice", testPassword)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		req, _ = http.NewRequest("GET", srv.URL+"/dav/files/alice/hello.txt", nil)
		req.SetBasicAuth("alice", testPassword)
		resp, err = http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		resp, err = http.Get(srv.URL + "/dav/files/alice/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		srv.Close()
		var lines []string
		for _, l := range strings.Split(buf.String(), "\n") {
			if strings.Contains(l, "msg=request") {
				lines = append(lines, l)
			}
		}
		if !on {
			if len(lines) != 0 {
				t.Fatalf("access log off, got %q", lines)
			}
			continue
		}
		if len(lines) != 3 {
			t.Fatalf("access log: %d lines, want 3:\n%s", len(lines), buf.String())
		}
		for i, want := range []string{
			"method=PUT path=/dav/files/alice/hello.txt status=201 bytes=0 ",
			"method=GET path=/dav/files/alice/hello.txt status=200 bytes=5 ",
			"method=GET path=/dav/files/alice/ status=401 ",
		} {
			if !strings.Contains(lines[i], want) || !strings.Contains(lines[i], "duration=") {
				t.Errorf("line %d %q, want it to contain %q and a duration", i, lines[i], want)
			}
		}
		if !strings.Contains(lines[1], "user=alice") || !strings.Contains(lines[2], `user=""`) {
			t.Errorf("users in the access log: %q, %q", lines[1], lines[2])
		}
	}
}
