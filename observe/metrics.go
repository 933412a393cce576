package observe

import (
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/pimvault/pimvault/storage"
)

// Metrics holds the server's Prometheus metrics in their own registry.
type Metrics struct {
	reg        *prometheus.Registry
	requests   *prometheus.CounterVec
	latency    *prometheus.HistogramVec
	inFlight   prometheus.Gauge
	rejections *prometheus.CounterVec
	signIns    *prometheus.CounterVec
	batch      prometheus.Histogram
	sync       prometheus.Histogram
	store      *storeCollector
	mail       *MailQueue // registered by MailQueue
}

// New creates the metrics; ready is reported as pimvault_ready.
func New(ready *Readiness) *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry()}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "pimvault_http_requests_total",
		Help: "HTTP requests answered, by method, route class and status code."}, []string{"method", "route", "status"})
	m.latency = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "pimvault_http_request_duration_seconds",
		Help: "Time from a request's arrival to its answer, by method and route class.", Buckets: prometheus.DefBuckets}, []string{"method", "route"})
	m.inFlight = prometheus.NewGauge(prometheus.GaugeOpts{Name: "pimvault_http_requests_in_flight", Help: "Requests being served now."})
	m.rejections = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "pimvault_http_rejections_total",
		Help: "Requests refused for load, throttling or recovery: 503 (with Retry-After) and 429, by status and route class."}, []string{"status", "route"})
	m.signIns = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "pimvault_signins_total",
		Help: "Sign-in attempts by outcome: ok, failed (wrong user or password), throttled (429), gave_up (503: not checked in time), no_credentials."}, []string{"outcome"})
	m.batch = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "pimvault_commit_batch_records",
		Help: "Journal records written per group commit (one fdatasync each).", Buckets: prometheus.ExponentialBuckets(1, 2, 11)})
	m.sync = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "pimvault_journal_sync_seconds",
		Help: "Time to write a group commit's records to the journal and fdatasync them.", Buckets: prometheus.ExponentialBuckets(0.0001, 2, 16)})
	m.store = &storeCollector{}
	for _, name := range []string{"ok", "failed", "throttled", "gave_up", "no_credentials"} {
		m.signIns.WithLabelValues(name) // present at 0 before the first attempt
	}
	m.reg.MustRegister(m.requests, m.latency, m.inFlight, m.rejections, m.signIns, m.batch, m.sync, m.store,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "pimvault_ready", Help: "1 when /readyz answers 200, else 0."}, func() float64 {
			if ready.Ready() {
				return 1
			}
			return 0
		}),
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Registry returns the registry (for tests and extra collectors).
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// SetStore starts the store's gauges (journal, snapshots, drills,
// recovering accounts); before it they are absent.
func (m *Metrics) SetStore(s *storage.Store) { m.store.s.Store(s) }

// SignIn counts one sign-in attempt's outcome.
func (m *Metrics) SignIn(outcome string) { m.signIns.WithLabelValues(outcome).Inc() }

// Committed implements storage.Observer.
func (m *Metrics) Committed(records int, journalSync time.Duration) {
	m.batch.Observe(float64(records))
	m.sync.Observe(journalSync.Seconds())
}

var _ storage.Observer = (*Metrics)(nil)

// Instrument counts and times every request next answers.
func (m *Metrics) Instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		m.inFlight.Inc()
		defer m.inFlight.Dec()
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		defer func() {
			method, route := MethodLabel(r.Method), RouteClass(r.URL.Path)
			code := strconv.Itoa(sw.status)
			m.requests.WithLabelValues(method, route, code).Inc()
			m.latency.WithLabelValues(method, route).Observe(time.Since(start).Seconds())
			if sw.status == http.StatusServiceUnavailable || sw.status == http.StatusTooManyRequests {
				m.rejections.WithLabelValues(code, route).Inc()
			}
		}()
		next.ServeHTTP(sw, r)
	})
}

