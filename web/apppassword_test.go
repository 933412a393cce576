package web

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/pimvault/pimvault/account"
	"github.com/pimvault/pimvault/storage"
)

func postAs(p *Pages, x *session, path, form string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, "http://pimvault.test"+path, strings.NewReader(form+"&csrf="+url.QueryEscape(x.csrf)))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.AddCookie(&http.Cookie{Name: sessionCookie, Value: x.id})
	w := httptest.NewRecorder()
	p.ServeHTTP(w, r)
	return w
}

// A session signed in with an app password may not add or revoke app
// passwords (the rule of /api/app-passwords), and those refusals change
// nothing; a bad label is refused with the account package's message.
func TestAppPasswordsNeedTheAccountPassword(t *testing.T) {
	p, owner := testPages(t)
	id, _, err := account.AddAppPassword(context.Background(), p.store, "alice", "phone")
	if err != nil {
		t.Fatal(err)
	}
	acct, err := p.account("alice")
	if err != nil {
		t.Fatal(err)
	}
	device := p.sess.create("alice", acct.PasswordHash, id)

	if w := postAs(p, device, "/web/devices/app-passwords", "label=more"); w.Code != http.StatusForbidden {
		t.Fatalf("adding from an app-password session: %d, want 403", w.Code)
	}
	if w := postAs(p, device, "/web/devices/app-passwords/"+id+"/revoke", ""); w.Code != http.StatusForbidden {
		t.Fatalf("revoking from an app-password session: %d, want 403", w.Code)
	}
	if w := postAs(p, owner, "/web/devices/app-passwords", "label="); w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), "label") {
		t.Fatalf("an empty label: %d\n%s", w.Code, w.Body.String())
	}
	if aps, err := account.AppPasswords(p.store, "alice"); err != nil || len(aps) != 1 || aps[0].ID != id {
		t.Fatalf("app passwords after the refusals: %v %v", aps, err)
	}
	if w := postAs(p, owner, "/web/devices/app-passwords/"+id+"/revoke", ""); w.Code != http.StatusSeeOther {
		t.Fatalf("revoking as the owner: %d", w.Code)
	}
	if p.sess.get(device.id) == nil {
		t.Fatal("the session table dropped the device's session too early")
	}
	r := httptest.NewRequest(http.MethodGet, "http://pimvault.test/web/devices", nil)
	r.AddCookie(&http.Cookie{Name: sessionCookie, Value: device.id})
	w := httptest.NewRecorder()
	p.ServeHTTP(w, r)
	if w.Code != http.StatusSeeOther || w.Header().Get("Location") != "/web/signin" {
		t.Fatalf("the revoked app password's session: %d to %q, want the sign-in page", w.Code, w.Header().Get("Location"))
	}
}

// The devices page names each device by the app password it signs in with;
// revoking that app password marks the device, takes it off the devices a
// recovery waits for, and says so.
func TestDevicesPageShowsAppPasswordLabels(t *testing.T) {
	p, owner := testPages(t)
	ctx := context.Background()
	id, _, err := account.AddAppPassword(ctx, p.store, "alice", "Anna's iPhone")
	if err != nil {
		t.Fatal(err)
	}
	if err := p.store.SeeDeviceAs(ctx, "alice", "phone-1", storage.DeviceCredential{AppPasswordID: id, AppPasswordLabel: "Anna's iPhone"}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.store.OpenRecovery(ctx, "alice", "test", ""); err != nil {
		t.Fatal(err)
	}
	page := func() string {
		t.Helper()
		r := httptest.NewRequest(http.MethodGet, "http://pimvault.test/web/devices", nil)
		r.AddCookie(&http.Cookie{Name: sessionCookie, Value: owner.id})
		w := httptest.NewRecorder()
		p.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			t.Fatalf("devices page: %d", w.Code)
		}
		return w.Body.String()
	}
	if b := page(); !strings.Contains(b, "<code>phone-1</code> Anna&#39;s iPhone") || !strings.Contains(b, "<strong>waiting</strong>") {
		t.Fatalf("devices page before the revocation:\n%s", b)
	}
	w := postAs(p, owner, "/web/devices/app-passwords/"+id+"/revoke", "")
	if w.Code != http.StatusSeeOther || !strings.Contains(w.Header().Get("Location"), "done=revoked-devices") {
		t.Fatalf("revoke: %d to %q", w.Code, w.Header().Get("Location"))
	}
	if b := page(); !strings.Contains(b, "app password revoked") || strings.Contains(b, "<strong>waiting</strong>") {
		t.Fatalf("devices page after the revocation:\n%s", b)
	}
}
