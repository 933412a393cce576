package storage

// The crash acceptance test: a child process (this test binary, re-executed)
// writes with 16 concurrent writers and is killed with SIGKILL at a random
// moment, 20 times over one data directory. After each kill the store must
// reopen, hold every acknowledged write byte for byte, hold no half-applied or
// invented change, and verify.
//
// Each writer owns its object names (w<writer>-<i>.vcf in two collections)
// and has one change in flight at a time, so after a kill the names of a
// writer must hold exactly the state after its last acknowledged change, or
// the state after the one change it had started but not seen acknowledged
// (which may or may not have landed). A move touches two names; both must
// show it or neither.
//
// The child reports on stdout, one line per event, each written with a single
// write(2) so that what it wrote before the kill reaches the pipe whole:
// "start" before Commit and "ack" after it returned, with an op id; bodies
// are generated from a seed (crashBody), so the parent can recompute them.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const (
	crashChildDirEnv   = "PIMVAULT_CRASH_CHILD_DIR"
	crashChildRoundEnv = "PIMVAULT_CRASH_CHILD_ROUND"
	crashLinePrefix    = "CRASHLOG "
	crashRounds        = 20
	crashWriters       = 16
	crashNamesPerCol   = 6
	crashPrincipal     = "alice"
	crashMaxKillDelay  = 150 * time.Millisecond
	crashChildTimeout  = 30 * time.Second // the child gives up (and the parent fails) after this
)

var crashCollections = [2]string{"contacts", "archive"}

// crashOptions uses a small segment size so that segments are sealed and
// started while the child is being killed.
func crashOptions() Options { return Options{SegmentSize: 64 << 10} }

func crashName(w, i int) string { return fmt.Sprintf("w%02d-%d.vcf", w, i) }

// crashOwner returns the writer that owns an object name.
func crashOwner(name string) (int, bool) {
	var w, i int
	if n, err := fmt.Sscanf(name, "w%02d-%d.vcf", &w, &i); err != nil || n != 2 {
		return 0, false
	}
	if w < 0 || w >= crashWriters || i < 0 || i >= crashNamesPerCol || crashName(w, i) != name {
		return 0, false
	}
	return w, true
}

func crashUID(seed uint64) string { return fmt.Sprintf("crash-%016x", seed) }

// crashBody is the body written for seed: a vCard of 100 B to 20 KiB (sizes
// log-uniform, so most are small), the same bytes every time.
func crashBody(seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	size := int(100 * math.Exp(r.Float64()*math.Log(20<<10/100.0)))
	const trailer = "\r\nEND:VCARD\r\n"
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 ,"
	b := fmt.Appendf(make([]byte, 0, size+len(trailer)), "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:%s\r\nFN:W%d\r\nNOTE:", crashUID(seed), seed>>32&0xff)
	for len(b) < size-len(trailer) {
		for v, k := r.Uint64(), 0; k < 10; v, k = v>>6, k+1 {
			b = append(b, alphabet[v&63])
		}
	}
	return append(b, trailer...)
}

func crashETag(seed uint64) string { return ETagOf(crashBody(seed)) }

// TestCrashChild is the child process of TestCrashRecovery.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashChildDirEnv)
	if dir == "" {
		t.Skip("helper process for TestCrashRecovery; runs only when re-executed by it")
	}
	round, err := strconv.ParseUint(os.Getenv(crashChildRoundEnv), 10, 8)
	out := &crashOut{}
	if err != nil || round == 0 {
		out.fatal(fmt.Errorf("%s=%q: want a round number from 1 to 255", crashChildRoundEnv, os.Getenv(crashChildRoundEnv)))
	}
	// A child whose parent is gone dies of SIGPIPE at its next line; this
	// bounds one that can no longer write.
	time.AfterFunc(crashChildTimeout, func() { out.fatal(errors.New("child not killed in time")) })
	crashChild(dir, round, out)
}

// crashOut writes the child's lines, each with one write(2) on unbuffered
// stdout, so a kill never tears a line that was written.
type crashOut struct{ mu sync.Mutex }

func (o *crashOut) emit(ev crashEvent) {
	b, err := json.Marshal(ev)
	if err != nil {
		panic(err)
	}
	line := append([]byte(crashLinePrefix), append(b, '\n')...)
	o.mu.Lock()
	defer o.mu.Unlock()
	if _, err := os.Stdout.Write(line); err != nil {
		os.Exit(5)
	}
}

func (o *crashOut) fatal(err error) {
	o.emit(crashEvent{Ev: "fail", Err: err.Error()})
	os.Exit(3)
}

