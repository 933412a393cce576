package main

// The web pages' security, over real HTTP against the real binary: CSRF
// tokens, session cookies, sign-out, one user's pages against another's,
// escaping and the Content-Security-Policy; and the client the page tests
// share.

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// webClient is one browser-like HTTP client of the pages: a cookie jar, no
// redirects followed (the tests look at them).
type webClient struct {
	t    *testing.T
	base string
	c    *http.Client
	csrf string // the session's token, read from the last page
}

func newWebClient(t *testing.T, base string, tr http.RoundTripper) *webClient {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	return &webClient{t: t, base: base, c: &http.Client{Jar: jar, Transport: tr, Timeout: time.Minute,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func (w *webClient) do(req *http.Request) (*http.Response, string) {
	w.t.Helper()
	resp, err := w.c.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if m := csrfField.FindSubmatch(b); m != nil && !strings.HasSuffix(req.URL.Path, "/signin") {
		w.csrf = string(m[1])
	}
	return resp, string(b)
}

func (w *webClient) get(path string) (*http.Response, string) {
	w.t.Helper()
	req, err := http.NewRequest(http.MethodGet, w.base+path, nil)
	if err != nil {
		w.t.Fatal(err)
	}
	return w.do(req)
}

// post sends a form; with csrf, the session's token is added.
func (w *webClient) post(path string, form url.Values, csrf bool) (*http.Response, string) {
	w.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	if csrf {
		form.Set("csrf", w.csrf)
	}
	req, err := http.NewRequest(http.MethodPost, w.base+path, strings.NewReader(form.Encode()))
	if err != nil {
		w.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return w.do(req)
}

// signIn signs in through the form and fails the test unless it works.
func (w *webClient) signIn(user, pw string) {
	w.t.Helper()
	resp, body := w.get("/web/signin")
	m := csrfField.FindStringSubmatch(body)
	if resp.StatusCode != http.StatusOK || m == nil {
		w.t.Fatalf("sign-in form: %d\n%s", resp.StatusCode, body)
	}
	resp, body = w.post("/web/signin", url.Values{"csrf": {m[1]}, "user": {user}, "password": {pw}}, false)
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/web/collections" {
		w.t.Fatalf("sign in as %s: %d %s\n%s", user, resp.StatusCode, resp.Header.Get("Location"), body)
	}
	if resp, body := w.get("/web/collections"); resp.StatusCode != http.StatusOK {
		w.t.Fatalf("after sign-in: %d\n%s", resp.StatusCode, body)
	}
}

func addUser(t *testing.T, dir, name, pw string) {
	t.Helper()
	if res := pimvaultStdin(t, pw+"\n", "user", "add", name, "--password-stdin", "--data", dir); res.code != 0 {
		t.Fatalf("user add %s: %s", name, res)
	}
}

func testVCard(uid, fn string) string {
	return "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:" + uid + "\r\nFN:" + fn + "\r\nN:" + fn + ";;;;\r\nEND:VCARD\r\n"
}

func putContact(t *testing.T, rs *runningServer, user, pw, col, name, body string) {
	t.Helper()
	resp, b := davDo(t, rs, user, pw, "PUT", "/dav/addressbooks/"+user+"/"+col+"/"+name, map[string]string{"Content-Type": "text/vcard"}, body)
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusNoContent {
		t.Fatalf("PUT %s: %d %s", name, resp.StatusCode, b)
	}
}

func TestWebCSRFAndSignOut(t *testing.T) {
	dir := t.TempDir()
	rs := startServer(t, dir)
	w := newWebClient(t, rs.url, nil)

	// The sign-in form itself needs its token.
	resp, _ := w.post("/web/signin", url.Values{"user": {"admin"}, "password": {rs.password}}, false)
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("sign-in without a token: %d, want 403", resp.StatusCode)
	}
	for _, c := range resp.Cookies() {
		if c.Name == "pimvault_session" && c.Value != "" {
			t.Fatalf("sign-in without a token set a session cookie")
		}
	}
	w.signIn("admin", rs.password)

	// A form without the token, or with another, changes nothing.
	for _, tok := range []string{"", "not-the-token"} {
		form := url.Values{"kind": {"calendar"}, "display": {"Forged" + tok}}
		if tok != "" {
			form.Set("csrf", tok)
		}
		resp, body := w.post("/web/collections", form, false)
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "token") {
			t.Fatalf("create without the right token (%q): %d\n%s", tok, resp.StatusCode, body)
		}
	}
	if _, body := w.get("/web/collections"); strings.Contains(body, "Forged") {
		t.Fatal("a forged form created a collection")
	}
	resp, _ = w.post("/web/collections", url.Values{"kind": {"calendar"}, "display": {"Real one"}}, true)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("create with the token: %d", resp.StatusCode)
	}
	if _, body := w.get("/web/collections"); !strings.Contains(body, "Real one") {
		t.Fatal("the created calendar is not listed")
	}

	// Sign-out needs the token too, and ends the session for good.
	var sid string
	u, _ := url.Parse(rs.url + "/web/")
	for _, c := range w.c.Jar.Cookies(u) {
		if c.Name == "pimvault_session" {
			sid = c.Value
		}
	}
	if sid == "" {
		t.Fatal("no session cookie in the jar")
	}
	if resp, _ := w.post("/web/signout", nil, false); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("sign-out without a token: %d, want 403", resp.StatusCode)
	}
	if resp, _ := w.post("/web/signout", nil, true); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-out: %d", resp.StatusCode)
	}
	// Replay the old session id: it must not be signed in any more.
	old := newWebClient(t, rs.url, nil)
	old.c.Jar.SetCookies(u, []*http.Cookie{{Name: "pimvault_session", Value: sid, Path: "/web/"}})
	resp, _ = old.get("/web/collections")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/web/signin" {
		t.Fatalf("old session after sign-out: %d %s, want 303 to /web/signin", resp.StatusCode, resp.Header.Get("Location"))
	}
	old.csrf = w.csrf
	if resp, _ := old.post("/web/collections", url.Values{"kind": {"calendar"}, "display": {"After sign-out"}}, true); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("POST with the old session and its token: %d, want 403", resp.StatusCode)
	}
}

