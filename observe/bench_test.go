package observe

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// BenchmarkInstrument is the cost the metrics middleware adds to one
// request (counters, histogram, in-flight gauge, route classification).
func BenchmarkInstrument(b *testing.B) {
	m := New(NewReadiness())
	plain := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(207) })
	for _, c := range []struct {
		name string
		h    http.Handler
	}{{"bare", plain}, {"instrumented", m.Instrument(plain)}} {
		b.Run(c.name, func(b *testing.B) {
			req := httptest.NewRequest("PROPFIND", "/dav/addressbooks/alice/contacts/", nil)
			w := httptest.NewRecorder()
			b.ReportAllocs()
			for b.Loop() {
				c.h.ServeHTTP(w, req)
			}
		})
	}
}
