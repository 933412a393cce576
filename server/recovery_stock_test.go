package server

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-vcard"
	"github.com/emersion/go-webdav"
	"github.com/emersion/go-webdav/carddav"

	"github.com/pimvault/pimvault/account"
	"github.com/pimvault/pimvault/storage"
)

// statusRecorder is an http.RoundTripper that records every status code.
type statusRecorder struct {
	mu       sync.Mutex
	statuses []int
}

func (s *statusRecorder) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	if err == nil {
		s.mu.Lock()
		s.statuses = append(s.statuses, resp.StatusCode)
		s.mu.Unlock()
	}
	return resp, err
}

func (s *statusRecorder) take() []int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := s.statuses
	s.statuses = nil
	return out
}

// stockClient models what DAVx5 does with go-webdav: discovery, then
// sync-collection with its token; on DAV:valid-sync-token it lists the
// collection from scratch and deletes every local item the listing does not
// show.
type stockClient struct {
	url   string
	hc    webdav.HTTPClient
	rec   *statusRecorder
	token string
	items map[string]string // path → UID
}

func newStockClient(url, user string) *stockClient {
	rec := &statusRecorder{}
	hc := webdav.HTTPClientWithBasicAuth(&http.Client{Transport: rec}, user, testPassword)
	return &stockClient{url: url, hc: hc, rec: rec, items: map[string]string{}}
}

func (c *stockClient) sync(ctx context.Context) error {
	wc, err := webdav.NewClient(c.hc, c.url+"/dav/")
	if err != nil {
		return err
	}
	principal, err := wc.FindCurrentUserPrincipal(ctx)
	if err != nil {
		return err
	}
	cc, err := carddav.NewClient(c.hc, c.url)
	if err != nil {
		return err
	}
	home, err := cc.FindAddressBookHomeSet(ctx, principal)
	if err != nil {
		return err
	}
	books, err := cc.FindAddressBooks(ctx, home)
	if err != nil {
		return err
	}
	if len(books) == 0 {
		return errors.New("no address book")
	}
	book := books[0].Path
	res, err := cc.SyncCollection(ctx, book, &carddav.SyncQuery{SyncToken: c.token})
	full := c.token == ""
	if err != nil && strings.Contains(err.Error(), "403") {
		// DAV:valid-sync-token: start over, and mirror the listing.
		res, err = cc.SyncCollection(ctx, book, &carddav.SyncQuery{})
		full = true
	}
	if err != nil {
		return err
	}
	var paths []string
	for _, o := range res.Updated {
		paths = append(paths, o.Path)
	}
	got := map[string]string{}
	if len(paths) > 0 {
		objs, err := cc.MultiGetAddressBook(ctx, book, &carddav.AddressBookMultiGet{Paths: paths, DataRequest: carddav.AddressDataRequest{AllProp: true}})
		if err != nil {
			return err
		}
		for _, o := range objs {
			got[o.Path] = o.Card.Value(vcard.FieldUID)
		}
	}
	if full {
		for p := range c.items {
			if _, ok := got[p]; !ok {
				delete(c.items, p)
			}
		}
	}
	for _, p := range res.Deleted {
		delete(c.items, p)
	}
	for p, uid := range got {
		c.items[p] = uid
	}
	c.token = res.SyncToken
	return nil
}

func (c *stockClient) uids() string {
	var out []string
	for _, u := range c.items {
		out = append(out, u)
	}
	sort.Strings(out)
	return strings.Join(out, ",")
}

// swapHandler serves whichever handler is current, like a server restarted
// on another data directory at the same address.
type swapHandler struct{ h atomic.Pointer[http.Handler] }

func (s *swapHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	(*s.h.Load()).ServeHTTP(w, r)
}

