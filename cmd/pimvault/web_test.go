package main

// The web pages' security, over real HTTP against the real binary: CSRF
// tokens, session cookies, sign-out, one user's pages against another's,
// escaping, the Content-Security-Policy, and import errors per file and
// line.

import (
	"archive/zip"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"mime/multipart"
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

// TestWebImportErrorsAndExport: an upload with a bad file imports nothing
// and names the file and line; good files are imported; the export is a
// zip holding them.
func TestWebImportErrorsAndExport(t *testing.T) {
	dir := t.TempDir()
	rs := startServer(t, dir)
	w := newWebClient(t, rs.url, nil)
	w.signIn("admin", rs.password)
	w.get("/web/transfer")
	upload := func(files map[string]string) (*http.Response, string) {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		mw.WriteField("csrf", w.csrf)
		mw.WriteField("collection", "imported")
		for name, body := range files {
			fw, _ := mw.CreateFormFile("files", name)
			fw.Write([]byte(body))
		}
		mw.Close()
		req, _ := http.NewRequest(http.MethodPost, rs.url+"/web/import", &buf)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		return w.do(req)
	}
	good := testVCard("g1", "Good One") + testVCard("g2", "Good Two")
	bad := "BEGIN:VCARD\r\nVERSION:3.0\r\nUID:b1\r\nFN:Fine\r\nEND:VCARD\r\nBEGIN:VCARD\r\nVERSION:3.0\r\nUID:b2\r\nEND:VCARD\r\n"
	resp, body := upload(map[string]string{"good.vcf": good, "bad.vcf": bad})
	if resp.StatusCode != http.StatusUnprocessableEntity || !regexp.MustCompile(`bad\.vcf:6`).MatchString(body) {
		t.Fatalf("import with a bad file: %d, want 422 naming bad.vcf:6\n%s", resp.StatusCode, body)
	}
	if resp, _ := w.get("/web/c/imported"); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("a refused import created its collection: %d", resp.StatusCode)
	}
	resp, body = upload(map[string]string{"good.vcf": good})
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "2 added") {
		t.Fatalf("import: %d\n%s", resp.StatusCode, body)
	}
	if _, body := w.get("/web/c/imported"); !strings.Contains(body, "Good One") || !strings.Contains(body, "Good Two") {
		t.Fatalf("imported contacts not listed:\n%s", body)
	}
	resp, body = w.get("/web/export")
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/zip" || !strings.HasPrefix(body, "PK") {
		t.Fatalf("export: %d %s %q", resp.StatusCode, resp.Header.Get("Content-Type"), body[:min(len(body), 20)])
	}
	zr, err := zip.NewReader(strings.NewReader(body), int64(len(body)))
	if err != nil {
		t.Fatalf("export is not a zip: %v", err)
	}
	var names []string
	for _, f := range zr.File {
		names = append(names, f.Name)
	}
	if !strings.Contains(strings.Join(names, " "), "imported/") {
		t.Fatalf("export does not hold the imported collection: %v", names)
	}
}

