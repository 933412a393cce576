package server

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pimvault/pimvault/account"
	"github.com/pimvault/pimvault/storage"
)

// signinEnv is a server whose handler the tests call directly, so that
// each request can come from any address.
type signinEnv struct {
	srv *Server
	h   http.Handler
}

func newSigninEnv(t *testing.T, cfg Config, users ...string) *signinEnv {
	t.Helper()
	st, err := storage.Open(t.TempDir(), storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	for _, u := range users {
		if err := account.AddUser(context.Background(), st, u, testPassword); err != nil {
			t.Fatal(err)
		}
	}
	if cfg.FailedLoginDelay == 0 {
		cfg.FailedLoginDelay = time.Millisecond
	}
	s := New(st, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	return &signinEnv{srv: s, h: s.Handler()}
}

// propfind sends PROPFIND / as user with password from addr and returns
// the status.
func (e *signinEnv) propfind(user, password, addr string, hdr ...string) int {
	req := httptest.NewRequest("PROPFIND", "/dav/", nil)
	req.RemoteAddr = addr + ":40000"
	req.Header.Set("Depth", "0")
	req.SetBasicAuth(user, password)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	if rec.Code == http.StatusTooManyRequests || rec.Code == http.StatusServiceUnavailable {
		if rec.Header().Get("Retry-After") == "" {
			return -rec.Code // a refusal without Retry-After fails every test
		}
	}
	return rec.Code
}

// Wrong passwords for carol from one address must not lock carol out
// from another: her right password from 127.0.0.20 is answered every time.
// On the old per-account limit, 13 of 14 tries got 429.
func TestOtherAddressCannotLockOut(t *testing.T) {
	e := newSigninEnv(t, Config{}, "carol")
	for i := 0; i < 30; i++ {
		e.propfind("carol", "wrong password", "127.0.0.9")
	}
	if st := e.propfind("carol", "wrong password", "127.0.0.9"); st != http.StatusTooManyRequests {
		t.Fatalf("the guessing address is not limited: %d", st)
	}
	for i := 0; i < 14; i++ {
		if st := e.propfind("carol", testPassword, "127.0.0.20"); st != http.StatusMultiStatus {
			t.Fatalf("carol's right password from another address, try %d: %d", i+1, st)
		}
	}
	// Nor does a remembered credential let the guessing address test its
	// guesses at full speed: it stays limited, even with the right password.
	if st := e.propfind("carol", testPassword, "127.0.0.9"); st != http.StatusTooManyRequests {
		t.Fatalf("the limited address with the right password: %d, want 429", st)
	}
}

// 60 parallel wrong guesses from one address: the limit is reserved with
// each attempt, so at most the burst are checked and the rest get 429.
// The old check-then-count let all 60 be checked.
func TestParallelGuessesAreLimited(t *testing.T) {
	old := account.HashCost
	account.HashCost = 8 // checks that take a while, as real ones do
	defer func() { account.HashCost = old }()
	e := newSigninEnv(t, Config{}, "carol")
	var mu sync.Mutex
	counts := map[int]int{}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := 0; i < 60; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			<-start
			st := e.propfind("carol", fmt.Sprintf("guess-%02d-wrong", i), "127.0.0.9") // 60 different guesses
			mu.Lock()
			counts[st]++
			mu.Unlock()
		}(i)
	}
	close(start)
	wg.Wait()
	if counts[http.StatusUnauthorized] > 5 || counts[http.StatusUnauthorized] == 0 ||
		counts[http.StatusUnauthorized]+counts[http.StatusTooManyRequests] != 60 {
		t.Fatalf("60 parallel guesses: %v; want at most 5 checked (401), the rest 429 with Retry-After", counts)
	}
}

