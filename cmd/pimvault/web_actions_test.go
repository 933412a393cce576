package main

// The web pages' actions over real HTTP against the real binary: import
// and export, deleting a collection and undoing it, the admin actions, and
// the sign-in limits shared with DAV.

import (
	"archive/zip"
	"bytes"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

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
	resp, body = upload(map[string]string{"good.vcf": good, "more.vcf": testVCard("g3", "Good Three")})
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "3 added") || !strings.Contains(body, "Imported into 1 collection") {
		t.Fatalf("import: %d\n%s", resp.StatusCode, body)
	}
	if _, body := w.get("/web/c/imported"); !strings.Contains(body, "Good One") || !strings.Contains(body, "Good Three") {
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
// The wrong passwords go at once, so a slow machine (bcrypt under the race
// detector) cannot let the limiter refill between them, and they differ:
// concurrent attempts with the same credentials are one attempt.
func TestWebSignInSharesDAVLimits(t *testing.T) {
	dir := t.TempDir()
	// Six bcrypt checks at once wait for the machine's few check slots;
	// a long queue wait keeps them from being answered 503 (unchecked,
	// hence uncounted) under the race detector.
	rs := startServer(t, dir, "--queue-wait", "20s")
	attempt := func(pw string) (*webClient, url.Values) {
		w := newWebClient(t, rs.url, nil)
		_, body := w.get("/web/signin")
		m := csrfField.FindStringSubmatch(body)
		if m == nil {
			t.Fatalf("no sign-in token:\n%s", body)
		}
		return w, url.Values{"csrf": {m[1]}, "user": {"admin"}, "password": {pw}}
	}
	const wrong = 10 // past the burst of 5 by enough that refills while they run (one per 10 s) leave it spent
	codes := make(chan int, wrong)
	for i := 0; i < wrong; i++ {
		w, form := attempt(fmt.Sprintf("wrong-password-%d", i))
		w.c.Timeout = 5 * time.Minute // bcrypt runs slowly under -race on a busy machine
		go func() {
			resp, err := w.c.PostForm(rs.url+"/web/signin", form)
			if err != nil {
				t.Errorf("a wrong password on the page: %v", err)
				codes <- 0
				return
			}
			resp.Body.Close()
			codes <- resp.StatusCode
		}()
	}
	for i := 0; i < wrong; i++ {
		if c := <-codes; c != http.StatusUnauthorized && c != http.StatusTooManyRequests {
			t.Fatalf("a wrong password on the page: status %d", c)
		}
	}
	// The limiter gains a try back every 10 s, which a slow machine (bcrypt
	// under the race detector) may have reached while the checks ran: one
	// more wrong password at a time until one is refused shows the limit is
	// spent at this moment, and the right password goes at once after it.
	w, form := attempt(rs.password)
	for i := 0; ; i++ {
		ww, wform := attempt(fmt.Sprintf("wrong-again-%d", i))
		resp, _ := ww.post("/web/signin", wform, false)
		if resp.StatusCode == http.StatusTooManyRequests {
			break
		}
		if resp.StatusCode != http.StatusUnauthorized || i == 10 {
			t.Fatalf("wrong password %d after the burst: %d, want 401 or 429", i, resp.StatusCode)
		}
	}
	// The page now refuses even the right password, saying when to retry...
	resp, body := w.post("/web/signin", form, false)
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("the right password after %d wrong ones: %d (Retry-After %q)\n%s", wrong, resp.StatusCode, resp.Header.Get("Retry-After"), body)
	}
	// ...and so does DAV from the same address: the same limit.
	resp, _ = davDo(t, rs, "admin", rs.password, "PROPFIND", "/dav/addressbooks/admin/", map[string]string{"Depth": "0"}, "")
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("DAV after the page's failures: %d, want 429 (one limiter)", resp.StatusCode)
	}
}

// TestWebItemHistoryUndo: an item's history lists only its changes, and its
// undo changes that item back and nothing else.
func TestWebItemHistoryUndo(t *testing.T) {
	dir := t.TempDir()
	rs := startServer(t, dir)
	putContact(t, rs, "admin", rs.password, "contacts", "a.vcf", testVCard("a", "Anna First"))
	putContact(t, rs, "admin", rs.password, "contacts", "b.vcf", testVCard("b", "Bert First"))
	putContact(t, rs, "admin", rs.password, "contacts", "a.vcf", testVCard("a", "Anna Second"))
	putContact(t, rs, "admin", rs.password, "contacts", "b.vcf", testVCard("b", "Bert Second"))
	w := newWebClient(t, rs.url, nil)
	w.signIn("admin", rs.password)
	resp, body := w.get("/web/history?collection=contacts&object=a.vcf")
	if resp.StatusCode != http.StatusOK || strings.Contains(body, "b.vcf") || strings.Count(body, ">put<") != 2 {
		t.Fatalf("a.vcf's history: %d, want its two puts only\n%s", resp.StatusCode, body)
	}
	// The newest change's undo brings back the state before it: Anna First.
	m := regexp.MustCompile(`name="to_seq" value="(\d+)"`).FindStringSubmatch(body)
	resp, body = w.post("/web/undo", url.Values{"collection": {"contacts"}, "object": {"a.vcf"}, "to_seq": {m[1]}}, true)
	digest := regexp.MustCompile(`name="digest" value="([0-9a-f]+)"`).FindStringSubmatch(body)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, "change-back") || strings.Contains(body, "b.vcf") || digest == nil {
		t.Fatalf("preview of a.vcf's undo: %d\n%s", resp.StatusCode, body)
	}
	resp, body = w.post("/web/undo/apply", url.Values{"collection": {"contacts"}, "object": {"a.vcf"}, "to_seq": {m[1]}, "digest": {digest[1]}}, true)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("apply: %d\n%s", resp.StatusCode, body)
	}
	if _, a := davDo(t, rs, "admin", rs.password, "GET", "/dav/addressbooks/admin/contacts/a.vcf", nil, ""); !strings.Contains(a, "FN:Anna First") {
		t.Fatalf("a.vcf after the undo:\n%s", a)
	}
	if _, b := davDo(t, rs, "admin", rs.password, "GET", "/dav/addressbooks/admin/contacts/b.vcf", nil, ""); !strings.Contains(b, "FN:Bert Second") {
		t.Fatalf("b.vcf changed by a.vcf's undo:\n%s", b)
	}
}
