package web

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/pimvault/pimvault/account"
	"github.com/pimvault/pimvault/storage"
)

// testPages opens a store with the accounts alice and bob (bob has an
// address book "secret" holding one contact) and returns the pages with a
// signed-in session of alice. Sign-in checks the account's password (the
// server's SignIn, with its limits, is tested against the binary in
// cmd/pimvault).
func testPages(t testing.TB) (*Pages, *session) {
	t.Helper()
	account.HashCost = bcrypt.MinCost
	st, err := storage.Open(t.TempDir(), storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ctx := context.Background()
	for _, u := range []string{"alice", "bob"} {
		if err := account.AddUser(ctx, st, u, u+"-password"); err != nil {
			t.Fatal(err)
		}
	}
	commit := func(c storage.Change) {
		if _, err := st.Commit(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	commit(storage.Change{Op: storage.OpCreateCollection, Principal: "bob", Collection: "secret", Kind: kindAddressBook,
		Props: map[string][]byte{propDisplayName: []byte("BobSecretBook")}})
	body := []byte("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:s1\r\nFN:BobSecretContact\r\nEND:VCARD\r\n")
	commit(storage.Change{Op: storage.OpPut, Principal: "bob", Collection: "secret", Name: "s1.vcf", Body: body,
		Meta: storage.ObjectMeta{UID: "s1", Component: "VCARD"}})
	commit(storage.Change{Op: storage.OpCreateCollection, Principal: "alice", Collection: "contacts", Kind: kindAddressBook})
	signIn := func(r *http.Request, user, pw string) error {
		p, err := st.Principal(user)
		if err != nil {
			return err
		}
		a, err := account.Decode(p)
		if err != nil || a.Disabled || !a.PasswordMatches(pw) {
			return &pageError{Status: http.StatusUnauthorized, Msg: "wrong user name or password"}
		}
		return nil
	}
	p := New(st, signIn, slog.New(slog.NewTextHandler(io.Discard, nil)))
	acct, err := p.account("alice")
	if err != nil {
		t.Fatal(err)
	}
	return p, p.sess.create("alice", acct.PasswordHash, "")
}

// FuzzPages sends alice's session arbitrary GETs and POSTs (with her token)
// under /web/: no request panics, none is a server error, and none shows
// bob's data.
func FuzzPages(f *testing.F) {
	for _, s := range []struct {
		post       bool
		path, form string
	}{
		{false, "collections", ""},
		{false, "c/contacts?q=x", ""},
		{false, "c/secret", ""},
		{false, "c/contacts/delete", ""},
		{false, "history?collection=secret&object=s1.vcf", ""},
		{false, "history?collection=contacts&limit=0", ""},
		{false, "c/calendar?month=2026-13&tz=Mars", ""},
		{true, "collections", "kind=calendar&display=%3Cscript%3E&color=%23ff0000"},
		{true, "collections", "kind=addressbook&display=" + strings.Repeat("x", 300)},
		{true, "c/contacts/settings", "display=New&color=red"},
		{true, "c/contacts/delete", "confirm=contacts"},
		{true, "undo", "collection=contacts&to_seq=1"},
		{true, "undo/apply", "collection=&to_seq=18446744073709551615&digest=x"},
		{true, "admin/users", "user=x&password=y"},
		{false, "devices", ""},
		{true, "devices/app-passwords", "label=phone"},
		{true, "devices/app-passwords", "label=%00%7f"},
		{true, "devices/app-passwords/nope/revoke", ""},
		{false, "transfer", ""},
	} {
		f.Add(s.post, s.path, s.form)
	}
	p, x := testPages(f)
	f.Fuzz(func(t *testing.T, post bool, path, form string) {
		u, err := url.Parse("/web/" + path)
		if err != nil || !strings.HasPrefix(u.Path, "/web/") {
			return
		}
		method, body := http.MethodGet, io.Reader(nil)
		if post {
			method, body = http.MethodPost, strings.NewReader(form+"&csrf="+url.QueryEscape(x.csrf))
		}
		r, err := http.NewRequest(method, "http://pimvault.test"+u.String(), body)
		if err != nil {
			return
		}
		if post {
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		r.AddCookie(&http.Cookie{Name: sessionCookie, Value: x.id})
		w := httptest.NewRecorder()
		p.ServeHTTP(w, r)
		if w.Code >= 500 {
			t.Fatalf("%s %s %q: %d\n%s", r.Method, u, form, w.Code, w.Body.String())
		}
		for _, leak := range []string{"BobSecret", "s1.vcf"} {
			if strings.Contains(w.Body.String(), leak) && !strings.Contains(path+form, leak) {
				t.Fatalf("%s %s shows bob's %q", r.Method, u, leak)
			}
		}
		if w.Header().Get("Content-Security-Policy") != contentSecurityPolicy {
			t.Fatalf("%s %s without the CSP", r.Method, u)
		}
	})
}
