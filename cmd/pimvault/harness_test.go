package main

// The integration harness of cmd/pimvault: every helper the tests of this
// package share, in one place.
//
//   - the binary: TestMain builds pimvault once (with -race when the tests
//     run with it); pimvault and pimvaultStdin run it as a CLI;
//   - data directories: writeStore fills one through the storage package,
//     status and expectVerifyOK read it back through the binary, copyTree
//     copies one (or one file of it) while no server holds it;
//   - a server: startServer runs `pimvault serve` on a loopback port,
//     davDo talks HTTP to it;
//   - gates: skipIfShort skips a slow test under `go test -short` (make
//     test-short), requireTools skips a real-client test whose program is
//     not installed, or fails it when clientsRequired (CI);
//   - devices: testDevice is a real replica (device.Replica) with the device
//     sync engine, for the multi-device scenarios.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pimvault/pimvault/device"
	"github.com/pimvault/pimvault/storage"
)

var pimvaultBin string

func TestMain(m *testing.M) {
	os.Exit(buildAndRun(m))
}

func buildAndRun(m *testing.M) int {
	tmp, err := os.MkdirTemp("", "pimvault-cli-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(tmp)
	pimvaultBin = filepath.Join(tmp, "pimvault")
	args := []string{"build", "-o", pimvaultBin}
	if raceEnabled() {
		args = append(args, "-race") // the child is checked too when the tests are
	}
	cmd := exec.Command(goTool(), append(args, ".")...)
	if out, err := cmd.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "go build pimvault: %v\n%s", err, out)
		return 1
	}
	defer closeBrowser() // the web browser tests' chromium, if one started
	return m.Run()
}

func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return filepath.Join(runtime.GOROOT(), "bin", "go")
}

func raceEnabled() bool {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, s := range bi.Settings {
		if s.Key == "-race" {
			return s.Value == "true"
		}
	}
	return false
}

// cliResult is what one run of the binary did.
type cliResult struct {
	code           int
	stdout, stderr string
	took           time.Duration
}

func (r cliResult) String() string {
	return fmt.Sprintf("exit %d after %v\nstdout:\n%s\nstderr:\n%s", r.code, r.took.Round(time.Millisecond), r.stdout, r.stderr)
}

// pimvault runs the binary with args and waits for it (at most a minute).
func pimvault(t *testing.T, args ...string) cliResult {
	t.Helper()
	return pimvaultStdin(t, "", args...)
}

// pimvaultStdin runs the binary with args and stdin and waits for it (at
// most a minute), failing the test on a timeout or a data race.
func pimvaultStdin(t *testing.T, stdin string, args ...string) cliResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, pimvaultBin, args...)
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	res := cliResult{stdout: stdout.String(), stderr: stderr.String(), took: time.Since(start)}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		res.code = ee.ExitCode()
	default:
		t.Fatalf("pimvault %s: %v", strings.Join(args, " "), err)
	}
	if ctx.Err() != nil {
		t.Fatalf("pimvault %s did not finish within a minute:\n%s", strings.Join(args, " "), res)
	}
	if strings.Contains(res.stderr, "DATA RACE") {
		t.Errorf("pimvault %s: the race detector found a race:\n%s", strings.Join(args, " "), res.stderr)
	}
	return res
}

