package main

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-vcard"
	"github.com/emersion/go-webdav"
	"github.com/emersion/go-webdav/carddav"
)

// runningServer is the real binary serving on a loopback port.
type runningServer struct {
	cmd      *exec.Cmd
	url      string
	password string // of the first user, when this start created it
	stderr   *syncBuffer
}

var servingAddr = regexp.MustCompile(`msg=serving addr=(\S+)`)

// startServer runs `pimvault serve` on dir and waits until it listens.
func startServer(t *testing.T, dir string, extra ...string) *runningServer {
	t.Helper()
	args := append([]string{"serve", "--addr", "127.0.0.1:0", "--data", dir}, extra...)
	cmd := exec.Command(pimvaultBin, args...)
	// stdout goes to a file, not a pipe: the child's write lands in it before
	// the child logs "serving" on stderr, so once that line is seen the
	// password line (printed before serving starts) is there to read. With a
	// pipe, a reader goroutine could still be behind.
	stdout, err := os.Create(filepath.Join(t.TempDir(), "stdout"))
	if err != nil {
		t.Fatal(err)
	}
	defer stdout.Close()
	cmd.Stdout = stdout
	rs := &runningServer{cmd: cmd, stderr: &syncBuffer{}}
	cmd.Stderr = rs.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	// Generous: under a loaded -race run a start can take many seconds; the
	// loop ends as soon as the server says it serves, or when it exits.
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		if m := servingAddr.FindStringSubmatch(rs.stderr.String()); m != nil {
			rs.url = "http://" + m[1]
			out, err := os.ReadFile(stdout.Name())
			if err != nil {
				t.Fatal(err)
			}
			if m := regexp.MustCompile(`with password (\S+)`).FindSubmatch(out); m != nil {
				rs.password = string(m[1])
			}
			return rs
		}
		if cmd.ProcessState != nil || processExited(cmd) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("server did not start: %s", rs.stderr.String())
	return nil
}

// processExited reports whether the child has already exited (without
// reaping it: Signal(0) fails once the process is gone or a zombie is
// reaped by Cleanup's Wait).
func processExited(cmd *exec.Cmd) bool {
	return cmd.Process.Signal(syscall.Signal(0)) != nil
}

// stop sends SIGTERM and checks a clean exit.
func (rs *runningServer) stop(t *testing.T) {
	t.Helper()
	rs.cmd.Process.Signal(syscall.SIGTERM)
	if err := rs.cmd.Wait(); err != nil {
		t.Fatalf("server exit after SIGTERM: %v\n%s", err, rs.stderr.String())
	}
}

// TestRealBinaryCardDAV: the first start creates a user and prints its
// password once; go-webdav's CardDAV client discovers, creates an address
// book, puts, queries, multigets and syncs; the sync token still works after a
// graceful restart.
func TestRealBinaryCardDAV(t *testing.T) {
	dir := t.TempDir()
	rs := startServer(t, dir, "--user", "carol")
	if rs.password == "" {
		t.Fatalf("first start printed no password")
	}
	ctx := context.Background()
	hc := webdav.HTTPClientWithBasicAuth(http.DefaultClient, "carol", rs.password)
	wc, _ := webdav.NewClient(hc, rs.url+"/dav/")
	principal, err := wc.FindCurrentUserPrincipal(ctx)
	if err != nil || principal != "/dav/principals/carol/" {
		t.Fatalf("principal: %q %v", principal, err)
	}
	cc, _ := carddav.NewClient(hc, rs.url)
	home, err := cc.FindAddressBookHomeSet(ctx, principal)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("MKCOL", rs.url+home+"friends/", strings.NewReader(
		`<D:mkcol xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:set><D:prop><D:resourcetype><D:collection/><C:addressbook/></D:resourcetype><D:displayname>Friends</D:displayname></D:prop></D:set></D:mkcol>`))
	resp, err := hc.Do(req)
	if err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("mkcol: %v %v", resp, err)
	}
	resp.Body.Close()
	books, err := cc.FindAddressBooks(ctx, home)
	if err != nil || len(books) != 2 {
		t.Fatalf("books: %+v %v (want the default and Friends)", books, err)
	}
	const book = "/dav/addressbooks/carol/friends/"
	first, err := cc.SyncCollection(ctx, book, &carddav.SyncQuery{})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"Dora", "Emil", "Fritz"} {
		c := vcard.Card{}
		c.SetValue(vcard.FieldVersion, "4.0")
		c.SetValue(vcard.FieldUID, strings.ToLower(name))
		c.SetValue(vcard.FieldFormattedName, name)
		if _, err := cc.PutAddressObject(ctx, book+strings.ToLower(name)+".vcf", c); err != nil {
			t.Fatalf("put %s: %v", name, err)
		}
	}
	found, err := cc.QueryAddressBook(ctx, book, &carddav.AddressBookQuery{
		DataRequest: carddav.AddressDataRequest{AllProp: true},
		PropFilters: []carddav.PropFilter{{Name: vcard.FieldFormattedName, TextMatches: []carddav.TextMatch{{Text: "mi"}}}},
	})
	if err != nil || len(found) != 1 || found[0].Card.Value(vcard.FieldFormattedName) != "Emil" {
		t.Fatalf("query FN contains mi: %+v %v", found, err)
	}
	multi, err := cc.MultiGetAddressBook(ctx, book, &carddav.AddressBookMultiGet{Paths: []string{book + "dora.vcf", book + "fritz.vcf"}})
	if err != nil || len(multi) != 2 {
		t.Fatalf("multiget: %d %v", len(multi), err)
	}
	delta, err := cc.SyncCollection(ctx, book, &carddav.SyncQuery{SyncToken: first.SyncToken})
	if err != nil || len(delta.Updated) != 3 {
		t.Fatalf("sync: %+v %v", delta, err)
	}
	rs.stop(t)

	rs2 := startServer(t, dir)
	if rs2.password != "" {
		t.Fatalf("a restart printed a new password")
	}
	hc2 := webdav.HTTPClientWithBasicAuth(http.DefaultClient, "carol", rs.password)
	cc2, _ := carddav.NewClient(hc2, rs2.url)
	after, err := cc2.SyncCollection(ctx, book, &carddav.SyncQuery{SyncToken: delta.SyncToken})
	if err != nil || len(after.Updated)+len(after.Deleted) != 0 || after.SyncToken != delta.SyncToken {
		t.Fatalf("sync after restart with the old token: %+v %v", after, err)
	}
	got, err := cc2.GetAddressObject(ctx, book+"emil.vcf")
	if err != nil || got.Card.Value(vcard.FieldFormattedName) != "Emil" {
		t.Fatalf("get after restart: %+v %v", got, err)
	}
	rs2.stop(t)
}
