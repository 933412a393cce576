package main

import (
	"net/http"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// An app password made on the devices page works for DAV at once and stops
// working when it is revoked there; a browser signed in with it sees the
// list but may not manage it.
func TestBrowserAppPasswords(t *testing.T) {
	tab := newTab(t)
	dir := t.TempDir()
	rs := startServer(t, dir)
	addUser(t, dir, "carol", "carol-password-1")

	browserSignIn(t, tab, rs.url, "carol", "carol-password-1")
	step(t, tab, "open the devices page", chromedp.Click(chromedp.CSS(`a[href="/web/devices"]`)), chromedp.WaitVisible(chromedp.ID("ap-label")))
	step(t, tab, "add an app password",
		chromedp.SendKeys(chromedp.ID("ap-label"), "Carol's phone"),
		chromedp.Click(chromedp.CSS(`form[action="/web/devices/app-passwords"] button`)),
		chromedp.WaitVisible(chromedp.ID("new-token")))
	token := strings.TrimSpace(value(t, tab, "read the token", chromedp.Text(chromedp.ID("new-token"))))
	if !strings.HasPrefix(token, "pvapp-") {
		t.Fatalf("the page shows %q as the new app password", token)
	}
	note := value(t, tab, "read the note", chromedp.Text(chromedp.CSS(`section.notice`)))
	if !strings.Contains(note, "will not be shown again") {
		t.Fatalf("the new token's note says %q", note)
	}
	table := value(t, tab, "read the list", chromedp.Text(chromedp.CSS(`#app-passwords + p + section + table`)))
	if !strings.Contains(table, "Carol's phone") {
		t.Fatalf("the app password list lacks the new one:\n%s", table)
	}
	docShots(t, tab, "devices")

	if resp, b := davDo(t, rs, "carol", token, "PROPFIND", "/dav/addressbooks/carol/", map[string]string{"Depth": "0"}, ""); resp.StatusCode != http.StatusMultiStatus {
		t.Fatalf("PROPFIND with the new app password: %d, want 207\n%s", resp.StatusCode, b)
	}

	// A browser signed in with the app password may not manage app passwords.
	other := newTab(t)
	browserSignIn(t, other, rs.url, "carol", token)
	step(t, other, "open the devices page as the device", chromedp.Click(chromedp.CSS(`a[href="/web/devices"]`)), chromedp.WaitVisible(chromedp.ID("app-passwords")))
	if n := evalInt(t, other, "manage forms", `document.querySelectorAll('form[action^="/web/devices/app-passwords"]').length`); n != 0 {
		t.Fatalf("a session signed in with an app password sees %d forms to manage app passwords", n)
	}

	// Back on the first page (the token is not shown again), revoke it.
	step(t, tab, "reopen the devices page", chromedp.Click(chromedp.CSS(`a[href="/web/devices"]`)), chromedp.WaitVisible(chromedp.ID("ap-label")))
	if n := evalInt(t, tab, "tokens shown", `document.querySelectorAll("#new-token").length`); n != 0 {
		t.Fatalf("the token is shown again on a later visit")
	}
	step(t, tab, "revoke it",
		chromedp.Click(chromedp.CSS(`button[aria-label="Revoke Carol's phone"]`)),
		chromedp.WaitVisible(chromedp.CSS(`.notice`)))
	notice := value(t, tab, "read the notice", chromedp.Text(chromedp.CSS(`.notice`)))
	if !strings.Contains(notice, "revoked") {
		t.Fatalf("after revoking the page says %q", notice)
	}
	if n := evalInt(t, tab, "revoke buttons left", `document.querySelectorAll('form[action$="/revoke"]').length`); n != 0 {
		t.Fatalf("%d app passwords still listed after the revoke", n)
	}
	if resp, _ := davDo(t, rs, "carol", token, "PROPFIND", "/dav/addressbooks/carol/", map[string]string{"Depth": "0"}, ""); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("PROPFIND with the revoked app password: %d, want 401", resp.StatusCode)
	}
	// The device's browser session ended with its app password.
	step(t, other, "reload as the device", chromedp.Reload(), chromedp.WaitVisible(chromedp.ID("user")))
	if loc := value(t, other, "location", chromedp.Location()); !strings.HasSuffix(loc, "/web/signin") {
		t.Fatalf("the revoked app password's browser session is still at %s", loc)
	}
}
