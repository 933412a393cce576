package server

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/pimvault/pimvault/account"
	"github.com/pimvault/pimvault/storage"
)

var jsonType = map[string]string{"Content-Type": "application/json"}

// An app password made through /api signs in to DAV, cannot manage app
// passwords itself, shows its last use, and is refused (401) at the next
// request once revoked, while the account password keeps working.
func TestAppPasswordSignIn(t *testing.T) {
	e := newTestEnv(t)
	resp, body := e.do(t, "alice", "POST", "/api/app-passwords", jsonType, `{"label":"Anna's iPhone"}`)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST /api/app-passwords: %d %s", resp.StatusCode, body)
	}
	var made struct{ ID, Label, Token string }
	if err := json.Unmarshal([]byte(body), &made); err != nil || made.Token == "" || made.ID == "" {
		t.Fatalf("answer %s: %v", body, err)
	}
	as := func(pw, method, path, reqBody string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest(method, e.srv.URL+path, strings.NewReader(reqBody))
		req.SetBasicAuth("alice", pw)
		req.Header.Set("Depth", "0")
		if method != "GET" && method != "PROPFIND" {
			req.Header.Set("Content-Type", "application/json") // the API's guard asks it of every change
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var b strings.Builder
		buf := make([]byte, 4096)
		for {
			n, err := resp.Body.Read(buf)
			b.Write(buf[:n])
			if err != nil {
				break
			}
		}
		return resp, b.String()
	}
	if resp, body := as(made.Token, "PROPFIND", "/dav/calendars/alice/", ""); resp.StatusCode != http.StatusMultiStatus {
		t.Fatalf("PROPFIND with the app password: %d %s", resp.StatusCode, body)
	}
	if resp, _ := as("bob-"+made.Token, "PROPFIND", "/dav/calendars/alice/", ""); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("a wrong token: %d, want 401", resp.StatusCode)
	}
	if resp, body := as(made.Token, "POST", "/api/app-passwords", `{"label":"more"}`); resp.StatusCode != http.StatusForbidden {
		t.Errorf("an app password made another: %d %s", resp.StatusCode, body)
	}
	if resp, body := as(made.Token, "DELETE", "/api/app-passwords/"+made.ID, ""); resp.StatusCode != http.StatusForbidden {
		t.Errorf("an app password revoked itself through the API: %d %s", resp.StatusCode, body)
	}
	resp, body = e.do(t, "alice", "GET", "/api/app-passwords", nil, "")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `"label":"Anna's iPhone"`) || !strings.Contains(body, `"last_used"`) || strings.Contains(body, made.Token) {
		t.Errorf("GET /api/app-passwords: %d %s", resp.StatusCode, body)
	}
	if resp, body := e.do(t, "alice", "POST", "/api/app-passwords", jsonType, `{"label":""}`); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("empty label: %d %s", resp.StatusCode, body)
	}
	// bob cannot see or revoke alice's.
	if resp, _ := e.do(t, "bob", "DELETE", "/api/app-passwords/"+made.ID, jsonType, ""); resp.StatusCode != http.StatusNotFound {
		t.Errorf("bob revoking alice's app password: %d, want 404", resp.StatusCode)
	}
	if resp, body := e.do(t, "alice", "DELETE", "/api/app-passwords/"+made.ID, jsonType, ""); resp.StatusCode != http.StatusOK || !strings.Contains(body, `"devices":[]`) {
		t.Fatalf("DELETE: %d %s", resp.StatusCode, body)
	}
	if resp, _ := as(made.Token, "PROPFIND", "/dav/calendars/alice/", ""); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("a revoked app password: %d, want 401", resp.StatusCode)
	}
	if resp, _ := e.do(t, "alice", "PROPFIND", "/dav/calendars/alice/", map[string]string{"Depth": "0"}, ""); resp.StatusCode != http.StatusMultiStatus {
		t.Errorf("the account password after revoking: %d", resp.StatusCode)
	}
}

// With DAVAppPasswordsOnly the account password is refused on the DAV tree
// and still manages app passwords through /api; an app password signs in.
func TestDAVAppPasswordsOnly(t *testing.T) {
	st, err := storage.Open(t.TempDir(), storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := account.AddUser(context.Background(), st, "alice", testPassword); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(New(st, Config{FailedLoginDelay: 10 * time.Millisecond, DAVAppPasswordsOnly: true}, slog.New(slog.NewTextHandler(io.Discard, nil))).Handler())
	defer srv.Close()
	e := &testEnv{store: st, srv: srv}
	if resp, body := e.do(t, "alice", "PROPFIND", "/dav/calendars/alice/", map[string]string{"Depth": "0"}, ""); resp.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "app password") {
		t.Errorf("account password on DAV: %d %s", resp.StatusCode, body)
	}
	resp, body := e.do(t, "alice", "POST", "/api/app-passwords", jsonType, `{"label":"phone"}`)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("account password on /api: %d %s", resp.StatusCode, body)
	}
	var made struct{ Token string }
	if err := json.Unmarshal([]byte(body), &made); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("PROPFIND", srv.URL+"/dav/calendars/alice/", nil)
	req.SetBasicAuth("alice", made.Token)
	req.Header.Set("Depth", "0")
	r2, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	r2.Body.Close()
	if r2.StatusCode != http.StatusMultiStatus {
		t.Errorf("app password on DAV: %d", r2.StatusCode)
	}
}