// statusWriter remembers the status a handler answered with.
type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection (flush,
// deadlines).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// MethodLabel maps a request method to a label: the methods the server
// knows, else "other".
func MethodLabel(m string) string {
	switch m {
	case "GET", "HEAD", "PUT", "DELETE", "POST", "OPTIONS", "PROPFIND", "PROPPATCH", "REPORT",
		"MKCOL", "MKCALENDAR", "MOVE", "COPY", "LOCK", "UNLOCK":
		return m
	}
	return "other"
}

// RouteClass maps a path to one of a few classes: health, metrics,
// discovery, api, recovery, files, root, principal, home, collection,
// object, other (the DAV tree is /dav/{principals,addressbooks,calendars}/
// <user>/<collection>/<object>).
func RouteClass(path string) string {
	switch {
	case path == "/healthz" || path == "/readyz":
		return "health"
	case path == "/metrics":
		return "metrics"
	case strings.HasPrefix(path, "/.well-known/"):
		return "discovery"
	case strings.HasPrefix(path, "/api/") || path == "/api":
		return "api"
	case path == "/" || path == "/dav" || path == "/dav/":
		return "root"
	case !strings.HasPrefix(path, "/dav/"):
		return "other"
	}
	parts := strings.Split(strings.Trim(strings.TrimPrefix(path, "/dav/"), "/"), "/")
	switch parts[0] {
	case "files":
		return "files"
	case "principals":
		return "principal"
	case "addressbooks", "calendars":
		switch len(parts) {
		case 1, 2:
			return "home"
		case 3:
			return "collection"
		default:
			return "object"
		}
	}
	return "other"
}

// storeCollector reads the store's gauges at scrape time.
type storeCollector struct{ s atomic.Pointer[storage.Store] }

var (
	descHead       = prometheus.NewDesc("pimvault_journal_head_sequence", "Sequence of the last acknowledged journal record.", nil, nil)
	descJournal    = prometheus.NewDesc("pimvault_journal_bytes", "Size of the journal segments on disk.", nil, nil)
	descSnapAge    = prometheus.NewDesc("pimvault_snapshot_age_seconds", "Age of the newest snapshot in <data>/snapshots (absent when there is none).", nil, nil)
	descSnapCount  = prometheus.NewDesc("pimvault_snapshots", "Snapshots in <data>/snapshots.", nil, nil)
	descDrillOK    = prometheus.NewDesc("pimvault_last_drill_success", "1 when the last restore drill passed, 0 when it failed (absent when none ran).", nil, nil)
	descDrillTime  = prometheus.NewDesc("pimvault_last_drill_timestamp_seconds", "When the last restore drill ran (Unix time).", nil, nil)
	descRecovering = prometheus.NewDesc("pimvault_accounts_recovering", "Accounts in RECOVERING (stock clients get 503).", nil, nil)
	descScrapeErr  = prometheus.NewDesc("pimvault_store_scrape_errors", "1 when reading a store gauge failed during this scrape.", nil, nil)
)

func (c *storeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descHead, descJournal, descSnapAge, descSnapCount, descDrillOK, descDrillTime, descRecovering, descScrapeErr} {
		ch <- d
	}
}

func (c *storeCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.s.Load()
	if s == nil {
		return
	}
	gauge := func(d *prometheus.Desc, v float64) { ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v) }
	failed := 0.0
	gauge(descHead, float64(s.Head()))
	if n, err := s.JournalBytes(); err == nil {
		gauge(descJournal, float64(n))
	} else {
		failed = 1
	}
	if snaps, err := storage.ListSnapshots(filepath.Join(s.Dir(), storage.SnapshotDir)); err == nil {
		gauge(descSnapCount, float64(len(snaps)))
		var newest time.Time
		for _, sn := range snaps {
			if sn.Created.After(newest) {
				newest = sn.Created
			}
		}
		if !newest.IsZero() {
			gauge(descSnapAge, time.Since(newest).Seconds())
		}
	} else {
		failed = 1
	}
	if d, err := storage.LastDrill(s.Dir()); err == nil && d != nil {
		ok := 0.0
		if d.OK {
			ok = 1
		}
		gauge(descDrillOK, ok)
		gauge(descDrillTime, float64(d.Time.Unix()))
	} else if err != nil {
		failed = 1
	}
	if n, err := s.RecoveringCount(); err == nil {
		gauge(descRecovering, float64(n))
	} else {
		failed = 1
	}
	gauge(descScrapeErr, failed)
}
