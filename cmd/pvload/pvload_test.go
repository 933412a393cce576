// Tests of pvload: its scenarios against an in-process pimvault with tiny
// sizes, its refusals (non-loopback hosts, wrong answers) and its contacts.

package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-vcard"

	"github.com/pimvault/pimvault/account"
	"github.com/pimvault/pimvault/server"
	"github.com/pimvault/pimvault/storage"
)

const testPassword = "password1"

// newTestServer serves a fresh store with user "u" over loopback HTTP,
// through wrap when given.
func newTestServer(t *testing.T, wrap func(http.Handler) http.Handler) string {
	t.Helper()
	st, err := storage.Open(t.TempDir(), storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := account.AddUser(context.Background(), st, "u", testPassword); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	h := server.New(st, server.Config{FailedLoginDelay: 10 * time.Millisecond}, log).Handler()
	if wrap != nil {
		h = wrap(h)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(func() {
		srv.Close()
		rep, err := st.Verify(context.Background())
		if err != nil || !rep.OK() {
			t.Errorf("store does not verify after the run: %v\n%v", err, rep)
		}
		st.Close()
	})
	return srv.URL
}

func tinyConfig(url string) config {
	cfg := defaults()
	cfg.URL, cfg.User, cfg.Password = url, "u", testPassword
	cfg.Contacts, cfg.Concurrency, cfg.Batch = 30, 4, 7
	cfg.Sizes = []int{12, 40}
	cfg.SyncRepeats, cfg.FirstSyncRepeats = 3, 2
	cfg.Timeout = time.Minute
	cfg.PID = os.Getpid()
	return cfg
}

// TestScenarios runs every scenario with tiny sizes against an in-process
// server and checks the counts the tool reports; a second run with the same
// seed continues after the contacts of the first.
func TestScenarios(t *testing.T) {
	t.Parallel()
	url := newTestServer(t, nil)
	ctx := context.Background()
	cfg := tinyConfig(url)
	var progress bytes.Buffer
	rep, err := run(ctx, cfg, &progress)
	if err != nil {
		t.Fatalf("run: %v\n%s", err, progress.String())
	}
	if rep.Book != "/dav/addressbooks/u/contacts/" {
		t.Errorf("discovered book %q, want the default one", rep.Book)
	}
	if p := rep.Put; p == nil || p.Contacts != 30 || p.BookSize != 30 || p.Latency.N != 30 || p.PerSecond <= 0 {
		t.Errorf("put: got %+v, want 30 contacts in a book of 30", p)
	}
	f := rep.FirstSync
	if f == nil || f.Contacts != 30 || len(f.Runs) != 2 {
		t.Fatalf("firstsync: got %+v, want 2 runs over 30 contacts", f)
	}
	for _, r := range f.Runs {
		if r.Requests != 1+5 { // PROPFIND + ceil(30/7) multigets
			t.Errorf("firstsync run: %d requests, want 6", r.Requests)
		}
	}
	s := rep.Sync
	if s == nil || len(s.Sizes) != 2 {
		t.Fatalf("sync: got %+v, want 2 sizes", s)
	}
	for i, want := range []int{12, 40} {
		z := s.Sizes[i]
		if z.Size != want || z.Changes != 10 || z.Latency.N != 3 || z.Memory == nil {
			t.Errorf("sync size %d: got %+v", want, z)
		}
	}
	if s.Sizes[0].Fill.Contacts != 12 || s.Sizes[1].Fill.Contacts != 28 {
		t.Errorf("sync fills: %d and %d, want 12 and 28", s.Sizes[0].Fill.Contacts, s.Sizes[1].Fill.Contacts)
	}
	if len(rep.Memory) != 6 { // start, put, firstsync, two sizes, sync
		t.Errorf("memory samples: %+v", rep.Memory)
	}
	var text bytes.Buffer
	rep.writeText(&text)
	for _, want := range []string{"put ", "firstsync ", "sync ", "VmRSS"} {
		if !strings.Contains(text.String(), want) {
			t.Errorf("text report lacks %q:\n%s", want, text.String())
		}
	}

	// Again, with the same seed: the book's contacts are taken up and the
	// new ones follow them.
	cfg.Scenarios = []string{"put", "firstsync"}
	cfg.Book = rep.Book
	rep2, err := run(ctx, cfg, io.Discard)
	if err != nil {
		t.Fatalf("second run: %v", err)
	}
	if rep2.Put.BookSize != 60 || rep2.FirstSync.Contacts != 60 {
		t.Errorf("second run: book of %d, first sync of %d, want 60 and 60", rep2.Put.BookSize, rep2.FirstSync.Contacts)
	}
	// The sync book now holds 40 contacts: a size of 12 cannot be measured.
	cfg.Scenarios, cfg.Sizes = []string{"sync"}, []int{12}
	if _, err := run(ctx, cfg, io.Discard); err == nil || !strings.Contains(err.Error(), "more than the size") {
		t.Errorf("sync on a fuller book: got %v, want a refusal", err)
	}
}

// TestFailsLoudly: a wrong password, a shed request or a sync answer with
// a change missing ends the run with an error.
func TestFailsLoudly(t *testing.T) {
	t.Parallel()
	var puts atomic.Int64
	shedding := func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == "PUT" && puts.Add(1) == 5 {
				w.Header().Set("Retry-After", "30")
				http.Error(w, "busy", http.StatusServiceUnavailable)
				return
			}
			h.ServeHTTP(w, r)
		})
	}
	forgetful := func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(body))
			if r.Method != "REPORT" || !bytes.Contains(body, []byte("sync-collection")) {
				h.ServeHTTP(w, r)
				return
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			out := rec.Body.String()
			if i := strings.Index(out, "<D:response>"); i >= 0 { // drop the first change
				j := strings.Index(out[i:], "</D:response>") + len("</D:response>")
				out = out[:i] + out[i+j:]
			}
			w.WriteHeader(rec.Code)
			io.WriteString(w, out)
		})
	}
	for _, tc := range []struct {
		name      string
		wrap      func(http.Handler) http.Handler
		password  string
		scenarios []string
		want      string
	}{
		{"wrong password", nil, "wrong-password", []string{"put"}, "status 401"},
		{"shed PUT", shedding, testPassword, []string{"put"}, "status 503"},
		{"sync misses a change", forgetful, testPassword, []string{"sync"}, "want 10"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := tinyConfig(newTestServer(t, tc.wrap))
			cfg.Password, cfg.Scenarios = tc.password, tc.scenarios
			_, err := run(context.Background(), cfg, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want an error with %q", err, tc.want)
			}
		})
	}
}

