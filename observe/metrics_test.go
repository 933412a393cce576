package observe

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

var routeClasses = map[string]bool{"health": true, "metrics": true, "discovery": true, "api": true, "root": true,
	"files": true, "principal": true, "home": true, "collection": true, "object": true, "other": true}

func TestRouteClass(t *testing.T) {
	for path, want := range map[string]string{
		"/healthz": "health", "/readyz": "health", "/metrics": "metrics", "/.well-known/carddav": "discovery",
		"/api/history": "api", "/api/recovery/done": "api", "/": "root", "/dav/": "root",
		"/dav/principals/alice/": "principal", "/dav/addressbooks/alice/": "home",
		"/dav/calendars/alice/team/": "collection", "/dav/addressbooks/alice/contacts/x.vcf": "object",
		"/dav/files/alice/a/b": "files", "/dav/nonsense/": "other", "/favicon.ico": "other",
	} {
		if got := RouteClass(path); got != want {
			t.Errorf("RouteClass(%q) = %q, want %q", path, got, want)
		}
	}
}

// FuzzRouteClass: any path maps to one of the fixed classes, so a client
// cannot create new series.
func FuzzRouteClass(f *testing.F) {
	for _, s := range []string{"/", "/dav/addressbooks/a/b/c", "/dav//", "", "/dav/files", "//dav/x", "/dav/calendars/\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, path string) {
		if c := RouteClass(path); !routeClasses[c] {
			t.Fatalf("RouteClass(%q) = %q, not a fixed class", path, c)
		}
		if m := MethodLabel(path); m != "other" && strings.ToUpper(m) != m {
			t.Fatalf("MethodLabel(%q) = %q", path, m)
		}
	})
}

func TestInstrumentCountsStatusAndRejections(t *testing.T) {
	r := NewReadiness()
	m := New(r)
	h := m.Instrument(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		switch req.URL.Path {
		case "/dav/addressbooks/a/b/c.vcf":
			w.WriteHeader(201)
		case "/busy":
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(503)
		default:
			w.Write([]byte("ok")) // an implicit 200
		}
	}))
	for _, p := range []string{"/dav/addressbooks/a/b/c.vcf", "/busy", "/busy", "/healthz"} {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("PUT", p, nil))
	}
	if got := testutil.ToFloat64(m.requests.WithLabelValues("PUT", "object", "201")); got != 1 {
		t.Errorf("PUT object 201: %v", got)
	}
	if got := testutil.ToFloat64(m.requests.WithLabelValues("PUT", "health", "200")); got != 1 {
		t.Errorf("implicit 200: %v", got)
	}
	if got := testutil.ToFloat64(m.rejections.WithLabelValues("503", "other")); got != 2 {
		t.Errorf("503 rejections: %v", got)
	}
	if got := testutil.ToFloat64(m.inFlight); got != 0 {
		t.Errorf("in flight after the requests: %v", got)
	}
	m.Committed(5, 2*time.Millisecond)
	if got := testutil.CollectAndCount(m.batch); got != 1 {
		t.Errorf("batch histogram series: %d", got)
	}
}

func TestReadiness(t *testing.T) {
	r := NewReadiness()
	for _, c := range []struct {
		state string
		code  int
	}{{StateStarting, 503}, {StateOpening, 503}, {StateReady, 200}, {StateDraining, 503}} {
		r.Set(c.state)
		w := httptest.NewRecorder()
		r.ServeReady(w, httptest.NewRequest("GET", "/readyz", nil))
		if w.Code != c.code || !strings.Contains(w.Body.String(), c.state) {
			t.Errorf("%s: %d %q, want %d", c.state, w.Code, w.Body.String(), c.code)
		}
		if c.code == 503 && w.Header().Get("Retry-After") == "" {
			t.Errorf("%s: 503 without Retry-After", c.state)
		}
	}
}
