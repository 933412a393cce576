package server

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pimvault/pimvault/account"
	"github.com/pimvault/pimvault/card"
	"github.com/pimvault/pimvault/storage"
)

// BenchmarkPropfindDepth1: what a phone's first sync starts with, PROPFIND
// Depth 1 (getetag, getcontenttype, resourcetype) of an address book of
// 10,000 contacts, over loopback HTTP, the answer read to the end.
func BenchmarkPropfindDepth1(b *testing.B) {
	st, err := storage.Open(b.TempDir(), storage.Options{})
	if err != nil {
		b.Fatal(err)
	}
	if err := account.AddUser(context.Background(), st, "alice", testPassword); err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(New(st, Config{FailedLoginDelay: time.Millisecond}, slog.New(slog.NewTextHandler(io.Discard, nil))).Handler())
	b.Cleanup(func() { srv.Close(); st.Close() })
	const book = "/dav/addressbooks/alice/contacts/"
	do := func(method, path, depth, body string) (int, int64) {
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		req.SetBasicAuth("alice", testPassword)
		if depth != "" {
			req.Header.Set("Depth", depth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		defer resp.Body.Close()
		n, _ := io.Copy(io.Discard, resp.Body)
		return resp.StatusCode, n
	}
	do("PROPFIND", book, "0", "") // makes the default collections
	const n = 10000
	var wg sync.WaitGroup
	for w := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += 16 {
				uid := fmt.Sprintf("contact-%05d", i)
				body := []byte(testCard(uid, "Contact "+uid))
				info, err := card.Validate(body)
				if err != nil {
					b.Error(err)
					return
				}
				if _, err := st.Commit(context.Background(), storage.Change{Op: storage.OpPut, Principal: "alice", Collection: "contacts",
					Name: uid + ".vcf", Body: body, Meta: storage.ObjectMeta{UID: info.UID, Component: "VCARD"}}); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	const q = `<D:propfind xmlns:D="DAV:"><D:prop><D:getetag/><D:getcontenttype/><D:resourcetype/></D:prop></D:propfind>`
	b.ResetTimer()
	var bytes int64
	for range b.N {
		code, got := do("PROPFIND", book, "1", q)
		if code != http.StatusMultiStatus {
			b.Fatalf("PROPFIND: %d", code)
		}
		bytes = got
	}
	b.ReportMetric(float64(bytes)/(1<<20), "MiB/answer")
}
