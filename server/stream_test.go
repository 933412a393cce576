package server

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/pimvault/pimvault/card"
	"github.com/pimvault/pimvault/storage"
)

// cancellingWriter records what is written and cancels the request's
// context once the first bytes are out, as a client that goes away does.
type cancellingWriter struct {
	*httptest.ResponseRecorder
	cancel context.CancelFunc
}

func (w *cancellingWriter) Write(b []byte) (int, error) {
	w.cancel()
	return w.ResponseRecorder.Write(b)
}

// TestListingStopsWhenClientGoes: a Depth 1 listing and a sync-collection
// of 3,000 members stream, and stop soon after the client's context ends:
// the connection is cut (the 207 is already sent), and far less than the
// whole answer was written.
func TestListingStopsWhenClientGoes(t *testing.T) {
	e := newTestEnv(t)
	e.do(t, "alice", "PROPFIND", "/dav/addressbooks/alice/", map[string]string{"Depth": "0"}, "")
	for i := range 3000 {
		uid := fmt.Sprintf("c%04d", i)
		body := []byte(testCard(uid, "Contact "+uid))
		info, err := card.Validate(body)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.store.Commit(context.Background(), storage.Change{Op: storage.OpPut, Principal: "alice", Collection: "contacts",
			Name: uid + ".vcf", Body: body, Meta: storage.ObjectMeta{UID: info.UID, Component: "VCARD"}}); err != nil {
			t.Fatal(err)
		}
	}
	h := New(e.store, Config{}, discardLog()).Handler()
	for _, tc := range []struct{ method, depth, body string }{
		{"PROPFIND", "1", `<D:propfind xmlns:D="DAV:"><D:prop><D:getetag/></D:prop></D:propfind>`},
		{"PROPFIND", "1", ""},
		{"REPORT", "", syncReport("")},
	} {
		full := httptest.NewRecorder()
		req := httptest.NewRequest(tc.method, "/dav/addressbooks/alice/contacts/", strings.NewReader(tc.body))
		req.SetBasicAuth("alice", testPassword)
		req.Header.Set("Depth", tc.depth)
		h.ServeHTTP(full, req)
		ctx, cancel := context.WithCancel(context.Background())
		w := &cancellingWriter{ResponseRecorder: httptest.NewRecorder(), cancel: cancel}
		req = httptest.NewRequest(tc.method, "/dav/addressbooks/alice/contacts/", strings.NewReader(tc.body)).WithContext(ctx)
		req.SetBasicAuth("alice", testPassword)
		req.Header.Set("Depth", tc.depth)
		func() {
			defer func() {
				if v := recover(); v != http.ErrAbortHandler {
					t.Fatalf("%s: the cut listing ended with %v, want the connection cut (http.ErrAbortHandler)", tc.method, v)
				}
			}()
			h.ServeHTTP(w, req)
		}()
		if w.Code != http.StatusMultiStatus || w.Body.Len() >= full.Body.Len()/4 {
			t.Fatalf("%s: %d, %d of %d bytes written after the client went", tc.method, w.Code, w.Body.Len(), full.Body.Len())
		}
	}
}

func discardLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