func TestWebSessionCookieFlags(t *testing.T) {
	check := func(t *testing.T, w *webClient, pw string, secure bool) {
		t.Helper()
		_, body := w.get("/web/signin")
		m := csrfField.FindStringSubmatch(body)
		if m == nil {
			t.Fatalf("no token on the sign-in form:\n%s", body)
		}
		resp, _ := w.post("/web/signin", url.Values{"csrf": {m[1]}, "user": {"admin"}, "password": {pw}}, false)
		var found bool
		for _, line := range resp.Header.Values("Set-Cookie") {
			if !strings.HasPrefix(line, "pimvault_session=") {
				continue
			}
			found = true
			for _, want := range []string{"HttpOnly", "SameSite=Strict", "Path=/web/"} {
				if !strings.Contains(line, want) {
					t.Errorf("session cookie %q lacks %s", line, want)
				}
			}
			if got := strings.Contains(line, "Secure"); got != secure {
				t.Errorf("session cookie %q: Secure=%v, want %v", line, got, secure)
			}
		}
		if !found {
			t.Fatalf("no session cookie set: %d %v", resp.StatusCode, resp.Header)
		}
		if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
			t.Errorf("no Content-Security-Policy on the sign-in answer: %q", csp)
		}
	}
	t.Run("http", func(t *testing.T) {
		rs := startServer(t, t.TempDir())
		check(t, newWebClient(t, rs.url, nil), rs.password, false)
	})
	t.Run("tls", func(t *testing.T) {
		certFile, keyFile := selfSignedCert(t)
		rs := startServer(t, t.TempDir(), "--tls-cert", certFile, "--tls-key", keyFile)
		tr := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}
		check(t, newWebClient(t, strings.Replace(rs.url, "http://", "https://", 1), tr), rs.password, true)
	})
}

// selfSignedCert writes a certificate and key for 127.0.0.1.
func selfSignedCert(t *testing.T) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	return certFile, keyFile
}