func crashChild(dir string, round uint64, out *crashOut) {
	ctx := context.Background()
	s, err := Open(dir, crashOptions())
	if err != nil {
		out.fatal(fmt.Errorf("open: %w", err))
	}
	if _, err := s.Commit(ctx, Change{Op: OpPutPrincipal, Principal: crashPrincipal, Body: []byte(`{"name":"alice"}`)}); err != nil {
		out.fatal(fmt.Errorf("put principal: %w", err))
	}
	states := make([]crashState, crashWriters)
	for w := range states {
		states[w] = crashState{}
	}
	for _, col := range crashCollections {
		_, err := s.Commit(ctx, Change{Op: OpCreateCollection, Principal: crashPrincipal, Collection: col, Kind: "addressbook"})
		if err != nil && !errors.Is(err, ErrExists) {
			out.fatal(fmt.Errorf("create collection %s: %w", col, err))
		}
		err = s.Objects(crashPrincipal, col, false, func(o Object) error {
			w, ok := crashOwner(o.Name)
			seed, perr := strconv.ParseUint(strings.TrimPrefix(o.Meta.UID, "crash-"), 16, 64)
			if !ok || perr != nil {
				return fmt.Errorf("object %s/%s (uid %q) was not written by this test", col, o.Name, o.Meta.UID)
			}
			states[w][crashKey{col, o.Name}] = seed
			return nil
		})
		if err != nil {
			out.fatal(fmt.Errorf("list %s: %w", col, err))
		}
	}
	out.emit(crashEvent{Ev: "ready", Seq: s.Head()})
	var wg sync.WaitGroup
	for w := range crashWriters {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(round, uint64(w)))
			st := states[w]
			for n := uint64(1); ; n++ {
				ev, c := nextCrashOp(r, w, st, round<<40|uint64(w)<<32|n)
				out.emit(ev)
				res, err := s.Commit(ctx, c)
				if err != nil {
					out.fatal(fmt.Errorf("writer %d: %v: %w", w, &ev, err))
				}
				st = ev.applyTo(st)
				out.emit(crashEvent{Ev: "ack", ID: ev.ID, Writer: w, ETag: res.ETag, Seq: res.Seq, NoOp: res.NoOp})
			}
		})
	}
	wg.Wait()
}

// nextCrashOp picks writer w's next change given what its names hold: mostly
// puts (new objects and overwrites), some identical re-puts (no-ops),
// deletes and moves to the other collection, each with If-Match or
// If-None-Match so that a wrong idea of the state fails loudly.
func nextCrashOp(r *rand.Rand, w int, st crashState, id uint64) (crashEvent, Change) {
	var present []crashKey
	for _, col := range crashCollections {
		for i := range crashNamesPerCol {
			if k := (crashKey{col, crashName(w, i)}); st[k] != 0 {
				present = append(present, k)
			}
		}
	}
	ev := crashEvent{Ev: "start", ID: id, Writer: w}
	base := Change{Principal: crashPrincipal}
	p := r.IntN(100)
	if len(present) > 0 && p < 35 {
		k := present[r.IntN(len(present))]
		ev.Col, ev.Name, ev.ETag = k.col, k.name, crashETag(st[k])
		base.Collection, base.Name, base.IfMatch = k.col, k.name, ev.ETag
		switch {
		case p < 5:
			ev.Op, ev.Seed = "put", st[k]
			base.Op, base.Body, base.Meta = OpPut, crashBody(ev.Seed), ObjectMeta{UID: crashUID(ev.Seed), Component: "VCARD"}
			return ev, base
		case p < 20:
			ev.Op, base.Op = "delete", OpDelete
			return ev, base
		}
		other := crashCollections[0]
		if k.col == other {
			other = crashCollections[1]
		}
		to := crashKey{other, crashName(w, r.IntN(crashNamesPerCol))}
		if st[to] == 0 {
			ev.Op, ev.ToCol, ev.ToName = "move", to.col, to.name
			base.Op, base.ToCollection, base.ToName = OpMove, to.col, to.name
			return ev, base
		}
	}
	col := crashCollections[0]
	if r.IntN(4) == 0 {
		col = crashCollections[1]
	}
	k := crashKey{col, crashName(w, r.IntN(crashNamesPerCol))}
	ev.Op, ev.Col, ev.Name, ev.Seed, ev.ETag = "put", k.col, k.name, id, crashETag(id)
	c := Change{Op: OpPut, Principal: crashPrincipal, Collection: k.col, Name: k.name,
		Body: crashBody(id), Meta: ObjectMeta{UID: crashUID(id), Component: "VCARD"}}
	if old := st[k]; old != 0 {
		c.IfMatch = crashETag(old)
	} else {
		c.IfNoneMatch = true
	}
	return ev, c
}

