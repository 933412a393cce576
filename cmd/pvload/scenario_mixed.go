// The mixed scenario (pvload mixed): N phones over M accounts, each signed
// in as one account and looping for a fixed time over what a phone does on
// a periodic sync: PROPFIND Depth 1 of its address book, sync-collection
// from its latest token, one PUT (a new contact with If-None-Match: * or an
// edit with If-Match), an addressbook-multiget of what the sync reported,
// and a one-month calendar-query on its calendar. Every account is first
// filled with --contacts contacts and --events events. 503 and 429 with
// Retry-After are honoured and counted as retries; any other unexpected
// answer is an error and fails the run.

package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The targets of the mixed load on a 2-core machine (BENCHMARKS.md, "Mixed load").
const (
	targetMixedP99Millis = 50.0
	targetMixedRSSMiB    = 60
)

// Request kinds of one sync cycle, in the order a cycle sends them.
var mixedKinds = []string{"propfind", "sync", "put-new", "put-edit", "multiget", "calquery"}

// mixedAccount is one account of the accounts file.
type mixedAccount struct {
	Name     string `json:"name"`
	Password string `json:"password"`
}

// mixedConfig is one mixed run's settings.
type mixedConfig struct {
	URL            string
	Accounts       []mixedAccount
	Clients        int
	Duration       time.Duration
	Contacts       int // prefilled per account
	Events         int // prefilled per account
	Seed           uint64
	PID            int
	RequestTimeout time.Duration
	Pause          time.Duration // a client's wait between two cycles
}

// clientAccount says which account client k signs in as, its slot among the
// clients of that account and how many clients share it: clients go over
// the accounts in turn.
func clientAccount(k, clients, accounts int) (acct, slot, sharers int) {
	acct, slot = k%accounts, k/accounts
	sharers = clients / accounts
	if acct < clients%accounts {
		sharers++
	}
	return acct, slot, sharers
}

// retryAfter returns how long a 503 or 429 asks to wait, and false when
// the answer is not such a refusal (no Retry-After in whole seconds).
func retryAfter(status int, h http.Header) (time.Duration, bool) {
	if status != http.StatusServiceUnavailable && status != http.StatusTooManyRequests {
		return 0, false
	}
	secs, err := strconv.Atoi(strings.TrimSpace(h.Get("Retry-After")))
	if err != nil || secs < 0 || secs > 3600 {
		return 0, false
	}
	return time.Duration(secs) * time.Second, true
}

// mixedStats gathers what all clients measured.
type mixedStats struct {
	mu       sync.Mutex
	durs     map[string][]time.Duration
	statuses map[int]int
	retries  int
	errors   int
	firstErr []string
}

func newMixedStats() *mixedStats {
	return &mixedStats{durs: map[string][]time.Duration{}, statuses: map[int]int{}}
}

func (s *mixedStats) status(code int) {
	s.mu.Lock()
	s.statuses[code]++
	s.mu.Unlock()
}

func (s *mixedStats) ok(kind string, d time.Duration) {
	s.mu.Lock()
	s.durs[kind] = append(s.durs[kind], d)
	s.mu.Unlock()
}

func (s *mixedStats) retry() {
	s.mu.Lock()
	s.retries++
	s.mu.Unlock()
}

func (s *mixedStats) fail(err error) {
	s.mu.Lock()
	s.errors++
	if len(s.firstErr) < 5 {
		s.firstErr = append(s.firstErr, err.Error())
	}
	s.mu.Unlock()
}

