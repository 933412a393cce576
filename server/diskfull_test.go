package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/pimvault/pimvault/account"
	"github.com/pimvault/pimvault/storage"
)

// TestDiskFullAnswers507AndRecovers: on a real full filesystem (a small
// tmpfs) a PUT gets 507 with Retry-After and a body saying the change was
// not saved, reads keep working, and once space is freed the same PUT with
// If-None-Match: * is created (the refused one was not kept) without a
// restart.
func TestDiskFullAnswers507AndRecovers(t *testing.T) {
	mnt := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=4m,mode=0700", "tmpfs", mnt).CombinedOutput(); err != nil {
		t.Skipf("disk-full tests need to mount a small tmpfs (run as root where mount is permitted, as CI does): mount: %v: %s", err, strings.TrimSpace(string(out)))
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", mnt).CombinedOutput(); err != nil {
			t.Errorf("umount: %v: %s", err, out)
		}
	})
	st, err := storage.Open(filepath.Join(mnt, "data"), storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := account.AddUser(context.Background(), st, "alice", testPassword); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(New(st, Config{FailedLoginDelay: 10 * time.Millisecond}, slog.New(slog.NewTextHandler(io.Discard, nil))).Handler())
	defer srv.Close()
	e := &testEnv{store: st, srv: srv}
	const book = "/dav/addressbooks/alice/contacts/"
	hdr := map[string]string{"Content-Type": "text/vcard", "If-None-Match": "*"}
	if resp, _ := e.do(t, "alice", "PUT", book+"before.vcf", hdr, testCard("before", "Before")); resp.StatusCode != http.StatusCreated {
		t.Fatalf("PUT before the disk is full: %d", resp.StatusCode)
	}

	filler := filepath.Join(mnt, "filler")
	f, err := os.Create(filler)
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := f.Write(make([]byte, 4096)); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatal(err)
			}
			break
		}
	}
	f.Close()

	note := strings.Repeat("NOTE:filling\r\n", 2000)
	body := func(uid string) string { return strings.Replace(testCard(uid, uid), "END:VCARD", note+"END:VCARD", 1) }
	refused := ""
	for i := 0; i < 50 && refused == ""; i++ {
		name := fmt.Sprintf("full-%d", i)
		resp, msg := e.do(t, "alice", "PUT", book+name+".vcf", hdr, body(name))
		switch resp.StatusCode {
		case http.StatusCreated:
		case http.StatusInsufficientStorage:
			retry, err := strconv.Atoi(resp.Header.Get("Retry-After"))
			if err != nil || retry <= 0 {
				t.Fatalf("507 without a usable Retry-After: %q", resp.Header.Get("Retry-After"))
			}
			if !strings.Contains(msg, "disk is full") || !strings.Contains(msg, "not saved") {
				t.Fatalf("507 body: %q", msg)
			}
			refused = name
		default:
			t.Fatalf("PUT on a full disk: %d %s", resp.StatusCode, msg)
		}
	}
	if refused == "" {
		t.Fatal("no PUT was refused on a full disk")
	}
	if resp, got := e.do(t, "alice", "GET", book+"before.vcf", nil, ""); resp.StatusCode != http.StatusOK || got != testCard("before", "Before") {
		t.Fatalf("GET on a full disk: %d", resp.StatusCode)
	}
	if resp, _ := e.do(t, "alice", "GET", book+refused+".vcf", nil, ""); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("GET of the refused object: %d, want 404", resp.StatusCode)
	}

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	if resp, msg := e.do(t, "alice", "PUT", book+refused+".vcf", hdr, body(refused)); resp.StatusCode != http.StatusCreated {
		t.Fatalf("retried PUT with If-None-Match: * after space was freed: %d %s", resp.StatusCode, msg)
	}
	rep, err := st.Verify(context.Background())
	if err != nil || !rep.OK() {
		t.Fatalf("verify: %v %v", err, rep)
	}
}