// A right password is never charged: many sign-ins in a row from one
// address all pass and leave no limiter behind.
func TestRightPasswordsAreNotCounted(t *testing.T) {
	e := newSigninEnv(t, Config{}, "carol")
	for i := 0; i < 3*failBurstAddress; i++ {
		if st := e.propfind("carol", testPassword, "127.0.0.30"); st != http.StatusMultiStatus {
			t.Fatalf("sign-in %d: %d", i+1, st)
		}
	}
	if n := e.srv.auth.limits.size(); n != 0 {
		t.Fatalf("%d limiter entries after right passwords only", n)
	}
}

// User names over the limit are refused before anything is keyed or
// hashed by them: 300 sign-ins with 600 KB names leave no limiter entry.
// (The old code made one limiter entry per name.)
func TestLongUserNamesKeyNothing(t *testing.T) {
	e := newSigninEnv(t, Config{}, "carol")
	name := strings.Repeat("n", 600<<10)
	for i := 0; i < 300; i++ {
		if st := e.propfind(name+string(rune('a'+i%26)), "password", "127.0.0.9"); st != http.StatusUnauthorized {
			t.Fatalf("600 KB user name: %d, want 401", st)
		}
	}
	if n := e.srv.auth.limits.size(); n != 0 {
		t.Fatalf("%d limiter entries after over-long names", n)
	}
	if st := e.propfind(strings.Repeat("n", maxUserNameLen+1), "password", "127.0.0.9"); st != http.StatusUnauthorized {
		t.Fatalf("name of %d bytes: %d", maxUserNameLen+1, st)
	}
}

// Limiter memory is bounded whatever the input: guesses from 3×the table
// size of addresses leave at most the table size of entries per limiter.
func TestLimiterMemoryBounded(t *testing.T) {
	l := newSignInLimits()
	now := time.Now()
	for i := 0; i < 3*maxTrackedLimiters; i++ {
		addr := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}).String()
		if _, wait := l.reserve("carol", addr, now); wait != 0 {
			t.Fatalf("a fresh address is limited")
		}
	}
	if n := l.size(); n > 2*maxTrackedLimiters {
		t.Fatalf("%d entries, bound %d", n, 2*maxTrackedLimiters)
	}
}

// Behind a trusted proxy, the client address comes from X-Forwarded-For
// or Forwarded; from any other peer those headers are ignored.
func TestTrustedProxyAddress(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	for _, c := range []struct {
		peer string
		hdr  map[string]string
		want string
	}{
		{"10.1.1.1:5", map[string]string{"X-Forwarded-For": "192.0.2.7, 10.2.2.2"}, "192.0.2.7"},
		{"10.1.1.1:5", map[string]string{"X-Forwarded-For": "203.0.113.9, 192.0.2.7"}, "192.0.2.7"},
		{"10.1.1.1:5", map[string]string{"Forwarded": `for="[2001:db8::1]:443";proto=https, for=10.3.3.3`}, "2001:db8::1"},
		{"10.1.1.1:5", nil, "10.1.1.1"},
		{"10.1.1.1:5", map[string]string{"X-Forwarded-For": "unknown"}, "10.1.1.1"},
		{"192.0.2.50:5", map[string]string{"X-Forwarded-For": "198.51.100.1"}, "192.0.2.50"},
		{"[::ffff:192.0.2.50]:5", map[string]string{"Forwarded": "for=198.51.100.1"}, "192.0.2.50"},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = c.peer
		for k, v := range c.hdr {
			r.Header.Set(k, v)
		}
		if got := clientAddr(r, trusted); got != c.want {
			t.Errorf("peer %s %v: %s, want %s", c.peer, c.hdr, got, c.want)
		}
	}
	// End to end: guesses forwarded for one client do not limit another
	// client behind the same proxy.
	e := newSigninEnv(t, Config{TrustedProxies: trusted}, "carol")
	for i := 0; i < 30; i++ {
		e.propfind("carol", "wrong password", "10.1.1.1", "X-Forwarded-For", "192.0.2.66")
	}
	if st := e.propfind("carol", testPassword, "10.1.1.1", "X-Forwarded-For", "192.0.2.67"); st != http.StatusMultiStatus {
		t.Fatalf("another client behind the proxy: %d", st)
	}
	if st := e.propfind("carol", testPassword, "10.1.1.1", "X-Forwarded-For", "192.0.2.66"); st != http.StatusTooManyRequests {
		t.Fatalf("the guessing client behind the proxy: %d", st)
	}
}