// mixedResult is the report of a mixed run.
type mixedResult struct {
	URL       string               `json:"url"`
	Clients   int                  `json:"clients"`
	Accounts  int                  `json:"accounts"`
	Contacts  int                  `json:"contacts_per_account"`
	Pause     string               `json:"pause"`
	Events    int                  `json:"events_per_account"`
	Seconds   float64              `json:"seconds"`
	Cycles    int                  `json:"cycles"`
	Requests  int                  `json:"requests"`
	PerSecond float64              `json:"requests_per_second"`
	Overall   latencies            `json:"overall_ms"`
	Kinds     map[string]latencies `json:"kinds_ms"`
	Statuses  map[int]int          `json:"statuses"`
	Retries   int                  `json:"retries"`
	Errors    int                  `json:"errors"`
	// Server CPU time (user+system, /proc/PID/stat) per request during the
	// run: unlike latency, it does not grow when other processes share the cores.
	ServerCPUMillis float64     `json:"server_cpu_ms_per_request,omitempty"`
	ErrorSample     []string    `json:"error_sample,omitempty"`
	Memory          []memSample `json:"memory,omitempty"`
}

// result summarizes the stats of a run that lasted elapsed.
func (s *mixedStats) result(elapsed time.Duration, cycles int) *mixedResult {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := &mixedResult{Seconds: elapsed.Seconds(), Cycles: cycles, Kinds: map[string]latencies{}, Statuses: map[int]int{},
		Retries: s.retries, Errors: s.errors, ErrorSample: append([]string(nil), s.firstErr...)}
	var all []time.Duration
	for k, ds := range s.durs {
		r.Kinds[k] = summarize(ds)
		all = append(all, ds...)
	}
	for c, n := range s.statuses {
		r.Statuses[c] = n
	}
	r.Requests = len(all)
	r.Overall = summarize(all)
	if elapsed > 0 {
		r.PerSecond = float64(len(all)) / elapsed.Seconds()
	}
	return r
}

// mixedClient is one phone.
type mixedClient struct {
	c        *davClient
	st       *mixedStats
	end      time.Time
	book     string
	cal      string
	calQuery []byte
	calWant  int
	token    string
	rng      *rand.Rand
	prefill  contactGen
	own      []int       // prefilled contacts this client edits
	revs     map[int]int // their revisions so far
	newGen   contactGen  // the contacts this client adds
	added    []int
	addRevs  map[int]int
}

// call sends one request of a kind, honouring 503/429 + Retry-After until
// the run's end, and records the latency of the answer that counted.
func (m *mixedClient) call(ctx context.Context, kind, method, path string, hdr map[string]string, body []byte, want ...int) (*response, error) {
	for {
		r, err := m.c.do(ctx, method, path, hdr, body)
		if err != nil {
			return nil, err
		}
		m.st.status(r.status)
		if wait, ok := retryAfter(r.status, r.header); ok {
			m.st.retry()
			wait += time.Duration(m.rng.IntN(250)) * time.Millisecond
			if time.Now().Add(wait).After(m.end) {
				return nil, errRunOver
			}
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(wait):
			}
			continue
		}
		if !containsInt(want, r.status) {
			return r, &statusError{method: method, path: path, got: r.status, want: want, body: r.body, retryAfter: r.header.Get("Retry-After")}
		}
		m.st.ok(kind, r.dur)
		return r, nil
	}
}

// errRunOver ends a cycle whose retry would wait past the run's end.
var errRunOver = errors.New("the run ended during a Retry-After wait")

const xmlCT = "application/xml; charset=utf-8"