// TestWebIsolation tries every route with another user's session: bob's
// pages, items and history are 404 to alice, the admin pages 403, and
// nothing of bob's changes.
func TestWebIsolation(t *testing.T) {
	dir := t.TempDir()
	rs := startServer(t, dir)
	addUser(t, dir, "alice", "alice-password")
	addUser(t, dir, "bob", "bob-password-1")
	// bob's data: an address book "secret" with one contact, a deleted one.
	resp, b := davDo(t, rs, "bob", "bob-password-1", "MKCOL", "/dav/addressbooks/bob/secret/", map[string]string{"Content-Type": "application/xml"},
		`<?xml version="1.0"?><D:mkcol xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:set><D:prop><D:resourcetype><D:collection/><C:addressbook/></D:resourcetype><D:displayname>Bob secret</D:displayname></D:prop></D:set></D:mkcol>`)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("MKCOL: %d %s", resp.StatusCode, b)
	}
	putContact(t, rs, "bob", "bob-password-1", "secret", "x.vcf", testVCard("x", "Xavier Secret"))
	putContact(t, rs, "bob", "bob-password-1", "secret", "gone.vcf", testVCard("gone", "Gone Secret"))
	if resp, b := davDo(t, rs, "bob", "bob-password-1", "DELETE", "/dav/addressbooks/bob/secret/gone.vcf", nil, ""); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("DELETE: %d %s", resp.StatusCode, b)
	}

	alice := newWebClient(t, rs.url, nil)
	alice.signIn("alice", "alice-password")
	gets := map[string]int{
		"/web/c/secret":                                  http.StatusNotFound,
		"/web/c/secret/delete":                           http.StatusNotFound,
		"/web/c/secret?q=Xav":                            http.StatusNotFound,
		"/web/history?collection=secret":                 http.StatusNotFound,
		"/web/history?collection=secret&object=x.vcf":    http.StatusNotFound,
		"/web/history?collection=secret&object=gone.vcf": http.StatusNotFound,
		"/web/admin":                                     http.StatusForbidden,
		"/web/admin/u/bob/history":                       http.StatusForbidden,
		"/web/admin/backups/any.db":                      http.StatusForbidden,
		"/web/history":                                   http.StatusOK, // alice's own, with nothing of bob's
		"/web/devices":                                   http.StatusOK,
	}
	for path, want := range gets {
		resp, body := alice.get(path)
		if resp.StatusCode != want {
			t.Errorf("alice GET %s: %d, want %d", path, resp.StatusCode, want)
		}
		for _, leak := range []string{"Xavier", "Gone Secret", "x.vcf", "gone.vcf", "Bob secret"} {
			if strings.Contains(body, leak) {
				t.Errorf("alice GET %s shows bob's %q", path, leak)
			}
		}
	}
	posts := map[string]url.Values{
		"/web/c/secret/settings":        {"display": {"Hijacked"}},
		"/web/c/secret/delete":          {"confirm": {"secret"}},
		"/web/undo":                     {"collection": {"secret"}, "to_seq": {"1"}},
		"/web/undo/apply":               {"collection": {"secret"}, "to_seq": {"1"}},
		"/web/admin/users":              {"user": {"mallory"}, "password": {"mallory-password"}},
		"/web/admin/users/bob":          {"action": {"password"}, "password": {"taken-over-1"}},
		"/web/admin/recovery/bob/close": {},
		"/web/admin/backups":            {},
		"/web/admin/u/bob/undo":         {"collection": {"secret"}, "to_seq": {"1"}},
		"/web/admin/u/bob/undo/apply":   {"collection": {"secret"}, "to_seq": {"1"}},
	}
	for path, form := range posts {
		resp, body := alice.post(path, form, true)
		want := http.StatusNotFound
		if strings.HasPrefix(path, "/web/admin") {
			want = http.StatusForbidden
		}
		if resp.StatusCode != want {
			t.Errorf("alice POST %s: %d, want %d\n%s", path, resp.StatusCode, want, body)
		}
	}
	// bob's data is as it was, and his password still works.
	resp, body := davDo(t, rs, "bob", "bob-password-1", "PROPFIND", "/dav/addressbooks/bob/secret/", map[string]string{"Depth": "1"}, "")
	if resp.StatusCode != http.StatusMultiStatus || !strings.Contains(body, "Bob secret") || !strings.Contains(body, "x.vcf") || strings.Contains(body, "gone.vcf") {
		t.Fatalf("bob's address book changed: %d\n%s", resp.StatusCode, body)
	}
	if res := pimvault(t, "user", "list", "--data", dir); strings.Contains(res.stdout, "mallory") {
		t.Fatalf("alice created an account:\n%s", res)
	}
}

// TestWebEscapesAndCSP: a contact named <script> is shown as text, and
// every page carries the Content-Security-Policy.
func TestWebEscapesAndCSP(t *testing.T) {
	dir := t.TempDir()
	rs := startServer(t, dir)
	// A DAV request creates the default address book "contacts".
	putContact(t, rs, "admin", rs.password, "contacts", "evil.vcf", testVCard("evil", `<script>alert("x")</script>`))
	w := newWebClient(t, rs.url, nil)
	w.signIn("admin", rs.password)
	resp, body := w.get("/web/c/contacts")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("contacts: %d\n%s", resp.StatusCode, body)
	}
	if strings.Contains(body, `<script>alert`) || !strings.Contains(body, `&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;`) {
		t.Fatalf("the contact's name is not escaped:\n%s", body)
	}
	for _, path := range []string{"/web/signin", "/web/collections", "/web/c/contacts", "/web/history", "/web/devices", "/web/transfer", "/web/admin", "/web/static/style.css", "/web/nothing"} {
		resp, _ := w.get(path)
		csp := resp.Header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "frame-ancestors 'none'") || strings.Contains(csp, "unsafe") {
			t.Errorf("GET %s: Content-Security-Policy %q", path, csp)
		}
	}
	// GET / leads to the pages.
	resp, _ = w.get("/")
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/web/" {
		t.Fatalf("GET /: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
}
