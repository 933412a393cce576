package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// App passwords and the device registry, through the real binary: a
// pimvault device signed in with an app password is listed by that app
// password's label (recovery status, user token list); revoking it marks the
// device, says so, and closes a recovery that only it held open, since it
// can no longer sign in to report; the revoked device's next sync gets 401.
func TestAppPasswordDevicesAndRecovery(t *testing.T) {
	data := t.TempDir()
	rs := startServer(t, data, "--user", "anna")
	must := func(res cliResult, want ...string) cliResult {
		t.Helper()
		if res.code != 0 {
			t.Fatalf("want exit 0, got\n%s", res)
		}
		for _, w := range want {
			if !strings.Contains(res.stdout, w) {
				t.Fatalf("want %q in the output, got\n%s", w, res)
			}
		}
		return res
	}
	add := must(pimvault(t, "user", "token", "add", "anna", "--label", "Anna's iPhone", "--data", data), "Anna's iPhone")
	token := appToken.FindString(add.stdout)
	id := strings.Fields(strings.TrimPrefix(add.stdout, "app password "))[0]
	if token == "" || id == "" {
		t.Fatalf("token add: %s", add)
	}
	phone := filepath.Join(t.TempDir(), "phone")
	laptop := filepath.Join(t.TempDir(), "laptop")
	must(pimvaultStdin(t, token+"\n", "device", "init", "--server", rs.url, "--user", "anna", "--password-stdin", "--dir", phone, "--device-id", "phone-1"), "initialised")
	must(pimvaultStdin(t, rs.password+"\n", "device", "init", "--server", rs.url, "--user", "anna", "--password-stdin", "--dir", laptop, "--device-id", "laptop-1"), "initialised")
	must(pimvault(t, "device", "sync", "--dir", phone))
	must(pimvault(t, "device", "sync", "--dir", laptop))

	list := must(pimvault(t, "user", "token", "list", "anna", "--data", data), id+"\tAnna's iPhone\t", "last used ", "devices: phone-1")
	if strings.Contains(list.stdout, token) || strings.Contains(list.stdout, "laptop-1") {
		t.Fatalf("token list shows the token or a device of the account password:\n%s", list)
	}

	must(pimvault(t, "recovery", "open", "--user", "anna", "--data", data), "RECOVERING")
	must(pimvault(t, "recovery", "status", "--user", "anna", "--data", data),
		`phone-1 ("Anna's iPhone")`, `waiting for: 2 device(s) laptop-1, phone-1 ("Anna's iPhone")`)
	must(pimvault(t, "device", "sync", "--dir", laptop))
	must(pimvault(t, "recovery", "status", "--user", "anna", "--data", data),
		"state: RECOVERING", `waiting for: 1 device(s) phone-1 ("Anna's iPhone")`)

	rv := must(pimvault(t, "user", "token", "revoke", "anna", id, "--data", data),
		"revoked", `devices marked (revoked credential): phone-1 ("Anna's iPhone", app password revoked)`, "recovery of anna closed")
	t.Logf("revoke:\n%s", rv.stdout)
	must(pimvault(t, "recovery", "status", "--user", "anna", "--data", data),
		"state: normal", "app password revoked", "revoked")
	if res := pimvault(t, "device", "sync", "--dir", phone); res.code == 0 || !strings.Contains(res.stderr+res.stdout, "401") {
		t.Fatalf("sync with the revoked app password: want a failure naming 401, got\n%s", res)
	}
	must(pimvault(t, "device", "sync", "--dir", laptop))
	if res := pimvault(t, "user", "token", "revoke", "anna", id, "--data", data); res.code == 0 {
		t.Fatalf("a second revoke succeeded:\n%s", res)
	}
	rs.stop(t)
	// Offline, on the store: the marks survived the restart.
	must(pimvault(t, "recovery", "status", "--user", "anna", "--data", data), `phone-1 ("Anna's iPhone", app password revoked)`)
	expectVerifyOK(t, data)
}