// TestWebDeleteCollectionAndUndo deletes an address book from its page
// (after the confirmation page) and brings it back from the history with
// its contacts: a journalled delete, undone by storage's undo.
func TestWebDeleteCollectionAndUndo(t *testing.T) {
	dir := t.TempDir()
	rs := startServer(t, dir)
	w := newWebClient(t, rs.url, nil)
	w.signIn("admin", rs.password)
	resp, _ := w.post("/web/collections", url.Values{"kind": {"addressbook"}, "display": {"Family & friends"}}, true)
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/web/c/family-friends") {
		t.Fatalf("create: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	for i := 1; i <= 3; i++ {
		putContact(t, rs, "admin", rs.password, "family-friends", fmt.Sprintf("f%d.vcf", i), testVCard(fmt.Sprintf("f%d", i), fmt.Sprintf("Relative %d", i)))
	}
	// Rename it.
	if resp, _ := w.post("/web/c/family-friends/settings", url.Values{"display": {"Family"}}, true); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("rename: %d", resp.StatusCode)
	}
	if resp, body := davDo(t, rs, "admin", rs.password, "PROPFIND", "/dav/addressbooks/admin/family-friends/", map[string]string{"Depth": "0"}, ""); !strings.Contains(body, ">Family<") {
		t.Fatalf("the new name is not what DAV shows: %d\n%s", resp.StatusCode, body)
	}
	resp, body := w.get("/web/c/family-friends/delete")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "3 items") {
		t.Fatalf("confirmation page: %d\n%s", resp.StatusCode, body)
	}
	if resp, _ := w.post("/web/c/family-friends/delete", nil, true); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("delete without the confirmation field: %d, want 400", resp.StatusCode)
	}
	if resp, _ := w.post("/web/c/family-friends/delete", url.Values{"confirm": {"family-friends"}}, true); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("delete: %d", resp.StatusCode)
	}
	if resp, _ := davDo(t, rs, "admin", rs.password, "GET", "/dav/addressbooks/admin/family-friends/f1.vcf", nil, ""); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("after the delete f1.vcf answers %d", resp.StatusCode)
	}
	_, body = w.get("/web/history?collection=family-friends")
	m := regexp.MustCompile(`name="to_seq" value="(\d+)"`).FindStringSubmatch(body)
	if m == nil || !strings.Contains(body, "delete-collection") {
		t.Fatalf("history lacks the deletion:\n%s", body)
	}
	resp, body = w.post("/web/undo", url.Values{"collection": {"family-friends"}, "to_seq": {m[1]}}, true)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "recreate-collection") {
		t.Fatalf("preview: %d\n%s", resp.StatusCode, body)
	}
	digest := regexp.MustCompile(`name="digest" value="([0-9a-f]+)"`).FindStringSubmatch(body)
	if digest == nil {
		t.Fatalf("preview without an apply form:\n%s", body)
	}
	// A stale preview (another plan) applies nothing.
	if resp, _ := w.post("/web/undo/apply", url.Values{"collection": {"family-friends"}, "to_seq": {m[1]}, "digest": {"0000"}}, true); resp.StatusCode != http.StatusConflict {
		t.Fatalf("apply with another plan's digest: %d, want 409", resp.StatusCode)
	}
	if resp, _ := davDo(t, rs, "admin", rs.password, "GET", "/dav/addressbooks/admin/family-friends/f1.vcf", nil, ""); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("a stale apply changed data: f1.vcf answers %d", resp.StatusCode)
	}
	resp, body = w.post("/web/undo/apply", url.Values{"collection": {"family-friends"}, "to_seq": {m[1]}, "digest": {digest[1]}}, true)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "Undo: done") {
		t.Fatalf("apply: %d\n%s", resp.StatusCode, body)
	}
	for i := 1; i <= 3; i++ {
		if resp, b := davDo(t, rs, "admin", rs.password, "GET", fmt.Sprintf("/dav/addressbooks/admin/family-friends/f%d.vcf", i), nil, ""); resp.StatusCode != http.StatusOK {
			t.Fatalf("f%d.vcf after the undo: %d %s", i, resp.StatusCode, b)
		}
	}
	if _, body := w.get("/web/c/family-friends"); !strings.Contains(body, "Relative 2") {
		t.Fatalf("the address book page lacks the contacts after the undo:\n%s", body)
	}
}

