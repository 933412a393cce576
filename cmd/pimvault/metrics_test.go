package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/pimvault/pimvault/storage"
)

// scrape fetches url (a /metrics endpoint) and parses it with the
// Prometheus text parser.
func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d", url, resp.StatusCode)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse %s: %v", url, err)
	}
	return fams
}

// metricValue returns the value of the sample of family name whose labels
// include labels (counter, gauge, or a histogram's count), 0 when absent.
func metricValue(fams map[string]*dto.MetricFamily, name string, labels map[string]string) float64 {
	f := fams[name]
	if f == nil {
		return 0
	}
	sum := 0.0
next:
	for _, m := range f.GetMetric() {
		have := map[string]string{}
		for _, l := range m.GetLabel() {
			have[l.GetName()] = l.GetValue()
		}
		for k, v := range labels {
			if have[k] != v {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			sum += m.Counter.GetValue()
		case m.Gauge != nil:
			sum += m.Gauge.GetValue()
		case m.Histogram != nil:
			sum += float64(m.Histogram.GetSampleCount())
		}
	}
	return sum
}

var metricsAddr = regexp.MustCompile(`msg=metrics addr=(\S+)`)

// TestMetricsFollowTraffic: the real binary's /metrics, parsed with the
// Prometheus text parser, moves as the requests sent say.
func TestMetricsFollowTraffic(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	rs := startServer(t, dir, "--metrics-addr", "127.0.0.1:0")
	m := metricsAddr.FindStringSubmatch(rs.stderr.String())
	if m == nil {
		t.Fatalf("no metrics address logged:\n%s", rs.stderr.String())
	}
	murl := "http://" + m[1]
	before := scrape(t, murl+"/metrics")
	for _, name := range []string{"go_goroutines", "process_open_fds", "pimvault_journal_head_sequence", "pimvault_journal_bytes", "pimvault_accounts_recovering", "pimvault_http_requests_in_flight", "pimvault_ready"} {
		if before[name] == nil {
			t.Errorf("metric %s is missing", name)
		}
	}
	if metricValue(before, "pimvault_ready", nil) != 1 {
		t.Errorf("pimvault_ready = %v on a serving server", metricValue(before, "pimvault_ready", nil))
	}
	pw := rs.password
	for i := 0; i < 3; i++ {
		davDo(t, rs, "admin", pw, "PROPFIND", "/dav/addressbooks/admin/", map[string]string{"Depth": "0"}, "")
	}
	for i := 0; i < 2; i++ {
		card := fmt.Sprintf("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:m%d\r\nFN:M %d\r\nEND:VCARD\r\n", i, i)
		if resp, _ := davDo(t, rs, "admin", pw, "PUT", fmt.Sprintf("/dav/addressbooks/admin/contacts/m%d.vcf", i), map[string]string{"Content-Type": "text/vcard"}, card); resp.StatusCode != 201 {
			t.Fatalf("put: %d", resp.StatusCode)
		}
	}
	for i := 0; i < 2; i++ {
		davDo(t, rs, "admin", "wrong password", "PROPFIND", "/dav/", map[string]string{"Depth": "0"}, "")
	}
	resp, err := http.Get(rs.url + "/dav/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if res := pimvault(t, "recovery", "open", "--user", "admin", "--data", dir); res.code != 0 {
		t.Fatal(res)
	}
	if resp, _ := davDo(t, rs, "admin", pw, "PROPFIND", "/dav/addressbooks/admin/", map[string]string{"Depth": "0"}, ""); resp.StatusCode != 503 {
		t.Fatalf("a stock client of a RECOVERING account: %d, want 503", resp.StatusCode)
	}
	after := scrape(t, murl+"/metrics")
	delta := func(name string, labels map[string]string) float64 {
		return metricValue(after, name, labels) - metricValue(before, name, labels)
	}
	for _, c := range []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"pimvault_http_requests_total", map[string]string{"method": "PUT", "route": "object", "status": "201"}, 2},
		{"pimvault_http_requests_total", map[string]string{"method": "PROPFIND", "route": "home", "status": "207"}, 3},
		{"pimvault_http_requests_total", map[string]string{"method": "PROPFIND", "status": "401"}, 2},
		{"pimvault_http_requests_total", map[string]string{"method": "GET", "route": "root", "status": "401"}, 1},
		{"pimvault_http_request_duration_seconds", map[string]string{"method": "PUT", "route": "object"}, 2},
		{"pimvault_http_rejections_total", map[string]string{"status": "503"}, 1},
		{"pimvault_signins_total", map[string]string{"outcome": "ok"}, 6},
		{"pimvault_signins_total", map[string]string{"outcome": "failed"}, 2},
		{"pimvault_signins_total", map[string]string{"outcome": "no_credentials"}, 1},
		{"pimvault_accounts_recovering", nil, 1},
	} {
		if got := delta(c.name, c.labels); got != c.want {
			t.Errorf("%s%v moved by %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	// Two PUTs and the recovery record: at least three records in group
	// commits, each timed.
	if got := metricValue(after, "pimvault_commit_batch_records", nil) - metricValue(before, "pimvault_commit_batch_records", nil); got < 1 {
		t.Errorf("no group commit observed (%v)", got)
	}
	if sum := after["pimvault_commit_batch_records"].GetMetric()[0].GetHistogram().GetSampleSum() - before["pimvault_commit_batch_records"].GetMetric()[0].GetHistogram().GetSampleSum(); sum < 3 {
		t.Errorf("commit batch records sum moved by %v, want at least 3", sum)
	}
	if metricValue(after, "pimvault_journal_sync_seconds", nil) <= metricValue(before, "pimvault_journal_sync_seconds", nil) {
		t.Error("journal sync latency not observed")
	}
	_, head := status(t, dir)
	if got := metricValue(after, "pimvault_journal_head_sequence", nil); fmt.Sprint(got) != head {
		t.Errorf("journal head metric %v, status says %s", got, head)
	}
	if after["pimvault_snapshot_age_seconds"] != nil || after["pimvault_last_drill_success"] != nil {
		t.Error("snapshot age or drill result reported before any snapshot or drill")
	}
	// A snapshot and a drill through the admin socket show up at the next
	// scrape.
	if res := pimvault(t, "backup", "--data", dir); res.code != 0 {
		t.Fatal(res)
	}
	if res := pimvault(t, "verify", "--drill", "--data", dir); res.code != 0 {
		t.Fatal(res)
	}
	third := scrape(t, murl+"/metrics")
	if got := metricValue(third, "pimvault_snapshots", nil); got < 1 {
		t.Errorf("pimvault_snapshots = %v after a backup", got)
	}
	if f := third["pimvault_snapshot_age_seconds"]; f == nil || f.GetMetric()[0].GetGauge().GetValue() > 600 {
		t.Errorf("snapshot age after a fresh backup: %v", f)
	}
	if got := metricValue(third, "pimvault_last_drill_success", nil); got != 1 {
		t.Errorf("pimvault_last_drill_success = %v after a passing drill", got)
	}
	rs.stop(t)
}

// child is a pimvault serve started by a test, its log lines read as they
// come.
type child struct {
	cmd   *exec.Cmd
	mu    sync.Mutex
	lines []string
	added chan struct{}
	done  chan struct{}
}

func startChild(t *testing.T, args ...string) *child {
	t.Helper()
	c := &child{cmd: exec.Command(pimvaultBin, args...), added: make(chan struct{}, 1), done: make(chan struct{})}
	c.cmd.Stdout = io.Discard
	errPipe, err := c.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(errPipe)
		for sc.Scan() {
			c.mu.Lock()
			c.lines = append(c.lines, sc.Text())
			c.mu.Unlock()
			select {
			case c.added <- struct{}{}:
			default:
			}
		}
		close(c.done)
	}()
	t.Cleanup(func() { c.cmd.Process.Kill(); <-c.done; c.cmd.Wait() })
	return c
}

// waitFor returns the first submatch of re in the log, waiting up to d.
func (c *child) waitFor(t *testing.T, re *regexp.Regexp, d time.Duration) string {
	t.Helper()
	deadline := time.After(d)
	for {
		c.mu.Lock()
		for _, l := range c.lines {
			if m := re.FindStringSubmatch(l); m != nil {
				c.mu.Unlock()
				return m[1]
			}
		}
		c.mu.Unlock()
		select {
		case <-c.added:
		case <-c.done:
			c.mu.Lock()
			defer c.mu.Unlock()
			t.Fatalf("server exited before logging %v:\n%s", re, strings.Join(c.lines, "\n"))
		case <-deadline:
			t.Fatalf("no %v in the log within %v", re, d)
		}
	}
}

func (c *child) log() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return strings.Join(c.lines, "\n")
}

