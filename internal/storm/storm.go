package storm

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Account is one account of the storm with the token its phones hold.
type Account struct {
	Name     string `json:"name"`
	Password string `json:"password"`
	Book     string `json:"book"`  // the address book's path
	Token    string `json:"token"` // a sync-token from before the last changes
}

// Config is one storm.
type Config struct {
	URL      string
	Accounts []Account
	Clients  int           // spread over the accounts in turn
	Deadline time.Duration // the whole storm; clients still running then fail it
	// RequestTimeout is how long a client waits for one answer before it
	// counts as unanswered (a violation).
	RequestTimeout time.Duration
	PID            int // the server's, for VmHWM and descriptors (0: not sampled)
}

// Report is what a storm came to.
type Report struct {
	Clients, Finished int
	Took              time.Duration // until the last client finished
	ClientP50         time.Duration // a client's time from start to done
	ClientP99         time.Duration
	MaxWait           time.Duration // the longest wait for any one answer
	Statuses          map[int]int   // answers by status
	Retries           int
	Violations        []string // the first ones
	ViolationCount    int
	VmHWMKiB          int64 // the server's peak resident set (0: not sampled)
	PeakFDs           int   // the most descriptors the server had open at once
}

const maxViolations = 20

type stormState struct {
	mu         sync.Mutex
	rep        *Report
	maxWait    atomic.Int64
	clientTook []time.Duration
}

func (s *stormState) violation(format string, args ...any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rep.ViolationCount++
	if len(s.rep.Violations) < maxViolations {
		s.rep.Violations = append(s.rep.Violations, fmt.Sprintf(format, args...))
	}
}

func (s *stormState) status(code int, retry bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rep.Statuses[code]++
	if retry {
		s.rep.Retries++
	}
}

func (s *stormState) waited(d time.Duration) {
	for {
		cur := s.maxWait.Load()
		if int64(d) <= cur || s.maxWait.CompareAndSwap(cur, int64(d)) {
			return
		}
	}
}

// CheckLoopback refuses a URL whose host is not a loopback address.
func CheckLoopback(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return err
	}
	ip := net.ParseIP(u.Hostname())
	if u.Hostname() != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("%s: the storm runs against loopback addresses only", raw)
	}
	return nil
}

// Run starts every client at once and waits for all of them.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if err := CheckLoopback(cfg.URL); err != nil {
		return nil, err
	}
	if len(cfg.Accounts) == 0 || cfg.Clients < 1 {
		return nil, errors.New("storm: no accounts or clients")
	}
	if cfg.Deadline <= 0 {
		cfg.Deadline = 5 * time.Minute
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = 30 * time.Second
	}
	st := &stormState{rep: &Report{Clients: cfg.Clients, Statuses: map[int]int{}}}
	ctx, cancel := context.WithTimeout(ctx, cfg.Deadline)
	defer cancel()
	sampleDone := make(chan struct{})
	sampleStop := make(chan struct{})
	go func() { sampleServer(cfg.PID, st.rep, sampleStop); close(sampleDone) }()

	start := time.Now()
	var wg sync.WaitGroup
	var finished atomic.Int32
	gate := make(chan struct{})
	for i := 0; i < cfg.Clients; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			acct := cfg.Accounts[i%len(cfg.Accounts)]
			tr := &http.Transport{MaxIdleConnsPerHost: 1, DisableCompression: true, ResponseHeaderTimeout: cfg.RequestTimeout}
			defer tr.CloseIdleConnections()
			c := &client{st: st, hc: &http.Client{Transport: tr}, base: cfg.URL, acct: acct, timeout: cfg.RequestTimeout,
				rng: rand.New(rand.NewPCG(uint64(i), 7))}
			<-gate
			if c.phone(ctx) {
				finished.Add(1)
				took := time.Since(start)
				st.mu.Lock()
				st.clientTook = append(st.clientTook, took)
				st.mu.Unlock()
			}
		}(i)
	}
	close(gate)
	wg.Wait()
	st.rep.Took = time.Since(start)
	close(sampleStop)
	<-sampleDone
	st.rep.Finished = int(finished.Load())
	st.rep.MaxWait = time.Duration(st.maxWait.Load())
	sort.Slice(st.clientTook, func(i, j int) bool { return st.clientTook[i] < st.clientTook[j] })
	if n := len(st.clientTook); n > 0 {
		st.rep.ClientP50 = st.clientTook[n/2]
		st.rep.ClientP99 = st.clientTook[min(n-1, n*99/100)]
	}
	return st.rep, nil
}

// sampleServer records the server's descriptors every 100 ms and its
// VmHWM at the end.
func sampleServer(pid int, rep *Report, stop chan struct{}) {
	if pid <= 0 {
		<-stop
		return
	}
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		if ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid)); err == nil && len(ents) > rep.PeakFDs {
			rep.PeakFDs = len(ents)
		}
		select {
		case <-stop:
			rep.VmHWMKiB = procStatusKiB(pid, "VmHWM")
			return
		case <-t.C:
		}
	}
}