// cycle is one periodic sync of the phone.
func (m *mixedClient) cycle(ctx context.Context) error {
	r, err := m.call(ctx, "propfind", "PROPFIND", m.book, map[string]string{"Depth": "1", "Content-Type": xmlCT},
		propfindBody("<D:getetag/>"), http.StatusMultiStatus)
	if err != nil {
		return err
	}
	etags, err := m.etags(r.body)
	if err != nil {
		return err
	}
	q := `<?xml version="1.0" encoding="utf-8"?><D:sync-collection xmlns:D="DAV:"><D:sync-token>` + xmlText(m.token) +
		`</D:sync-token><D:sync-level>1</D:sync-level><D:prop><D:getetag/></D:prop></D:sync-collection>`
	if r, err = m.call(ctx, "sync", "REPORT", m.book, map[string]string{"Content-Type": xmlCT}, []byte(q), http.StatusMultiStatus); err != nil {
		return err
	}
	ms, err := parseMultistatus(r.body)
	if err != nil {
		return fmt.Errorf("sync-collection %s: %w", m.book, err)
	}
	if strings.TrimSpace(ms.SyncToken) == "" {
		return fmt.Errorf("sync-collection %s: no sync-token in the answer", m.book)
	}
	m.token = strings.TrimSpace(ms.SyncToken)
	var changed []string
	for i := range ms.Responses {
		h, err := ms.Responses[i].href()
		if err != nil {
			return fmt.Errorf("sync-collection %s: %w", m.book, err)
		}
		if ms.Responses[i].ok() != nil && len(changed) < 100 {
			p, err := m.c.hrefPath(h)
			if err != nil {
				return err
			}
			changed = append(changed, p)
		}
	}
	if err := m.put(ctx, etags); err != nil {
		return err
	}
	if len(changed) > 0 {
		if err := m.multiget(ctx, changed); err != nil {
			return err
		}
	}
	if r, err = m.call(ctx, "calquery", "REPORT", m.cal, map[string]string{"Depth": "1", "Content-Type": xmlCT}, m.calQuery, http.StatusMultiStatus); err != nil {
		return err
	}
	if n := strings.Count(string(r.body), "getetag>") / 2; n != m.calWant {
		return fmt.Errorf("calendar-query %s: %d events in the month, want %d", m.cal, n, m.calWant)
	}
	return nil
}

// etags reads the listing of a PROPFIND Depth 1: path → ETag.
func (m *mixedClient) etags(body []byte) (map[string]string, error) {
	ms, err := parseMultistatus(body)
	if err != nil {
		return nil, fmt.Errorf("PROPFIND %s: %w", m.book, err)
	}
	out := make(map[string]string, len(ms.Responses))
	for i := range ms.Responses {
		h, err := ms.Responses[i].href()
		if err != nil {
			return nil, err
		}
		p, err := m.c.hrefPath(h)
		if err != nil {
			return nil, err
		}
		if pr := ms.Responses[i].ok(); pr != nil && !samePath(p, m.book) {
			out[p] = deref(pr.GetETag)
		}
	}
	return out, nil
}

// put adds a contact one cycle in four, else edits one of the client's own
// with the ETag the listing gave.
func (m *mixedClient) put(ctx context.Context, etags map[string]string) error {
	hdr := map[string]string{"Content-Type": "text/vcard; charset=utf-8"}
	if m.rng.IntN(4) == 0 || len(m.own)+len(m.added) == 0 {
		i := len(m.added)
		_, body := m.newGen.card(i, 0)
		hdr["If-None-Match"] = "*"
		if _, err := m.call(ctx, "put-new", "PUT", m.book+m.newGen.name(i), hdr, body, http.StatusCreated); err != nil {
			return err
		}
		m.added = append(m.added, i)
		return nil
	}
	k := m.rng.IntN(len(m.own) + len(m.added))
	gen, i, revs := m.prefill, 0, m.revs
	if k < len(m.own) {
		i = m.own[k]
	} else {
		gen, i, revs = m.newGen, m.added[k-len(m.own)], m.addRevs
	}
	path := m.book + gen.name(i)
	etag := etags[path]
	if etag == "" {
		return fmt.Errorf("PROPFIND %s did not list %s", m.book, path)
	}
	revs[i]++
	_, body := gen.card(i, revs[i])
	hdr["If-Match"] = etag
	_, err := m.call(ctx, "put-edit", "PUT", path, hdr, body, http.StatusNoContent, http.StatusOK)
	return err
}