func newStoreServer(t *testing.T) (*storage.Store, http.Handler) {
	t.Helper()
	st, err := storage.Open(t.TempDir(), storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := account.AddUser(context.Background(), st, "alice", testPassword); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	return st, New(st, Config{FailedLoginDelay: 10 * time.Millisecond}, log).Handler()
}

// TestStockClientNotWipedDuringRecovery is acceptance 3: the server loses
// its data (a new empty store at the same address, the account recreated);
// a stock client that syncs while the principal is RECOVERING receives only
// 503s and keeps every item. After devices restored the data and recovery
// closed, its next sync mirrors the restored state and it still has
// everything.
func TestStockClientNotWipedDuringRecovery(t *testing.T) {
	ctx := context.Background()
	_, first := newStoreServer(t)
	sw := &swapHandler{}
	sw.h.Store(&first)
	srv := httptest.NewServer(sw)
	defer srv.Close()
	put := func(uid string, hdr map[string]string) int {
		req, _ := http.NewRequest("PUT", srv.URL+testBook+uid+".vcf", strings.NewReader(testCard(uid, "Person "+uid)))
		req.SetBasicAuth("alice", testPassword)
		req.Header.Set("Content-Type", "text/vcard")
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, uid := range []string{"u1", "u2", "u3"} {
		if code := put(uid, nil); code != http.StatusCreated {
			t.Fatalf("put %s: %d", uid, code)
		}
	}
	phone := newStockClient(srv.URL, "alice")
	if err := phone.sync(ctx); err != nil {
		t.Fatal(err)
	}
	if err := phone.sync(ctx); err != nil {
		t.Fatal(err)
	}
	if got := phone.uids(); got != "u1,u2,u3" {
		t.Fatalf("stock client before the loss: %s", got)
	}
	phone.rec.take()

	// Sidekick: the server comes back empty, the account recreated.
	second, h := newStoreServer(t)
	sw.h.Store(&h)
	for i := 0; i < 5; i++ {
		if err := phone.sync(ctx); err == nil {
			t.Fatalf("sync %d during recovery succeeded", i)
		}
		if got := phone.uids(); got != "u1,u2,u3" {
			t.Fatalf("sync %d during recovery: the stock client holds %s, want u1,u2,u3", i, got)
		}
	}
	statuses := phone.rec.take()
	// The very first request (discovery) may still be served: the principal
	// becomes RECOVERING when the token shows the loss. From then on: 503.
	i := 0
	for i < len(statuses) && statuses[i] != http.StatusServiceUnavailable {
		if statuses[i] != http.StatusMultiStatus {
			t.Fatalf("before the token: status %d in %v", statuses[i], statuses)
		}
		i++
	}
	for _, s := range statuses[i:] {
		if s != http.StatusServiceUnavailable {
			t.Fatalf("statuses during recovery %v: want only 503 after the token", statuses)
		}
	}
	if len(statuses[i:]) < 5 {
		t.Fatalf("statuses %v: want a 503 for each of the 5 syncs", statuses)
	}
	st, err := second.PrincipalState("alice")
	if err != nil || !st.Recovery.Recovering {
		t.Fatalf("alice not RECOVERING on the new store: %+v %v", st, err)
	}

	// A device restores its replica and reports; recovery closes.
	for _, uid := range []string{"u1", "u2", "u3"} {
		if code := put(uid, dev(testDevice, "If-None-Match", "*")); code != http.StatusCreated {
			t.Fatalf("device upload %s: %d", uid, code)
		}
	}
	report := func() {
		t.Helper()
		req, _ := http.NewRequest("POST", srv.URL+"/api/recovery/done", nil)
		req.SetBasicAuth("alice", testPassword)
		req.Header.Set(HeaderDevice, testDevice)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	// The new store never knew alice's devices: a report alone does not
	// close the recovery (the stock client stays on 503) …
	report()
	if st, _ := second.PrincipalState("alice"); !st.Recovery.Recovering {
		t.Fatal("the first device's report closed the recovery of a store that knows no devices")
	}
	if err := phone.sync(ctx); err == nil {
		t.Fatal("stock client served before the known devices reported")
	}
	// … until the admin names the devices known before the loss.
	if closed, _, err := second.ExpectDevices(ctx, "alice", []string{testDevice}, time.Hour); err != nil || !closed {
		t.Fatalf("expect the only device, which reported: closed %v err %v", closed, err)
	}
	if st, _ := second.PrincipalState("alice"); st.Recovery.Recovering {
		t.Fatal("recovery did not close after the only known device reported")
	}
	if err := phone.sync(ctx); err != nil {
		t.Fatalf("sync after recovery: %v", err)
	}
	if got := phone.uids(); got != "u1,u2,u3" {
		t.Fatalf("stock client after recovery: %s, want u1,u2,u3", got)
	}
}