func getStatus(url string) (int, string) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestReadyzDuringReplayAndDrain: while a large journal replays into a new
// store.db, /readyz answers 503 (and DAV requests 503 with Retry-After)
// although /healthz answers; once open it answers 200; after SIGTERM it
// answers 503 while the listener still accepts, and the last log line says
// "stopped" (JSON logs).
func TestReadyzDuringReplayAndDrain(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s, err := storage.Open(dir, storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := s.Commit(ctx, storage.Change{Op: storage.OpPutPrincipal, Principal: "alice", Body: []byte(`{}`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Commit(ctx, storage.Change{Op: storage.OpCreateCollection, Principal: "alice", Collection: "contacts", Kind: "addressbook"}); err != nil {
		t.Fatal(err)
	}
	const n, workers = 20000, 64
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; i < n; i += workers {
				uid := fmt.Sprintf("r%06d", i)
				body := fmt.Sprintf("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:%s\r\nFN:%s\r\nNOTE:%s\r\nEND:VCARD\r\n", uid, uid, strings.Repeat("n", 400))
				if _, err := s.Commit(ctx, storage.Change{Op: storage.OpPut, Principal: "alice", Collection: "contacts", Name: uid + ".vcf", Body: []byte(body), Meta: storage.ObjectMeta{UID: uid, Component: "VCARD"}}); err != nil {
					errs <- err
					return
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, "store.db")); err != nil {
		t.Fatal(err)
	}

	c := startChild(t, "serve", "--addr", "127.0.0.1:0", "--data", dir, "--log-format", "json", "--drain-delay", "3s")
	addr := c.waitFor(t, regexp.MustCompile(`"msg":"listening","addr":"([^"]+)"`), 2*time.Minute)
	base := "http://" + addr
	code, body := getStatus(base + "/readyz")
	sawOpening := code == 503 && (strings.Contains(body, "opening") || strings.Contains(body, "starting"))
	resp, err := http.Get(base + "/dav/")
	if err == nil {
		resp.Body.Close()
		if sawOpening && (resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "") {
			t.Errorf("a DAV request while the store opens: %d Retry-After %q, want 503 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
		}
	}
	if hc, _ := getStatus(base + "/healthz"); hc != 200 {
		t.Errorf("/healthz while opening: %d", hc)
	}
	c.waitFor(t, regexp.MustCompile(`"msg":"(serving)"`), 2*time.Minute)
	if !sawOpening {
		t.Fatalf("/readyz answered %d %q right after the listener bound, while %d records were to replay; want 503 opening\n%s", code, body, n, c.log())
	}
	if !strings.Contains(c.log(), "replayed journal into store.db") {
		t.Errorf("the server did not replay the journal:\n%s", c.log())
	}
	if code, body := getStatus(base + "/readyz"); code != 200 {
		t.Fatalf("/readyz once serving: %d %q", code, body)
	}
	if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	c.waitFor(t, regexp.MustCompile(`"msg":"(shutting down)`), time.Minute)
	code, body = getStatus(base + "/readyz")
	if code != 503 || !strings.Contains(body, "draining") {
		t.Errorf("/readyz right after SIGTERM: %d %q, want 503 draining (the listener still open)", code, body)
	}
	<-c.done
	if err := c.cmd.Wait(); err != nil {
		t.Errorf("exit after SIGTERM: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(c.log()), "\n")
	var last struct {
		Msg   string `json:"msg"`
		Level string `json:"level"`
	}
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &last); err != nil || last.Msg != "stopped" {
		t.Errorf("last log line %q (%v): want a JSON line with msg stopped", lines[len(lines)-1], err)
	}
}