// TestWebAdminActions: an admin adds an account, resets its password,
// disables it (its sessions end with it), takes and downloads a backup and
// undoes a deletion on the user's behalf with the same preview; each
// through the admin command table or storage's undo, checked from outside.
func TestWebAdminActions(t *testing.T) {
	dir := t.TempDir()
	rs := startServer(t, dir)
	adm := newWebClient(t, rs.url, nil)
	adm.signIn("admin", rs.password)
	adm.get("/web/admin")
	resp, body := adm.post("/web/admin/users", url.Values{"user": {"carol"}, "password": {"carol-password-1"}}, true)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "user carol created") {
		t.Fatalf("add account: %d\n%s", resp.StatusCode, body)
	}
	if resp, _ := adm.post("/web/admin/users", url.Values{"user": {"bad/name"}, "password": {"whatever-123"}}, true); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("add an account with a bad name: %d, want 400", resp.StatusCode)
	}
	if resp, _ := adm.post("/web/admin/users/carol", url.Values{"action": {"password"}, "password": {"short"}}, true); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("a too short password: %d, want 400", resp.StatusCode)
	}
	resp, body = adm.post("/web/admin/users/carol", url.Values{"action": {"password"}, "password": {"carol-password-2"}}, true)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "password of carol changed") {
		t.Fatalf("reset password: %d\n%s", resp.StatusCode, body)
	}
	if resp, _ := davDo(t, rs, "carol", "carol-password-1", "PROPFIND", "/dav/addressbooks/carol/", map[string]string{"Depth": "0"}, ""); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("the old password still works: %d", resp.StatusCode)
	}
	carol := newWebClient(t, rs.url, nil)
	carol.signIn("carol", "carol-password-2")
	putContact(t, rs, "carol", "carol-password-2", "contacts", "a.vcf", testVCard("a", "Alpha"))
	if r, b := davDo(t, rs, "carol", "carol-password-2", "DELETE", "/dav/addressbooks/carol/contacts/a.vcf", nil, ""); r.StatusCode != http.StatusNoContent {
		t.Fatalf("DELETE: %d %s", r.StatusCode, b)
	}
	// Undo on carol's behalf.
	_, body = adm.get("/web/admin/u/carol/history?collection=contacts")
	m := regexp.MustCompile(`name="to_seq" value="(\d+)"`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("carol's history as the admin sees it:\n%s", body)
	}
	resp, body = adm.post("/web/admin/u/carol/undo", url.Values{"collection": {"contacts"}, "to_seq": {m[1]}}, true)
	digest := regexp.MustCompile(`name="digest" value="([0-9a-f]+)"`).FindStringSubmatch(body)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "contacts/a.vcf") || digest == nil {
		t.Fatalf("preview on carol's behalf: %d\n%s", resp.StatusCode, body)
	}
	resp, body = adm.post("/web/admin/u/carol/undo/apply", url.Values{"collection": {"contacts"}, "to_seq": {m[1]}, "digest": {digest[1]}}, true)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "Undo: done") {
		t.Fatalf("apply on carol's behalf: %d\n%s", resp.StatusCode, body)
	}
	if r, _ := davDo(t, rs, "carol", "carol-password-2", "GET", "/dav/addressbooks/carol/contacts/a.vcf", nil, ""); r.StatusCode != http.StatusOK {
		t.Fatalf("a.vcf after the admin's undo: %d", r.StatusCode)
	}
	// Disabling ends carol's session and her DAV access.
	if resp, body := adm.post("/web/admin/users/carol", url.Values{"action": {"disable"}}, true); resp.StatusCode != http.StatusOK || !strings.Contains(body, "user carol disabled") {
		t.Fatalf("disable: %d\n%s", resp.StatusCode, body)
	}
	if resp, _ := carol.get("/web/collections"); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("a disabled account's session still works: %d", resp.StatusCode)
	}
	if resp, _ := davDo(t, rs, "carol", "carol-password-2", "PROPFIND", "/dav/addressbooks/carol/", map[string]string{"Depth": "0"}, ""); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a disabled account over DAV: %d", resp.StatusCode)
	}
	if res := pimvault(t, "user", "list", "--data", dir); !regexp.MustCompile(`carol\tdisabled`).MatchString(res.stdout) || !regexp.MustCompile(`admin\tactive,admin`).MatchString(res.stdout) {
		t.Fatalf("user list:\n%s", res)
	}
	// An admin cannot lock themselves out from the page.
	if resp, _ := adm.post("/web/admin/users/admin", url.Values{"action": {"disable"}}, true); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("disable oneself: %d, want 400", resp.StatusCode)
	}
	// A backup, listed and downloadable.
	resp, body = adm.post("/web/admin/backups", nil, true)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "verified") {
		t.Fatalf("backup: %d\n%s", resp.StatusCode, body)
	}
	link := regexp.MustCompile(`href="(/web/admin/backups/[^"]+)"`).FindStringSubmatch(body)
	if link == nil {
		t.Fatalf("the backup is not listed:\n%s", body)
	}
	resp, body = adm.get(link[1])
	if resp.StatusCode != http.StatusOK || !strings.Contains(resp.Header.Get("Content-Disposition"), "attachment") || len(body) < 4096 {
		t.Fatalf("download %s: %d %q, %d bytes", link[1], resp.StatusCode, resp.Header.Get("Content-Disposition"), len(body))
	}
	if resp, _ := adm.get("/web/admin/backups/..%2Fstore.db"); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("download outside the snapshots: %d, want 404", resp.StatusCode)
	}
	if _, body := adm.get("/web/admin?full=1"); !strings.Contains(body, "state hash") {
		t.Fatalf("full status lacks the state hash:\n%s", body)
	}
}

// TestWebSignInSharesDAVLimits: failed sign-ins on the page count against
// the same limits as DAV's Basic authentication (one check, one limiter).
func TestWebSignInSharesDAVLimits(t *testing.T) {
	dir := t.TempDir()
	rs := startServer(t, dir)
	w := newWebClient(t, rs.url, nil)
	var last *http.Response
	for i := 0; i < 8; i++ {
		_, body := w.get("/web/signin")
		m := csrfField.FindStringSubmatch(body)
		if m == nil {
			t.Fatalf("no sign-in token:\n%s", body)
		}
		last, body = w.post("/web/signin", url.Values{"csrf": {m[1]}, "user": {"admin"}, "password": {"wrong-password"}}, false)
		if last.StatusCode == http.StatusTooManyRequests {
			if last.Header.Get("Retry-After") == "" {
				t.Fatal("429 without Retry-After")
			}
			break
		}
		if last.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "wrong user name or password") {
			t.Fatalf("wrong password %d: %d\n%s", i, last.StatusCode, body)
		}
	}
	if last.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("8 wrong passwords on the page were never throttled: %d", last.StatusCode)
	}
	// DAV from the same address is held by the same limit, even with the
	// right password.
	resp, _ := davDo(t, rs, "admin", rs.password, "PROPFIND", "/dav/addressbooks/admin/", map[string]string{"Depth": "0"}, "")
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("DAV after the page's failures: %d, want 429 (one limiter)", resp.StatusCode)
	}
}