// crashRun is what the parent saw of one child.
type crashRun struct {
	ready     bool
	readyHead uint64
	starts    int
	acks      int
	partial   bool // a last line cut short by the kill (ignored)
	problems  []string
	noise     []string // lines that are not events
}

// readCrashChild applies the child's lines to m until EOF and closes enough
// once the child has acknowledged threshold writes.
func readCrashChild(r io.Reader, m *crashModel, run *crashRun, threshold int, enough chan<- struct{}) {
	br := bufio.NewReader(r)
	signalled := false
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			run.partial = line != ""
			if !signalled {
				close(enough)
			}
			return
		}
		text, ok := strings.CutPrefix(line, crashLinePrefix)
		if !ok {
			if len(run.noise) < 20 {
				run.noise = append(run.noise, strings.TrimSpace(line))
			}
			continue
		}
		var ev crashEvent
		if err := json.Unmarshal([]byte(text), &ev); err != nil {
			run.problems = append(run.problems, fmt.Sprintf("bad line %q: %v", text, err))
			continue
		}
		switch ev.Ev {
		case "ready":
			run.ready, run.readyHead = true, ev.Seq
		case "start":
			run.starts++
			err = m.start(&ev)
		case "ack":
			run.acks++
			err = m.ack(&ev)
		case "fail":
			err = fmt.Errorf("child failed: %s", ev.Err)
		default:
			err = fmt.Errorf("unknown event %q", ev.Ev)
		}
		if err != nil {
			run.problems = append(run.problems, err.Error())
		}
		if !signalled && (run.acks >= threshold || len(run.problems) > 0) {
			signalled = true
			close(enough)
		}
	}
}

// runCrashChild starts the child on dir, lets it acknowledge some writes,
// kills it with SIGKILL after a random delay and returns once it is dead and
// all its lines are read.
func runCrashChild(t *testing.T, dir string, round int, m *crashModel, rng *rand.Rand) *crashRun {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$")
	cmd.Env = append(os.Environ(), crashChildDirEnv+"="+dir, crashChildRoundEnv+"="+strconv.Itoa(round))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start child: %v", err)
	}
	run := &crashRun{}
	enough, done := make(chan struct{}), make(chan struct{})
	threshold := 1 + rng.IntN(64)
	go func() {
		defer close(done)
		readCrashChild(stdout, m, run, threshold, enough)
	}()
	killed := false
	defer func() {
		if !killed {
			cmd.Process.Kill()
			<-done
			cmd.Wait()
		}
	}()

	select {
	case <-enough:
	case <-time.After(crashChildTimeout):
		t.Fatalf("round %d: the child acknowledged no writes in %v; stderr:\n%s", round, crashChildTimeout, &stderr)
	}
	time.Sleep(time.Duration(rng.Int64N(int64(crashMaxKillDelay) + 1)))
	killErr := cmd.Process.Kill()
	killed = true
	<-done // stdout reaches EOF once the child is dead
	waitErr := cmd.Wait()
	if len(run.problems) > 0 {
		t.Fatalf("round %d: %s\nchild stderr:\n%s", round, strings.Join(run.problems, "\n"), &stderr)
	}
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); killErr != nil || !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("round %d: child ended with %v (kill: %v), want death by SIGKILL; output %q; stderr:\n%s", round, waitErr, killErr, run.noise, &stderr)
	}
	if strings.Contains(stderr.String(), "DATA RACE") || strings.Contains(stderr.String(), "panic:") {
		t.Fatalf("round %d: child stderr:\n%s", round, &stderr)
	}
	if !run.ready {
		t.Fatalf("round %d: the child never reported ready; output %q; stderr:\n%s", round, run.noise, &stderr)
	}
	return run
}

