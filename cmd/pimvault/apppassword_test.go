package main

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
)

var appToken = regexp.MustCompile(`(?m)^(pvapp-[a-z2-7]{32})$`)

// `pimvault user app-password` through the running server's admin socket: the
// token printed once signs in over HTTP, list shows it with its label and
// last use, revoke makes the next request 401; the account password is
// untouched throughout. Offline (no server) the same commands work on the store.
func TestUserAppPassword(t *testing.T) {
	data := t.TempDir()
	rs := startServer(t, data)
	const pw = "the account password"
	if res := pimvaultStdin(t, pw+"\n", "user", "add", "anna", "--password-stdin", "--data", data); res.code != 0 {
		t.Fatalf("user add: %s", res)
	}
	if res := pimvault(t, "user", "app-password", "add", "anna", "--data", data); res.code != 2 || !strings.Contains(res.stderr, "--label") {
		t.Errorf("add without --label: %s", res)
	}
	res := pimvault(t, "user", "app-password", "add", "anna", "--label", "Anna's iPhone", "--data", data)
	m := appToken.FindStringSubmatch(res.stdout)
	if res.code != 0 || m == nil {
		t.Fatalf("app-password add: %s", res)
	}
	token := m[1]
	id := strings.Fields(strings.TrimPrefix(res.stdout, "app password "))[0]
	if resp, body := davDo(t, rs, "anna", token, "PROPFIND", "/dav/addressbooks/anna/", map[string]string{"Depth": "0"}, ""); resp.StatusCode != http.StatusMultiStatus {
		t.Fatalf("PROPFIND with the app password: %d %s", resp.StatusCode, body)
	}
	res = pimvault(t, "user", "app-password", "list", "anna", "--data", data)
	if res.code != 0 || !strings.Contains(res.stdout, id+"\tAnna's iPhone\t") || !strings.Contains(res.stdout, "last used ") || strings.Contains(res.stdout, token) {
		t.Errorf("app-password list: %s", res)
	}
	if res := pimvault(t, "user", "app-password", "revoke", "anna", "no-such-id", "--data", data); res.code == 0 {
		t.Errorf("revoke of an unknown id succeeded: %s", res)
	}
	if res := pimvault(t, "user", "app-password", "revoke", "anna", id, "--data", data); res.code != 0 {
		t.Fatalf("app-password revoke: %s", res)
	}
	if resp, _ := davDo(t, rs, "anna", token, "PROPFIND", "/dav/addressbooks/anna/", map[string]string{"Depth": "0"}, ""); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("a revoked app password: %d, want 401", resp.StatusCode)
	}
	if resp, _ := davDo(t, rs, "anna", pw, "PROPFIND", "/dav/addressbooks/anna/", map[string]string{"Depth": "0"}, ""); resp.StatusCode != http.StatusMultiStatus {
		t.Errorf("the account password: %d", resp.StatusCode)
	}
	rs.stop(t)

	// Offline: the store directly, and the list survives a restart.
	res = pimvault(t, "user", "app-password", "add", "anna", "--label", "laptop", "--data", data)
	if res.code != 0 || appToken.FindString(res.stdout) == "" {
		t.Fatalf("offline add: %s", res)
	}
	res = pimvault(t, "user", "app-password", "list", "anna", "--data", data)
	if res.code != 0 || !strings.Contains(res.stdout, "\tlaptop\t") || strings.Contains(res.stdout, "Anna's iPhone") {
		t.Errorf("offline list: %s", res)
	}
	expectVerifyOK(t, data)
}