// writeStore creates a store in dir with a principal, a collection and n
// contacts, and closes it. It returns the head sequence.
func writeStore(t *testing.T, dir string, opts storage.Options, n int) uint64 {
	t.Helper()
	s, err := storage.Open(dir, opts)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	ctx := context.Background()
	commit := func(c storage.Change) {
		t.Helper()
		if _, err := s.Commit(ctx, c); err != nil {
			t.Fatalf("commit %v %s: %v", c.Op, c.Name, err)
		}
	}
	commit(storage.Change{Op: storage.OpPutPrincipal, Principal: "alice", Body: []byte(`{"name":"Alice"}`)})
	commit(storage.Change{Op: storage.OpCreateCollection, Principal: "alice", Collection: "contacts", Kind: "addressbook",
		Props: map[string][]byte{"DAV:displayname": []byte("Contacts")}})
	for i := 0; i < n; i++ {
		uid := fmt.Sprintf("contact-%04d", i)
		body := fmt.Sprintf("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:%s\r\nFN:Person %d\r\nNOTE:%s\r\nEND:VCARD\r\n", uid, i, strings.Repeat("x", i%300))
		commit(storage.Change{Op: storage.OpPut, Principal: "alice", Collection: "contacts", Name: uid + ".vcf",
			Body: []byte(body), Meta: storage.ObjectMeta{UID: uid, Component: "VCARD"}})
		if i%10 == 9 {
			commit(storage.Change{Op: storage.OpDelete, Principal: "alice", Collection: "contacts", Name: fmt.Sprintf("contact-%04d.vcf", i-5)})
		}
	}
	head := s.Head()
	if err := s.Close(); err != nil {
		t.Fatalf("close store: %v", err)
	}
	return head
}

var (
	stateHashRe = regexp.MustCompile(`(?m)^state hash: ([0-9a-f]{64})$`)
	headRe      = regexp.MustCompile(`(?m)^head sequence: (\d+)$`)
)

// status runs 'pimvault status' and returns the state hash and head it prints.
func status(t *testing.T, dir string) (hash, head string) {
	t.Helper()
	res := pimvault(t, "status", "--data", dir)
	if res.code != 0 {
		t.Fatalf("pimvault status: want exit 0, got\n%s", res)
	}
	h, s := stateHashRe.FindStringSubmatch(res.stdout), headRe.FindStringSubmatch(res.stdout)
	if h == nil || s == nil {
		t.Fatalf("pimvault status printed no state hash or head:\n%s", res)
	}
	return h[1], s[1]
}

func expectVerifyOK(t *testing.T, dir string) {
	t.Helper()
	res := pimvault(t, "verify", "--data", dir)
	if res.code != 0 || !strings.Contains(res.stdout, "OK") {
		t.Fatalf("pimvault verify: want exit 0 and OK, got\n%s", res)
	}
}

// syncBuffer is a bytes.Buffer safe for a child process writing while the
// test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

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
	args := append([]string{"serve", "--init", "--addr", "127.0.0.1:0", "--data", dir}, extra...)
	return startServerCmd(t, exec.Command(pimvaultBin, args...))
}