// checkCrashRecovery reopens the store after a kill and checks it against
// the model; it then makes the model's state what the store holds. It
// returns the head and how many in-flight changes landed and were lost.
func checkCrashRecovery(t *testing.T, dir string, round int, m *crashModel, prevHead uint64) (head uint64, landed, lost int) {
	t.Helper()
	s, err := Open(dir, crashOptions())
	if err != nil {
		t.Fatalf("round %d: reopen after the kill: %v", round, err)
	}
	defer func() {
		if err := s.Close(); err != nil {
			t.Errorf("round %d: close: %v", round, err)
		}
	}()
	head = s.Head()
	if head < m.maxAcked || head < prevHead {
		t.Errorf("round %d: head after reopen is %d, want at least %d (highest acknowledged) and %d (head before this round)", round, head, m.maxAcked, prevHead)
	}

	var got [crashWriters]crashState
	for w := range got {
		got[w] = crashState{}
	}
	for _, col := range crashCollections {
		n := 0
		err := s.Objects(crashPrincipal, col, true, func(o Object) error {
			n++
			w, ok := crashOwner(o.Name)
			if !ok {
				t.Errorf("round %d: object %s/%s: no writer writes that name (invented)", round, col, o.Name)
				return nil
			}
			if etag := ETagOf(o.Body); o.ETag != etag {
				t.Errorf("round %d: object %s/%s: stored etag %s, but its %d-byte body has etag %s (torn body)", round, col, o.Name, o.ETag, len(o.Body), etag)
				return nil
			}
			seed, ok := m.etagSeed[o.ETag]
			if !ok {
				t.Errorf("round %d: object %s/%s: its body (etag %s, %d bytes) is not one any started put wrote", round, col, o.Name, o.ETag, len(o.Body))
				return nil
			}
			if want := crashBody(seed); !bytes.Equal(o.Body, want) || o.Meta.UID != crashUID(seed) {
				t.Errorf("round %d: object %s/%s: got uid %q and %d bytes, want uid %q and the %d bytes of seed %x", round, col, o.Name, o.Meta.UID, len(o.Body), crashUID(seed), len(want), seed)
				return nil
			}
			got[w][crashKey{col, o.Name}] = seed
			return nil
		})
		if err != nil {
			t.Fatalf("round %d: list %s: %v", round, col, err)
		}
		c, err := s.Collection(crashPrincipal, col)
		if err != nil || c.Count != int64(n) {
			t.Errorf("round %d: collection %s: count %d (err %v), want %d listed objects", round, col, c.Count, err, n)
		}
	}

	for w := range crashWriters {
		want, p := m.state[w], m.pending[w]
		switch {
		case maps.Equal(got[w], want):
			if p != nil {
				lost++
			}
		case p != nil && maps.Equal(got[w], p.applyTo(want)):
			landed++
		case p != nil:
			t.Errorf("round %d, writer %d: after reopen the store holds\n\t%v\nwant the state after the last acknowledged change\n\t%v\nor, if the in-flight %v landed whole,\n\t%v",
				round, w, got[w], want, p, p.applyTo(want))
		default:
			t.Errorf("round %d, writer %d: after reopen the store holds\n\t%v\nwant the state after the last acknowledged change (nothing was in flight)\n\t%v", round, w, got[w], want)
		}
		for k, seed := range got[w] {
			o, err := s.Get(crashPrincipal, k.col, k.name)
			if err != nil || !bytes.Equal(o.Body, crashBody(seed)) {
				t.Errorf("round %d: get %v: %d bytes, err %v; want the %d bytes listed", round, k, len(o.Body), err, len(crashBody(seed)))
			}
		}
		m.state[w], m.pending[w] = got[w], nil
	}

	rep, err := s.Verify(context.Background())
	if err != nil {
		t.Fatalf("round %d: verify: %v", round, err)
	}
	if !rep.OK() || rep.Seq != head {
		t.Errorf("round %d: verify up to %d (head %d):\n%s", round, rep.Seq, head, rep)
	}
	return head, landed, lost
}

// TestCrashRecovery is the crash acceptance test (see the top of this file).
func TestCrashRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: skips the crash loop (20 SIGKILLs of a writing child); make test runs it")
	}
	dir := t.TempDir()
	seed := uint64(time.Now().UnixNano())
	t.Logf("kill timing seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	m := newCrashModel()
	var prevHead uint64
	var inFlightRounds, landed, lost, acks int
	for round := 1; round <= crashRounds; round++ {
		run := runCrashChild(t, dir, round, m, rng)
		if run.readyHead < prevHead {
			t.Errorf("round %d: the child opened the store at head %d, want at least %d", round, run.readyHead, prevHead)
		}
		inFlight := 0
		for _, p := range m.pending {
			if p != nil {
				inFlight++
			}
		}
		if inFlight > 0 {
			inFlightRounds++
		}
		head, l, lo := checkCrashRecovery(t, dir, round, m, prevHead)
		t.Logf("round %d: %d started, %d acknowledged, head %d; killed with %d in flight: %d landed, %d lost", round, run.starts, run.acks, head, inFlight, l, lo)
		if t.Failed() {
			t.FailNow()
		}
		prevHead, landed, lost, acks = head, landed+l, lost+lo, acks+run.acks
	}
	if inFlightRounds == 0 {
		t.Errorf("no round killed the child with a write in flight, want at least one")
	}
	segs, _ := filepath.Glob(filepath.Join(dir, "journal", "*"+segExt))
	torn, _ := filepath.Glob(filepath.Join(dir, "journal", "*.broken-*"))
	t.Logf("%d rounds killed mid-write; %d writes acknowledged; in flight at a kill: %d landed, %d lost; %d segments, %d torn tails cut", inFlightRounds, acks, landed, lost, len(segs), len(torn))
}