// multiget fetches the changed hrefs and checks each came back once with a vCard.
func (m *mixedClient) multiget(ctx context.Context, paths []string) error {
	var q strings.Builder
	q.WriteString(`<?xml version="1.0" encoding="utf-8"?><C:addressbook-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav">` +
		`<D:prop><D:getetag/><C:address-data/></D:prop>`)
	for _, p := range paths {
		q.WriteString("<D:href>" + xmlText(p) + "</D:href>")
	}
	q.WriteString("</C:addressbook-multiget>")
	r, err := m.call(ctx, "multiget", "REPORT", m.book, map[string]string{"Depth": "1", "Content-Type": xmlCT}, []byte(q.String()), http.StatusMultiStatus)
	if err != nil {
		return err
	}
	ms, err := parseMultistatus(r.body)
	if err != nil {
		return fmt.Errorf("multiget %s: %w", m.book, err)
	}
	seen := map[string]bool{}
	for i := range ms.Responses {
		h, err := ms.Responses[i].href()
		if err != nil {
			return err
		}
		p, err := m.c.hrefPath(h)
		if err != nil {
			return err
		}
		pr := ms.Responses[i].ok()
		if pr == nil || !strings.HasPrefix(deref(pr.AddressData), "BEGIN:VCARD") || seen[p] {
			return fmt.Errorf("multiget %s: %s without a vCard or answered twice", m.book, p)
		}
		seen[p] = true
	}
	if len(seen) != len(paths) {
		return fmt.Errorf("multiget %s: %d of %d hrefs answered", m.book, len(seen), len(paths))
	}
	return nil
}

