package server

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/pimvault/pimvault/account"
	"github.com/pimvault/pimvault/storage"
)

func TestMain(m *testing.M) {
	account.HashCost = bcrypt.MinCost // tests create many accounts
	os.Exit(m.Run())
}

const testPassword = "correct horse battery"

type testEnv struct {
	store *storage.Store
	srv   *httptest.Server
}

// newTestEnv starts a server on a real store with users alice and bob. When
// the test ends the store is verified and closed.
func newTestEnv(t testing.TB) *testEnv {
	t.Helper()
	st, err := storage.Open(t.TempDir(), storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{"alice", "bob"} {
		if err := account.AddUser(context.Background(), st, u, testPassword); err != nil {
			t.Fatal(err)
		}
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv := httptest.NewServer(New(st, Config{FailedLoginDelay: 10 * time.Millisecond}, log).Handler())
	t.Cleanup(func() {
		srv.Close()
		rep, err := st.Verify(context.Background())
		if err != nil || !rep.OK() {
			t.Errorf("store does not verify after the test: %v\n%v", err, rep)
		}
		st.Close()
	})
	return &testEnv{store: st, srv: srv}
}

// do sends a request as user (no auth when user is "").
func (e *testEnv) do(t testing.TB, user, method, path string, hdr map[string]string, body string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if user != "" {
		req.SetBasicAuth(user, testPassword)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func testCard(uid, fn string) string {
	return "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:" + uid + "\r\nFN:" + fn + "\r\nN:" + fn + ";;;;\r\nEND:VCARD\r\n"
}
