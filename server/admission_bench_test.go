package server

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/pimvault/pimvault/account"
	"github.com/pimvault/pimvault/server/internal/admit"
	"github.com/pimvault/pimvault/storage"
)

// BenchmarkAdmission compares signed-in PROPFIND Depth 1 of a 50-contact
// address book with 32 clients in parallel, through the whole handler
// (admission and work pools) and through the router alone with pools that
// never wait: the difference is what admission costs at 32 clients.
//
//	go test -run '^$' -bench Admission -cpu 2 ./server
func BenchmarkAdmission(b *testing.B) {
	st, err := storage.Open(b.TempDir(), storage.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	if err := account.AddUser(context.Background(), st, "alice", testPassword); err != nil {
		b.Fatal(err)
	}
	s := New(st, Config{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	full := s.Handler()
	for i := 0; i < 50; i++ {
		req := httptest.NewRequest("PUT", "/dav/addressbooks/alice/contacts/c"+string(rune('a'+i%26))+string(rune('a'+i/26))+".vcf",
			strings.NewReader(testCard("c"+string(rune('a'+i%26))+string(rune('a'+i/26)), "Person")))
		req.SetBasicAuth("alice", testPassword)
		req.Header.Set("Content-Type", "text/vcard")
		rec := httptest.NewRecorder()
		full.ServeHTTP(rec, req)
		if rec.Code != http.StatusCreated {
			b.Fatalf("PUT: %d %s", rec.Code, rec.Body)
		}
	}
	// The same server without admission: the router alone, with work pools
	// too large to ever wait.
	bare := New(st, Config{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	unbounded := admit.Config{Limit: 1 << 20, Queue: 1}
	bare.pools = workPools{listing: admit.NewGate(unbounded), heavy: admit.NewGate(unbounded), body: admit.NewGate(unbounded)}
	for _, c := range []struct {
		name string
		h    http.Handler
	}{{"with-admission", full}, {"without", bare.accessLog(bare.routes())}} {
		b.Run(c.name, func(b *testing.B) {
			b.SetParallelism(16) // 32 goroutines on 2 CPUs
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					req := httptest.NewRequest("PROPFIND", "/dav/addressbooks/alice/contacts/", nil)
					req.SetBasicAuth("alice", testPassword)
					req.Header.Set("Depth", "1")
					rec := httptest.NewRecorder()
					c.h.ServeHTTP(rec, req)
					if rec.Code != http.StatusMultiStatus {
						b.Errorf("PROPFIND: %d", rec.Code)
						return
					}
				}
			})
		})
	}
}