// Unknown and disabled accounts take as long as a wrong password (the old
// code answered a disabled account without running bcrypt). The samples
// are interleaved and compared by median, with a real bcrypt cost, so a
// busy machine slows all three alike.
func TestSignInTimingDoesNotTellAccountsApart(t *testing.T) {
	old := account.HashCost
	account.HashCost = 8
	defer func() { account.HashCost = old }()
	const n = 9
	var users []string
	for i := 0; i < n; i++ {
		users = append(users, fmt.Sprintf("carol%d", i), fmt.Sprintf("dora%d", i))
	}
	e := newSigninEnv(t, Config{FailedLoginDelay: time.Nanosecond}, users...)
	for i := 0; i < n; i++ {
		if err := account.SetDisabled(context.Background(), e.srv.store.(*storage.Store), fmt.Sprintf("dora%d", i), true); err != nil {
			t.Fatal(err)
		}
	}
	// One attempt per account and address, so no limiter interferes.
	kinds := []struct{ user, pw string }{{"carol%d", "wrong password"}, {"dora%d", testPassword}, {"nobody%d", testPassword}}
	samples := make([][]time.Duration, len(kinds))
	for i := 0; i < n; i++ {
		for k, c := range kinds {
			addr := fmt.Sprintf("127.1.%d.%d", k, i)
			start := time.Now()
			if st := e.propfind(fmt.Sprintf(c.user, i), c.pw, addr); st != http.StatusUnauthorized {
				t.Fatalf("%s: %d, want 401", fmt.Sprintf(c.user, i), st)
			}
			samples[k] = append(samples[k], time.Since(start))
		}
	}
	median := func(d []time.Duration) time.Duration {
		sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
		return d[len(d)/2]
	}
	wrong := median(samples[0])
	for k := 1; k < len(kinds); k++ {
		m := median(samples[k])
		if m < wrong/2 || m > wrong*2 {
			t.Errorf("%s accounts: median %v against a wrong password's %v (all %v)", strings.TrimSuffix(kinds[k].user, "%d"), m, wrong, samples[k])
		}
	}
}

// An over-long password is refused before it is hashed, and the body of
// the request is not read: the connection closes after the answer.
func TestBasicAuthLimitsOnRawHeader(t *testing.T) {
	e := newSigninEnv(t, Config{}, "carol")
	req := httptest.NewRequest("PROPFIND", "/dav/", strings.NewReader("<propfind/>"))
	req.RemoteAddr = "127.0.0.9:1"
	req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("carol:"+strings.Repeat("p", maxSecretLen+1))))
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	if rec.Code != http.StatusUnauthorized || rec.Header().Get("Connection") != "close" {
		t.Fatalf("over-long password: %d, Connection %q", rec.Code, rec.Header().Get("Connection"))
	}
}

// A client (or a NAT) opening many connections at once with the right
// password, before any is remembered, gets no 429: concurrent sign-ins
// with the same credentials share one check and one reservation.
func TestConcurrentRightSignInsNotLimited(t *testing.T) {
	old := account.HashCost
	account.HashCost = 8
	defer func() { account.HashCost = old }()
	e := newSigninEnv(t, Config{MaxRequests: 64, MaxRequestsPerAccount: 64}, "carol")
	var wg sync.WaitGroup
	var mu sync.Mutex
	counts := map[int]int{}
	for i := 0; i < 40; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st := e.propfind("carol", testPassword, "127.0.0.40")
			mu.Lock()
			counts[st]++
			mu.Unlock()
		}()
	}
	wg.Wait()
	if counts[http.StatusMultiStatus] != 40 {
		t.Fatalf("40 concurrent right sign-ins from one address: %v", counts)
	}
}