// runMixed is `pvload mixed`.
func runMixed(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("pvload mixed", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg mixedConfig
	fs.StringVar(&cfg.URL, "url", "", "base URL of the server (loopback only)")
	file := fs.String("accounts", "", "JSON file of the accounts: [{\"name\":…,\"password\":…}]")
	fs.IntVar(&cfg.Clients, "clients", 32, "phones, spread over the accounts in turn")
	fs.DurationVar(&cfg.Duration, "duration", 30*time.Second, "how long the phones loop")
	fs.IntVar(&cfg.Contacts, "contacts", 200, "contacts written into each account before the run")
	fs.IntVar(&cfg.Events, "events", 50, "events written into each account's calendar before the run")
	fs.Uint64Var(&cfg.Seed, "seed", 1, "seed of the generated contacts and events (a fresh seed needs fresh collections)")
	fs.IntVar(&cfg.PID, "pid", 0, "the server's pid, for its VmRSS/VmHWM after the prefill and after the run")
	fs.DurationVar(&cfg.RequestTimeout, "request-timeout", 30*time.Second, "bound on one request")
	fs.DurationVar(&cfg.Pause, "pause", 0, "each client's wait between two sync cycles (0: back to back, a saturating load)")
	asJSON := fs.Bool("json", false, "print the report as JSON on stdout (the text goes to stderr)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	err := func() error {
		switch {
		case fs.NArg() > 0:
			return fmt.Errorf("unexpected argument %q", fs.Arg(0))
		case cfg.URL == "" || *file == "":
			return errors.New("--url and --accounts are required")
		case cfg.Clients < 1 || cfg.Clients > maxConcurrency:
			return fmt.Errorf("--clients %d: must be 1..%d", cfg.Clients, maxConcurrency)
		case cfg.Duration <= 0 || cfg.Duration > time.Hour || cfg.RequestTimeout <= 0 || cfg.Pause < 0 || cfg.Pause > time.Hour:
			return errors.New("--duration must be in (0, 1h], --request-timeout positive and --pause in [0, 1h]")
		case cfg.Contacts < 1 || cfg.Contacts > 100_000 || cfg.Events < 1 || cfg.Events > 100_000:
			return errors.New("--contacts and --events must be 1..100000")
		}
		if _, err := checkLoopbackURL(cfg.URL); err != nil {
			return err
		}
		b, err := os.ReadFile(*file)
		if err == nil {
			err = json.Unmarshal(b, &cfg.Accounts)
		}
		if err == nil && len(cfg.Accounts) == 0 {
			err = errors.New("no accounts")
		}
		if err != nil {
			return fmt.Errorf("%s: %w", *file, err)
		}
		return nil
	}()
	if err != nil {
		fmt.Fprintf(stderr, "pvload mixed: %v\n", err)
		return 2
	}
	logf := func(format string, a ...any) { fmt.Fprintf(stderr, "pvload mixed: "+format+"\n", a...) }
	res, err := mixed(ctx, cfg, logf)
	if res != nil {
		text := stdout
		if *asJSON {
			text = stderr
			enc := json.NewEncoder(stdout)
			enc.SetIndent("", "  ")
			if jerr := enc.Encode(res); jerr != nil && err == nil {
				err = jerr
			}
		}
		res.writeText(text)
	}
	if err == nil && res.Errors > 0 {
		err = fmt.Errorf("%d requests failed", res.Errors)
	}
	if err != nil {
		fmt.Fprintf(stderr, "pvload mixed: FAILED: %v\n", err)
		return 1
	}
	return 0
}

// writeText writes the mixed report for people, with the targets beside it.
func (r *mixedResult) writeText(w io.Writer) {
	fmt.Fprintf(w, "mixed: %d clients over %d accounts (%d contacts, %d events each), %.1f s, %d cycles, pause %s\n",
		r.Clients, r.Accounts, r.Contacts, r.Events, r.Seconds, r.Cycles, r.Pause)
	fmt.Fprintf(w, "  %-9s %7s %8s %8s %8s %8s\n", "kind", "n", "p50 ms", "p90 ms", "p99 ms", "max ms")
	row := func(k string, l latencies) {
		fmt.Fprintf(w, "  %-9s %7d %8.2f %8.2f %8.2f %8.2f\n", k, l.N, l.P50, l.P90, l.P99, l.Max)
	}
	for _, k := range mixedKinds {
		if l, ok := r.Kinds[k]; ok {
			row(k, l)
		}
	}
	row("overall", r.Overall)
	codes := make([]int, 0, len(r.Statuses))
	for c := range r.Statuses {
		codes = append(codes, c)
	}
	sort.Ints(codes)
	var sb strings.Builder
	for _, c := range codes {
		fmt.Fprintf(&sb, " %d×%d", c, r.Statuses[c])
	}
	fmt.Fprintf(w, "  statuses:%s; retries after 503/429: %d; errors: %d\n", sb.String(), r.Retries, r.Errors)
	for _, e := range r.ErrorSample {
		fmt.Fprintf(w, "    error: %s\n", e)
	}
	fmt.Fprintf(w, "  throughput: %.0f requests/s", r.PerSecond)
	if r.ServerCPUMillis > 0 {
		fmt.Fprintf(w, "; server CPU %.2f ms per request", r.ServerCPUMillis)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "  target p99 < %.0f ms: %.2f ms, %s\n", targetMixedP99Millis, r.Overall.P99, metText(r.Overall.P99 < targetMixedP99Millis))
	for _, m := range r.Memory {
		fmt.Fprintf(w, "  server after %s: VmRSS %.1f MiB, VmHWM %.1f MiB (anon %.1f, file %.1f)\n", m.After,
			float64(m.VmRSSKiB)/1024, float64(m.VmHWMKiB)/1024, float64(m.RssAnonKiB)/1024, float64(m.RssFileKiB)/1024)
	}
	if n := len(r.Memory); n > 0 {
		rss := float64(r.Memory[n-1].VmRSSKiB) / 1024
		fmt.Fprintf(w, "  target RSS after the run ≤ %d MiB: %.1f MiB, %s\n", targetMixedRSSMiB, rss, metText(rss <= targetMixedRSSMiB))
	}
}