// TestLoopbackOnly: pvload refuses any host that is not loopback, at the
// flags and again at connect time.
func TestLoopbackOnly(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		url string
		ok  bool
	}{
		{"http://127.0.0.1:5232", true},
		{"http://127.9.8.7:80/", true},
		{"http://[::1]:5232", true},
		{"http://localhost:5232", true},
		{"https://LOCALHOST", true},
		{"http://10.0.0.1:5232", false},
		{"http://192.168.1.1", false},
		{"http://example.com", false},
		{"http://localhost.example.com", false},
		{"http://[::ffff:10.0.0.1]:80", false},
		{"http://0.0.0.0:5232", false},
		{"ftp://127.0.0.1", false},
		{"http://user:pw@127.0.0.1", false},
	} {
		_, err := checkLoopbackURL(tc.url)
		if (err == nil) != tc.ok {
			t.Errorf("%s: got %v, want ok=%v", tc.url, err, tc.ok)
		}
	}
	if err := dialLoopbackOnly("tcp", "93.184.216.34:80", nil); err == nil {
		t.Errorf("dialing a public address was allowed")
	}
	if err := dialLoopbackOnly("tcp", "127.0.0.1:80", nil); err != nil {
		t.Errorf("dialing loopback: %v", err)
	}
	var stderr bytes.Buffer
	if code := runMain(context.Background(), []string{"--url", "http://10.1.2.3:5232", "--user", "u", "--password", "x"}, io.Discard, &stderr); code != 2 || !strings.Contains(stderr.String(), "not loopback") {
		t.Errorf("runMain with a remote URL: exit %d, %q", code, stderr.String())
	}
	c, err := newDAVClient("http://127.0.0.1:1", "u", "p", 1, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	for _, href := range []string{"http://example.com/dav/", "//example.com/x", "https://127.0.0.1:1/x", "http://127.0.0.1:2/x"} {
		if _, err := c.resolve(href); err == nil {
			t.Errorf("href %q off the server was accepted", href)
		}
	}
}

// TestContacts: the generated vCards are valid 3.0, 400–800 bytes, folded,
// unique in UID and the same for the same seed.
func TestContacts(t *testing.T) {
	t.Parallel()
	g := newContactGen(7, "m")
	uids := map[string]bool{}
	for i := 0; i < 300; i++ {
		for rev := 0; rev < 3; rev++ {
			uid, body := g.card(i, rev)
			if n := len(body); n < 400 || n > 800 {
				t.Errorf("card %d rev %d: %d bytes, want 400–800", i, rev, n)
			}
			if _, again := g.card(i, rev); !bytes.Equal(body, again) {
				t.Fatalf("card %d rev %d differs between two calls", i, rev)
			}
			for _, line := range strings.Split(strings.TrimSuffix(string(body), "\r\n"), "\r\n") {
				if len(line) > 75 {
					t.Errorf("card %d: line of %d octets: %q", i, len(line), line)
				}
			}
			card, err := vcard.NewDecoder(bytes.NewReader(body)).Decode()
			if err != nil {
				t.Fatalf("card %d rev %d does not parse: %v\n%s", i, rev, err, body)
			}
			for _, f := range []string{vcard.FieldVersion, vcard.FieldUID, vcard.FieldFormattedName, vcard.FieldName,
				vcard.FieldEmail, vcard.FieldTelephone, vcard.FieldAddress, vcard.FieldNote} {
				if card.Value(f) == "" {
					t.Errorf("card %d: no %s", i, f)
				}
			}
			if card.Value(vcard.FieldVersion) != "3.0" || card.Value(vcard.FieldUID) != uid {
				t.Errorf("card %d: version %q uid %q, want 3.0 and %q", i, card.Value(vcard.FieldVersion), card.Value(vcard.FieldUID), uid)
			}
			if rev == 0 {
				if uids[uid] {
					t.Errorf("card %d: UID %s used twice", i, uid)
				}
				uids[uid] = true
			}
		}
	}
	if _, a := g.card(1, 0); bytes.Equal(a, func() []byte { _, b := newContactGen(8, "m").card(1, 0); return b }()) {
		t.Errorf("another seed gave the same card")
	}
	if _, b := g.card(1, 1); bytes.Equal(b, func() []byte { _, b := g.card(1, 0); return b }()) {
		t.Errorf("an edit gave the same card")
	}
}