func procStatusKiB(pid int, field string) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

// client is one phone.
type client struct {
	st      *stormState
	hc      *http.Client
	base    string
	acct    Account
	timeout time.Duration
	rng     *rand.Rand
}

const xmlType = "application/xml; charset=utf-8"

// phone runs the three steps and reports whether it got through all.
func (c *client) phone(ctx context.Context) bool {
	if _, ok := c.do(ctx, "PROPFIND", c.acct.Book, map[string]string{"Depth": "1"},
		`<?xml version="1.0"?><D:propfind xmlns:D="DAV:"><D:prop><D:getetag/><D:resourcetype/></D:prop></D:propfind>`); !ok {
		return false
	}
	body, ok := c.do(ctx, "REPORT", c.acct.Book, nil,
		`<?xml version="1.0"?><D:sync-collection xmlns:D="DAV:"><D:sync-token>`+xmlEscape(c.acct.Token)+
			`</D:sync-token><D:sync-level>1</D:sync-level><D:prop><D:getetag/></D:prop></D:sync-collection>`)
	if !ok {
		return false
	}
	hrefs, err := changedHrefs(body)
	if err != nil {
		c.st.violation("%s: sync-collection answer: %v", c.acct.Name, err)
		return false
	}
	if len(hrefs) == 0 {
		c.st.violation("%s: sync-collection from the old token reported no changes", c.acct.Name)
		return false
	}
	var q strings.Builder
	q.WriteString(`<?xml version="1.0"?><C:addressbook-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:prop><D:getetag/><C:address-data/></D:prop>`)
	for _, h := range hrefs {
		q.WriteString("<D:href>" + xmlEscape(h) + "</D:href>")
	}
	q.WriteString("</C:addressbook-multiget>")
	mg, ok := c.do(ctx, "REPORT", c.acct.Book, nil, q.String())
	if !ok {
		return false
	}
	if n := bytes.Count(mg, []byte("BEGIN:VCARD")); n != len(hrefs) {
		c.st.violation("%s: multiget of %d changes returned %d cards", c.acct.Name, len(hrefs), n)
		return false
	}
	return true
}

// do sends one request until it gets a 2xx, waiting out 503 and 429 as
// their Retry-After says (plus jitter). Anything else is a violation.
func (c *client) do(ctx context.Context, method, path string, hdr map[string]string, body string) ([]byte, bool) {
	for {
		if ctx.Err() != nil {
			c.st.violation("%s: %s %s not done before the storm's deadline", c.acct.Name, method, path)
			return nil, false
		}
		req, err := http.NewRequestWithContext(ctx, method, c.base+path, strings.NewReader(body))
		if err != nil {
			c.st.violation("%v", err)
			return nil, false
		}
		req.SetBasicAuth(c.acct.Name, c.acct.Password)
		req.Header.Set("Content-Type", xmlType)
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		sent := time.Now()
		rctx, cancel := context.WithTimeout(ctx, c.timeout)
		resp, err := c.hc.Do(req.WithContext(rctx))
		var b []byte
		if err == nil {
			b, err = io.ReadAll(resp.Body)
			resp.Body.Close()
		}
		cancel()
		c.st.waited(time.Since(sent))
		if err != nil {
			c.st.violation("%s: %s %s: no answer after %v: %v", c.acct.Name, method, path, time.Since(sent).Round(time.Millisecond), err)
			return nil, false
		}
		switch {
		case resp.StatusCode >= 200 && resp.StatusCode < 300:
			c.st.status(resp.StatusCode, false)
			return b, true
		case resp.StatusCode == http.StatusServiceUnavailable || resp.StatusCode == http.StatusTooManyRequests:
			secs, err := strconv.Atoi(resp.Header.Get("Retry-After"))
			if err != nil || secs < 0 {
				c.st.violation("%s: %s %s: %d with Retry-After %q", c.acct.Name, method, path, resp.StatusCode, resp.Header.Get("Retry-After"))
				return nil, false
			}
			c.st.status(resp.StatusCode, true)
			wait := time.Duration(secs)*time.Second + time.Duration(c.rng.Int64N(int64(time.Second)))
			select {
			case <-time.After(wait):
			case <-ctx.Done():
			}
		default:
			c.st.status(resp.StatusCode, false)
			c.st.violation("%s: %s %s: status %d: %.200s", c.acct.Name, method, path, resp.StatusCode, b)
			return nil, false
		}
	}
}

// changedHrefs returns the hrefs a sync-collection answer reports as
// present (not 404).
func changedHrefs(body []byte) ([]string, error) {
	var ms struct {
		Responses []struct {
			Href   string `xml:"DAV: href"`
			Status string `xml:"DAV: status"`
		} `xml:"DAV: response"`
	}
	if err := xml.Unmarshal(body, &ms); err != nil {
		return nil, err
	}
	var out []string
	for _, r := range ms.Responses {
		if !strings.Contains(r.Status, " 404 ") {
			out = append(out, r.Href)
		}
	}
	return out, nil
}

func xmlEscape(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s))
	return b.String()
}
