package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-webdav"
	"github.com/emersion/go-webdav/carddav"

	"github.com/pimvault/pimvault/replication/natstest"
)

// davClient PUTs and GETs dora's contacts on one server.
type davClient struct {
	url, user, password string
	http                *http.Client
}

func (c davClient) put(name, body string) (int, http.Header, error) {
	req, _ := http.NewRequest("PUT", c.url+"/dav/addressbooks/"+c.user+"/contacts/"+name, strings.NewReader(body))
	req.SetBasicAuth(c.user, c.password)
	req.Header.Set("Content-Type", "text/vcard")
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, resp.Header, nil
}

func (c davClient) get(name string) (int, string, error) {
	req, _ := http.NewRequest("GET", c.url+"/dav/addressbooks/"+c.user+"/contacts/"+name, nil)
	req.SetBasicAuth(c.user, c.password)
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

// putEventually retries a PUT until it is acknowledged (201/204) or the
// deadline passes; every answer before must be 503 with Retry-After.
func putEventually(t *testing.T, c davClient, name, body string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		code, h, err := c.put(name, body)
		if err == nil && (code == http.StatusCreated || code == http.StatusNoContent) {
			return
		}
		if err == nil && (code != http.StatusServiceUnavailable || h.Get("Retry-After") == "") {
			t.Fatalf("PUT %s: want 201/204 or 503 with Retry-After, got %d %v", name, code, h)
		}
		if time.Now().After(deadline) {
			t.Fatalf("PUT %s not accepted within %s: %d %v", name, within, code, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestReplicationNATSNodesDown: a sync primary (real binary) keeps taking
// PUTs with one of three NATS nodes down; with two down its PUTs get 503
// with Retry-After and reads go on; when they return, PUTs are accepted
// again, and a standby started afterwards has every acknowledged contact.
func TestReplicationNATSNodesDown(t *testing.T) {
	t.Parallel()
	c := natstest.Start(t, 3)
	pdir := t.TempDir()
	rs := startServer(t, pdir, "--user", "dora", "--replicate", c.URLs(), "--lease-ttl", "5s", "--nats-timeout", "2s")
	cl := davClient{url: rs.url, user: "dora", password: rs.password, http: &http.Client{Timeout: 20 * time.Second}}
	acked := map[string]string{}
	put := func(name string, within time.Duration) {
		body := card("3.0", name, "Person "+name)
		putEventually(t, cl, name+".vcf", body, within)
		acked[name+".vcf"] = body
	}
	put("a1", 10*time.Second)
	c.Stop(2)
	for i := 0; i < 20; i++ {
		put("b"+strconv.Itoa(i), 15*time.Second)
	}
	c.Stop(1)
	refused := false
	for i := 0; i < 100 && !refused; i++ {
		name := "c" + strconv.Itoa(i)
		body := card("3.0", name, "Person "+name)
		code, h, err := cl.put(name+".vcf", body)
		switch {
		case err != nil:
			t.Fatalf("PUT with two NATS nodes down: %v", err)
		case code == http.StatusServiceUnavailable:
			if ra, err := strconv.Atoi(h.Get("Retry-After")); err != nil || ra <= 0 {
				t.Fatalf("503 without a usable Retry-After: %q", h.Get("Retry-After"))
			}
			refused = true
		case code == http.StatusCreated:
			acked[name+".vcf"] = body // before the loss was noticed
		default:
			t.Fatalf("PUT with two NATS nodes down: %d", code)
		}
	}
	if !refused {
		t.Fatal("two of three NATS nodes down: sync PUTs still acknowledged")
	}
	if code, _, err := cl.get("a1.vcf"); err != nil || code != http.StatusOK {
		t.Fatalf("reads must go on while writes are refused: %d %v", code, err)
	}
	if st := pimvault(t, "status", "--data", pdir); !strings.Contains(st.stdout, "replication: primary (sync)") ||
		!(strings.Contains(st.stdout, "stream unreachable") || strings.Contains(st.stdout, "lease not held")) {
		t.Fatalf("status does not say why writes are refused:\n%s", st)
	}
	c.Restart(1)
	c.Restart(2)
	defer func() {
		if t.Failed() {
			t.Log(rs.stderr.String())
		}
	}()
	put("d1", 40*time.Second)

	sdir := filepath.Join(t.TempDir(), "standby")
	sb := startServer(t, sdir, "--follow", c.URLs())
	scl := davClient{url: sb.url, user: "dora", password: rs.password, http: cl.http}
	deadline := time.Now().Add(30 * time.Second)
	for name, body := range acked {
		for {
			code, got, err := scl.get(name)
			if err == nil && code == http.StatusOK {
				if got != body {
					t.Fatalf("standby's %s differs from the acknowledged PUT", name)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("standby lacks acknowledged %s: %d %v", name, code, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	if code, h, _ := scl.put("x.vcf", card("3.0", "x", "X")); code != http.StatusServiceUnavailable || h.Get("Retry-After") == "" {
		t.Fatalf("PUT on a standby: want 503 with Retry-After, got %d", code)
	}
	if st := pimvault(t, "status", "--data", sdir); !strings.Contains(st.stdout, "replication: standby") || !strings.Contains(st.stdout, "standby lag: ") {
		t.Fatalf("standby status:\n%s", st)
	}

	// Restore from the stream alone, to its end and to an earlier record:
	// the state hash equals the primary's at that point (for the earlier
	// one, a restore from the primary's own journal says what it was).
	hash, head := status(t, pdir)
	out := filepath.Join(t.TempDir(), "from-stream")
	res := pimvault(t, "restore", "--from-stream", c.URLs(), "--out", out)
	if m := restoredHashRe.FindStringSubmatch(res.stdout); res.code != 0 || m == nil || m[1] != head || m[2] != hash {
		t.Fatalf("restore --from-stream: want state hash %s at %s, got\n%s", hash, head, res)
	}
	expectVerifyOK(t, out)
	res = pimvault(t, "restore", "--from-stream", c.URLs(), "--to-seq", "7", "--out", filepath.Join(t.TempDir(), "s7"))
	local := pimvault(t, "restore", "--data", pdir, "--to-seq", "7", "--out", filepath.Join(t.TempDir(), "l7"))
	m1, m2 := restoredHashRe.FindStringSubmatch(res.stdout), restoredHashRe.FindStringSubmatch(local.stdout)
	if res.code != 0 || local.code != 0 || m1 == nil || m2 == nil || m1[1] != "7" || m1[2] != m2[2] {
		t.Fatalf("restore --to-seq 7 from the stream and from the journal differ:\n%s\n%s", res, local)
	}
	if res := pimvault(t, "restore", "--from-stream", c.URLs(), "--out", out); res.code != 1 || !strings.Contains(res.stderr, "not empty") {
		t.Fatalf("restore --from-stream into a non-empty directory: %s", res)
	}
}

func failoverRounds(t *testing.T) int {
	if v := os.Getenv("PIMVAULT_FAILOVER_ROUNDS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("PIMVAULT_FAILOVER_ROUNDS=%q", v)
		}
		return n
	}
	if testing.Short() {
		return 1
	}
	return 2
}

// TestReplicationFailoverAfterSIGKILL: 16 writers PUT to a sync primary
// (real binary); at a random moment the primary is SIGKILLed and the
// standby promoted: every PUT acknowledged before the kill is there byte
// for byte, verify passes, and the old primary cannot start as a primary
// again. The new primary gets a new standby, and the round repeats
// (PIMVAULT_FAILOVER_ROUNDS, default 2; 10 for the full acceptance run).
func TestReplicationFailoverAfterSIGKILL(t *testing.T) {
	t.Parallel()
	c := natstest.Start(t, 3)
	extra := []string{"--lease-ttl", "5s", "--nats-timeout", "2s"}
	pdir := t.TempDir()
	primary := startServer(t, pdir, append([]string{"--user", "dora", "--replicate", c.URLs()}, extra...)...)
	password := primary.password
	hc := &http.Client{Timeout: 20 * time.Second}
	cl := davClient{url: primary.url, user: "dora", password: password, http: hc}
	putEventually(t, cl, "first.vcf", card("3.0", "first", "First"), 10*time.Second)
	acked := map[string]string{"first.vcf": card("3.0", "first", "First")}
	sdir := filepath.Join(t.TempDir(), "standby")
	standby := startServer(t, sdir, append([]string{"--follow", c.URLs()}, extra...)...)
	book := "/dav/addressbooks/dora/contacts/"
	stock := func(url string) *carddav.Client {
		cc, err := carddav.NewClient(webdav.HTTPClientWithBasicAuth(hc, "dora", password), url)
		if err != nil {
			t.Fatal(err)
		}
		return cc
	}
	for round := 0; round < failoverRounds(t); round++ {
		// A stock client (go-webdav) syncs before the round's writes.
		before, err := stock(cl.url).SyncCollection(context.Background(), book, &carddav.SyncQuery{})
		if err != nil {
			t.Fatalf("round %d: stock sync: %v", round, err)
		}
		var mu sync.Mutex
		stop := make(chan struct{})
		var wg sync.WaitGroup
		var puts, fails int
		for w := 0; w < 16; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					name := fmt.Sprintf("r%d-w%d-%d.vcf", round, w, i)
					body := card("3.0", name, fmt.Sprintf("Writer %d %d", w, i), "NOTE:"+strings.Repeat("x", rand.IntN(2000)))
					code, _, err := cl.put(name, body)
					mu.Lock()
					puts++
					if err == nil && code == http.StatusCreated {
						acked[name] = body
					} else {
						fails++
					}
					mu.Unlock()
					if err != nil {
						return // the primary is gone
					}
				}
			}(w)
		}
		time.Sleep(time.Duration(300+rand.IntN(1500)) * time.Millisecond)
		if err := primary.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		primary.cmd.Wait()
		killedAt := time.Now()
		close(stop)
		wg.Wait()
		mu.Lock()
		t.Logf("round %d: %d PUTs, %d acknowledged in total, %d failed or cut off by the kill", round, puts, len(acked), fails)
		mu.Unlock()

		// Odd rounds: the admin knows the primary is dead (--force skips
		// the wait for its lease to expire).
		promoteArgs := []string{"promote", "--data", sdir}
		if round%2 == 1 {
			promoteArgs = append(promoteArgs, "--force")
		}
		res := pimvault(t, promoteArgs...)
		if res.code != 0 || !strings.Contains(res.stdout, "promoted to primary") {
			t.Fatalf("round %d: promote: %s", round, res)
		}
		newCl := davClient{url: standby.url, user: "dora", password: password, http: hc}
		after := card("3.0", fmt.Sprintf("after-%d", round), "After")
		putEventually(t, newCl, fmt.Sprintf("after-%d.vcf", round), after, 10*time.Second)
		t.Logf("round %d: first write on the new primary %s after the kill (%s)", round, time.Since(killedAt).Round(time.Millisecond), strings.Join(promoteArgs, " "))
		acked[fmt.Sprintf("after-%d.vcf", round)] = after
		for name, body := range acked {
			code, got, err := newCl.get(name)
			if err != nil || code != http.StatusOK || got != body {
				t.Fatalf("round %d: acknowledged %s on the new primary: %d %v (equal: %v)", round, name, code, err, got == body)
			}
		}
		expectVerifyOK(t, sdir)
		// The stock client's old token gives a delta on the new primary:
		// every PUT acknowledged this round, nothing deleted (never a wipe).
		delta, err := stock(newCl.url).SyncCollection(context.Background(), book, &carddav.SyncQuery{SyncToken: before.SyncToken})
		if err != nil {
			t.Fatalf("round %d: stock sync with the old primary's token on the new primary: %v", round, err)
		}
		if len(delta.Deleted) != 0 {
			t.Fatalf("round %d: delta deletes %d objects: %v", round, len(delta.Deleted), delta.Deleted[:min(5, len(delta.Deleted))])
		}
		inDelta := map[string]bool{}
		for _, ao := range delta.Updated {
			inDelta[path.Base(ao.Path)] = true
		}
		for name := range acked {
			if strings.HasPrefix(name, fmt.Sprintf("r%d-", round)) && !inDelta[name] {
				t.Fatalf("round %d: acknowledged %s missing from the stock client's delta (%d updated)", round, name, len(delta.Updated))
			}
		}
		// The old primary cannot come back as a primary.
		res = pimvault(t, append([]string{"serve", "--addr", "127.0.0.1:0", "--data", pdir, "--replicate", c.URLs()}, extra...)...)
		if res.code != 1 || !strings.Contains(res.stderr, "another primary") {
			t.Fatalf("round %d: old primary restarted: want exit 1 and 'another primary', got\n%s", round, res)
		}
		// Next round: the old primary rejoins as the new one's standby
		// (setting aside what it never replicated) and converges.
		primary, cl = standby, newCl
		pdir, sdir = sdir, pdir
		standby = startServer(t, sdir, append([]string{"--follow", c.URLs()}, extra...)...)
		waitSameState(t, pdir, sdir, 30*time.Second)
		if st := pimvault(t, "status", "--data", sdir); strings.Contains(st.stdout, "kept aside") {
			t.Logf("round %d: the old primary had records it never replicated:\n%s", round, st.stdout)
		}
	}
}

// waitSameState waits until the standby in sdir has the state hash and
// head of the primary in pdir.
func waitSameState(t *testing.T, pdir, sdir string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		h1, q1 := status(t, pdir)
		h2, q2 := status(t, sdir)
		if h1 == h2 && q1 == q2 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("standby %s at %s, primary %s at %s", h2, q2, h1, q1)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