// startServerCmd starts cmd, a `pimvault serve` (directly or through a
// shell), and waits until it says it serves.
func startServerCmd(t *testing.T, cmd *exec.Cmd) *runningServer {
	t.Helper()
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

// stop sends SIGTERM and checks a clean exit.
func (rs *runningServer) stop(t *testing.T) {
	t.Helper()
	rs.cmd.Process.Signal(syscall.SIGTERM)
	if err := rs.cmd.Wait(); err != nil {
		t.Fatalf("server exit after SIGTERM: %v\n%s", err, rs.stderr.String())
	}
}

// davDo sends one request as user and returns the answer with its body read.
func davDo(t *testing.T, rs *runningServer, user, pw, method, path string, hdr map[string]string, body string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, rs.url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(user, pw)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// skipIfShort skips a slow test under `go test -short` (make test-short);
// why says what the test runs, so the skip message explains itself.
// make test runs every test.
func skipIfShort(t *testing.T, why string) {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: skips " + why + "; make test runs it")
	}
}

// clientsRequired reports whether the real-client tests must run: under CI
// (CI set and not false/0) or PIMVAULT_REQUIRE_CLIENTS=1, which .ci/run
// sets. Then a missing client fails its test instead of skipping it.
func clientsRequired() bool {
	ci := os.Getenv("CI")
	return (ci != "" && ci != "false" && ci != "0") || os.Getenv("PIMVAULT_REQUIRE_CLIENTS") == "1"
}

// requireClient skips the test, or fails it when clientsRequired, because
// a real client is missing; msg says which and how to install it, detail is
// what the probe printed (may be empty).
func requireClient(t *testing.T, msg, detail string) {
	t.Helper()
	if clientsRequired() {
		t.Fatalf("%s (CI or PIMVAULT_REQUIRE_CLIENTS=1 is set: the real-client tests must run)\n%s", msg, detail)
	}
	t.Skip(msg)
}

// requireTools is requireClient for each named program not on PATH (the
// Debian package has the program's name). Real-client tests call it after
// skipIfShort.
func requireTools(t *testing.T, names ...string) {
	t.Helper()
	for _, name := range names {
		if _, err := exec.LookPath(name); err != nil {
			requireClient(t, fmt.Sprintf("%s not installed: apt-get install -y %s; .ci/run installs it", name, name), "")
		}
	}
}

// The scenario harness: real replicas (device.Replica in t.TempDir()) and
// the device sync engine, against the real pimvault binary.

// testDevice is one device of a scenario.
type testDevice struct {
	name string
	dir  string
	r    *device.Replica
	eng  *device.Engine
}

// newTestDevice initialises a replica for user at url.
func newTestDevice(t *testing.T, name, url, user, password string) *testDevice {
	t.Helper()
	dir := filepath.Join(t.TempDir(), name)
	r, err := device.Init(dir, device.Config{Server: url, User: user, Password: password, DeviceID: name})
	if err != nil {
		t.Fatalf("init %s: %v", name, err)
	}
	d := &testDevice{name: name, dir: dir, r: r}
	d.connect(t, url)
	t.Cleanup(func() { d.r.Close() })
	return d
}

// connect points the engine at url (a restarted server listens elsewhere).
func (d *testDevice) connect(t *testing.T, url string) {
	t.Helper()
	cfg := d.r.Config()
	cfg.Server = url
	tr, err := device.NewHTTPTransport(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	d.eng = &device.Engine{Replica: d.r, Transport: tr, Log: slog.New(slog.DiscardHandler),
		Backoff: &device.Backoff{Base: 10 * time.Millisecond, Max: 200 * time.Millisecond, MaxRetryAfter: 100 * time.Millisecond, Attempts: 4}}
}

// sync runs one sync and fails the test on an error or an item error.
func (d *testDevice) sync(t *testing.T) *device.Report {
	t.Helper()
	rep, err := d.eng.Sync(context.Background())
	if err != nil {
		t.Fatalf("%s: sync: %v (report %+v)", d.name, err, rep)
	}
	if len(rep.Errors) > 0 {
		t.Fatalf("%s: sync reported errors: %v", d.name, rep.Errors)
	}
	return rep
}

// coll returns the collection named name ("contacts").
func (d *testDevice) coll(t *testing.T, name string) device.Collection {
	t.Helper()
	var c device.Collection
	err := d.r.View(func(tx *device.Txn) (err error) { c, err = tx.FindCollection(name); return err })
	if err != nil {
		t.Fatalf("%s: %v", d.name, err)
	}
	return c
}

// local runs one local change (an add, edit or delete as the user of the
// device would make it) on collection coll and fails the test on an error.
func (d *testDevice) local(t *testing.T, what, coll string, change func(*device.Txn, device.Collection) error) {
	t.Helper()
	err := d.r.Update(func(tx *device.Txn) error {
		c, err := tx.FindCollection(coll)
		if err != nil {
			return err
		}
		return change(tx, c)
	})
	if err != nil {
		t.Fatalf("%s: %s: %v", d.name, what, err)
	}
}

func (d *testDevice) add(t *testing.T, coll string, body string) (it device.Item) {
	t.Helper()
	d.local(t, "add", coll, func(tx *device.Txn, c device.Collection) (err error) {
		it, err = tx.AddLocal(c, []byte(body))
		return err
	})
	return it
}

func (d *testDevice) edit(t *testing.T, coll, key, body string) {
	t.Helper()
	d.local(t, "edit "+key, coll, func(tx *device.Txn, c device.Collection) error {
		_, err := tx.EditLocal(c, key, []byte(body))
		return err
	})
}

func (d *testDevice) remove(t *testing.T, coll, key string) {
	t.Helper()
	d.local(t, "delete "+key, coll, func(tx *device.Txn, c device.Collection) error {
		_, err := tx.DeleteLocal(c, key)
		return err
	})
}

// state is href → body of every item of every collection.
func (d *testDevice) state(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := d.r.View(func(tx *device.Txn) error {
		cs, err := tx.Collections()
		if err != nil {
			return err
		}
		for _, c := range cs {
			items, err := tx.Items(c.Href)
			if err != nil {
				return err
			}
			for _, it := range items {
				out[it.Href] = string(it.Body)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// vcardBody is a vCard with CRLF line ends.
func vcardBody(uid, fn, note string) string {
	return "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:" + uid + "\r\nFN:" + fn + "\r\nNOTE:" + note + "\r\nEND:VCARD\r\n"
}

// syncAll syncs every device rounds times, in order.
func syncAll(t *testing.T, rounds int, devs ...*testDevice) {
	t.Helper()
	for i := 0; i < rounds; i++ {
		for _, d := range devs {
			d.sync(t)
		}
	}
}

// requireConverged checks that every device holds the same items, byte for
// byte, with no UID twice in a collection, and returns that state.
func requireConverged(t *testing.T, devs ...*testDevice) map[string]string {
	t.Helper()
	want := devs[0].state(t)
	for _, d := range devs[1:] {
		got := d.state(t)
		if diff := diffStates(want, got); diff != "" {
			t.Fatalf("%s and %s differ:\n%s", devs[0].name, d.name, diff)
		}
	}
	uids := map[string]string{}
	for href, body := range want {
		uid, err := device.ParseUID(device.AddressBook, []byte(body))
		if err != nil {
			uid, err = device.ParseUID(device.Calendar, []byte(body))
		}
		if err != nil {
			t.Fatalf("%s: %v", href, err)
		}
		key := href[:strings.LastIndexByte(href, '/')] + " " + uid
		if other, dup := uids[key]; dup {
			t.Fatalf("duplicate UID %s at %s and %s", uid, other, href)
		}
		uids[key] = href
	}
	return want
}

func diffStates(a, b map[string]string) string {
	var lines []string
	for k, v := range a {
		if w, ok := b[k]; !ok {
			lines = append(lines, "only in the first: "+k)
		} else if v != w {
			lines = append(lines, fmt.Sprintf("differs: %s\n  %q\n  %q", k, v, w))
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			lines = append(lines, "only in the second: "+k)
		}
	}
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}

// requireRecoveryProtocol fails a scenario whose server does not answer a
// device with X-Pimvault-Epoch: every scenario relies on the server side of
// the recovery protocol, so its absence is a failure, never a skip.
// The probe uses the id of a device of the scenario, so that it adds no
// device the server would wait for before it closes a recovery.
func requireRecoveryProtocol(t *testing.T, url, user, password, deviceID string) {
	t.Helper()
	req, _ := http.NewRequest("PROPFIND", url+"/dav/principals/"+user+"/", nil)
	req.SetBasicAuth(user, password)
	req.Header.Set("Depth", "0")
	req.Header.Set(device.HeaderDevice, deviceID)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get(device.HeaderEpoch) == "" {
		t.Fatalf("PROPFIND as device %s: %s, without %s: the server does not speak the recovery protocol", deviceID, resp.Status, device.HeaderEpoch)
	}
}

// copyTree copies the file or directory tree src to dst, keeping permission
// bits and leaving out sockets and other special files (admin.sock). The
// server holding src must be stopped.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.Walk(src, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if fi.IsDir() {
			return os.MkdirAll(target, fi.Mode().Perm()|0o700)
		}
		if !fi.Mode().IsRegular() {
			return nil // sockets and the like
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, fi.Mode().Perm())
	})
	if err != nil {
		t.Fatalf("copy %s: %v", src, err)
	}
}
