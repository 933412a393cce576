package server

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/pimvault/pimvault/syncproto"
)

// A pimvault device signing in with an app password is recorded in the
// registry with that app password's label (GET /api/devices, the recovery
// status); revoking the app password through /api marks the device, and a
// recovery that waited for it closes once the other device has reported.
func TestDeviceRegistryAppPasswords(t *testing.T) {
	e := newTestEnv(t)
	add := func(label string) (id, token string) {
		t.Helper()
		resp, body := e.do(t, "alice", "POST", "/api/app-passwords", jsonType, `{"label":"`+label+`"}`)
		var made struct{ ID, Token string }
		if resp.StatusCode != http.StatusCreated || json.Unmarshal([]byte(body), &made) != nil {
			t.Fatalf("POST /api/app-passwords: %d %s", resp.StatusCode, body)
		}
		return made.ID, made.Token
	}
	phoneID, phoneToken := add("Anna's iPhone")
	// dev sends a request as device id with password pw.
	dev := func(id, pw, method, path string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest(method, e.srv.URL+path, nil)
		req.SetBasicAuth("alice", pw)
		req.Header.Set(syncproto.HeaderDevice, id)
		req.Header.Set("Depth", "0")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	if resp, body := dev("phone-1", phoneToken, "PROPFIND", "/dav/calendars/alice/"); resp.StatusCode != http.StatusMultiStatus {
		t.Fatalf("device PROPFIND with the app password: %d %s", resp.StatusCode, body)
	}
	if resp, body := dev("laptop-1", testPassword, "PROPFIND", "/dav/calendars/alice/"); resp.StatusCode != http.StatusMultiStatus {
		t.Fatalf("device PROPFIND with the account password: %d %s", resp.StatusCode, body)
	}
	var list devicesJSON
	devices := func() {
		t.Helper()
		resp, body := e.do(t, "alice", "GET", "/api/devices", nil, "")
		list = devicesJSON{}
		if resp.StatusCode != http.StatusOK || json.Unmarshal([]byte(body), &list) != nil {
			t.Fatalf("GET /api/devices: %d %s", resp.StatusCode, body)
		}
	}
	devices()
	if len(list.Devices) != 2 || list.Devices[1].ID != "phone-1" || list.Devices[1].Label != "Anna's iPhone" ||
		list.Devices[1].AppPasswordID != phoneID || list.Devices[0].ID != "laptop-1" || list.Devices[0].Label != "" {
		t.Fatalf("devices: %+v", list)
	}

	if resp, body := e.do(t, "alice", "GET", "/api/app-passwords", nil, ""); resp.StatusCode != http.StatusOK || !strings.Contains(body, `"devices":["phone-1"]`) {
		t.Fatalf("GET /api/app-passwords: %d %s", resp.StatusCode, body)
	}

	// A recovery waits for both; the laptop reports, the phone's app
	// password is revoked: nothing is left to wait for and it closes.
	if _, err := e.store.OpenRecovery(context.Background(), "alice", "test", ""); err != nil {
		t.Fatal(err)
	}
	devices()
	if !list.Recovering || !list.Devices[0].Waiting || !list.Devices[1].Waiting {
		t.Fatalf("devices while RECOVERING: %+v", list)
	}
	if resp, body := dev("laptop-1", testPassword, "POST", syncproto.RecoveryDonePath); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("laptop's report: %d %s", resp.StatusCode, body)
	}
	if rs, _ := e.store.RecoveryState("alice"); !rs.Recovering {
		t.Fatal("the recovery closed while the phone had not reported")
	}
	resp, body := e.do(t, "alice", "DELETE", "/api/app-passwords/"+phoneID, jsonType, "")
	var rev revocationJSON
	if resp.StatusCode != http.StatusOK || json.Unmarshal([]byte(body), &rev) != nil {
		t.Fatalf("DELETE: %d %s", resp.StatusCode, body)
	}
	if len(rev.Devices) != 1 || rev.Devices[0].ID != "phone-1" || rev.Devices[0].Label != "Anna's iPhone" || !rev.Devices[0].Revoked ||
		!rev.RecoveryClosed || rev.Recovering {
		t.Fatalf("revocation answer: %s", body)
	}
	if rs, _ := e.store.RecoveryState("alice"); rs.Recovering {
		t.Fatal("the recovery still waits for a device whose app password is revoked")
	}
	if resp, _ := dev("phone-1", phoneToken, "PROPFIND", "/dav/calendars/alice/"); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("the revoked app password: %d, want 401", resp.StatusCode)
	}
	devices()
	if list.Recovering || list.Devices[1].CredentialRevoked.IsZero() || list.Devices[0].Waiting {
		t.Fatalf("devices after the revocation: %+v", list)
	}

	// The phone gets a new app password: recorded at once, mark cleared.
	newID, newToken := add("Anna's new iPhone")
	if resp, body := dev("phone-1", newToken, "PROPFIND", "/dav/calendars/alice/"); resp.StatusCode != http.StatusMultiStatus {
		t.Fatalf("device PROPFIND with the new app password: %d %s", resp.StatusCode, body)
	}
	devices()
	if d := list.Devices[1]; d.AppPasswordID != newID || d.Label != "Anna's new iPhone" || !d.CredentialRevoked.IsZero() {
		t.Fatalf("the phone after its new app password: %+v", d)
	}
	if resp, body := e.do(t, "", "GET", "/api/devices", nil, ""); resp.StatusCode != http.StatusUnauthorized || strings.Contains(body, "phone-1") {
		t.Fatalf("GET /api/devices without signing in: %d %s", resp.StatusCode, body)
	}
}
