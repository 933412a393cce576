package web

import (
	"context"
	"embed"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/pimvault/pimvault/account"
	"github.com/pimvault/pimvault/calendar"
	"github.com/pimvault/pimvault/storage"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Request bounds.
const (
	maxFormBytes   = 1 << 20  // an ordinary form
	maxUploadBytes = 32 << 20 // an import upload, all files together
	pageTimeout    = 30 * time.Second
	longTimeout    = 5 * time.Minute // an import, a backup, an undo being applied
	// calendarCacheSize bounds the parsed calendar objects kept between
	// month views.
	calendarCacheSize = 2048
)

// contentSecurityPolicy allows the server's own stylesheet and images and
// nothing else: no scripts, no framing, forms only to this site.
const contentSecurityPolicy = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// SignInFunc checks a user name and password with the server's one sign-in
// check (rate limits included). A refusal may have an HTTPStatus() int
// method (default 401) and a RetryAfter() time.Duration method.
type SignInFunc func(r *http.Request, user, password string) error

// Pages is the web pages' handler.
type Pages struct {
	store  *storage.Store
	signIn SignInFunc
	log    *slog.Logger
	sess   *sessions
	tmpl   map[string]*template.Template
	mux    *http.ServeMux
	cal    *calendar.Cache // parsed calendar objects by ETag, for the month view
	base   string          // the server's path prefix behind a reverse proxy ("" or "/pim")
}

// New returns the pages over store, signing people in with signIn.
func New(store *storage.Store, signIn SignInFunc, log *slog.Logger) *Pages {
	p := &Pages{store: store, signIn: signIn, log: log, sess: newSessions(), mux: http.NewServeMux(),
		cal: calendar.NewCache(calendarCacheSize)}
	p.tmpl = parseTemplates(func() string { return p.base })
	p.routes()
	return p
}

// WithBasePath makes the pages answer under base+"/web/" (the server's
// --base-path, already checked) with every link, form, redirect and cookie
// carrying it. Call it before serving.
func (p *Pages) WithBasePath(base string) *Pages {
	p.base = strings.TrimSuffix(base, "/")
	return p
}

// ServeHTTP serves the pages under /web/.
func (p *Pages) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	if p.base != "" {
		rest, ok := strings.CutPrefix(r.URL.Path, p.base)
		if !ok || !strings.HasPrefix(rest, "/") {
			http.NotFound(w, r)
			return
		}
		r2 := new(http.Request)
		*r2 = *r
		u := *r.URL
		u.Path, u.RawPath = rest, ""
		r2.URL = &u
		r = r2
	}
	p.mux.ServeHTTP(w, r)
}

func parseTemplates(basePath func() string) map[string]*template.Template {
	funcs := template.FuncMap{
		"base": basePath,
		"when": func(t time.Time) string {
			if t.IsZero() {
				return "never"
			}
			return t.UTC().Format("2006-01-02 15:04 UTC")
		},
		"bytes": humanBytes,
	}
	base := template.Must(template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/partials.html"))
	out := map[string]*template.Template{}
	pages, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		panic(err)
	}
	for _, f := range pages {
		name := strings.TrimSuffix(strings.TrimPrefix(f, "templates/"), ".html")
		if name == "layout" || name == "partials" {
			continue
		}
		out[name] = template.Must(template.Must(base.Clone()).ParseFS(templateFS, f))
	}
	return out
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30:
		return strconv.FormatFloat(float64(n)/(1<<30), 'f', 1, 64) + " GiB"
	case n >= 1<<20:
		return strconv.FormatFloat(float64(n)/(1<<20), 'f', 1, 64) + " MiB"
	case n >= 1<<10:
		return strconv.FormatFloat(float64(n)/(1<<10), 'f', 1, 64) + " KiB"
	}
	return strconv.FormatInt(n, 10) + " bytes"
}

// req is one request of a signed-in person.
type req struct {
	w    http.ResponseWriter
	r    *http.Request
	sess *session
	acct account.Account
	user string // the signed-in user
	base string // the server's path prefix, which every redirect carries
}

// view is what every page template gets.
type view struct {
	Title      string
	Nav        string
	User       string
	Admin      bool
	CSRF       string
	Recovering bool
	Notice     string
	Error      string
	Data       any
}

// page registers a handler for signed-in people (admin: only accounts
// with the admin flag). A POST must carry the session's CSRF token.
func (p *Pages) page(pattern string, admin bool, fn func(*req) error) {
	p.pageWithin(pattern, admin, pageTimeout, fn)
}

// pageWithin is page with the deadline of the page's work (store reads,
// undo, import), inside the server's own request deadline when it has one;
// a download's stream is bounded by the server's write timeout instead.
func (p *Pages) pageWithin(pattern string, admin bool, timeout time.Duration, fn func(*req) error) {
	p.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), timeout)
		defer cancel()
		r = r.WithContext(ctx)
		x := p.begin(w, r)
		if x == nil {
			return
		}
		if admin && !x.acct.Admin {
			p.fail(x, errForbidden)
			return
		}
		if r.Method == http.MethodPost {
			if err := parseForm(r); err != nil {
				p.fail(x, err)
				return
			}
			if !tokenEqual(r.PostFormValue("csrf"), x.sess.csrf) {
				p.fail(x, errCSRF)
				return
			}
		}
		if err := fn(x); err != nil {
			p.fail(x, err)
		}
	})
}

func parseForm(r *http.Request) error {
	if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
		r.Body = http.MaxBytesReader(nil, r.Body, maxUploadBytes)
		if err := r.ParseMultipartForm(maxUploadBytes); err != nil {
			return badRequest("the upload could not be read (at most " + humanBytes(maxUploadBytes) + " in all): " + err.Error())
		}
		return nil
	}
	r.Body = http.MaxBytesReader(nil, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		return badRequest("the form could not be read: " + err.Error())
	}
	return nil
}

// begin finds the request's session and the account behind it; without
// one it sends a GET to the sign-in page and refuses anything else, and
// returns nil.
func (p *Pages) begin(w http.ResponseWriter, r *http.Request) *req {
	x := p.sess.get(cookieValue(r, sessionCookie))
	if x != nil {
		acct, err := p.account(x.user)
		if err == nil && !acct.Disabled && stampOf(acct.PasswordHash) == x.stamp && hasAppPassword(acct, x.appID) {
			return &req{w: w, r: r, sess: x, acct: acct, user: x.user, base: p.base}
		}
		p.sess.drop(x.id)
	}
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		http.Redirect(w, r, p.base+"/web/signin", http.StatusSeeOther)
		return nil
	}
	p.render(w, r, http.StatusForbidden, "error", view{Title: "Signed out", Error: "You are not signed in (or your session ended). Sign in and try again."})
	return nil
}

// hasAppPassword reports whether the app password a session signed in with
// (none: "") is still the account's: revoking it ends those sessions too.
func hasAppPassword(acct account.Account, id string) bool {
	if id == "" {
		return true
	}
	for _, ap := range acct.AppPasswords {
		if ap.ID == id {
			return true
		}
	}
	return false
}

func (p *Pages) account(user string) (account.Account, error) {
	pr, err := p.store.Principal(user)
	if err != nil {
		return account.Account{}, err
	}
	return account.Decode(pr)
}

// show renders a page for a signed-in person.
func (p *Pages) show(x *req, status int, name string, v view) error {
	v.User, v.Admin, v.CSRF = x.user, x.acct.Admin, x.sess.csrf
	if st, err := p.store.PrincipalState(x.user); err == nil {
		v.Recovering = st.Recovery.Recovering
	}
	if v.Notice == "" {
		v.Notice = notices[x.r.URL.Query().Get("done")]
	}
	p.render(x.w, x.r, status, name, v)
	return nil
}

// notices are the fixed messages a redirect after a change may show.
var notices = map[string]string{
	"created":  "Created.",
	"saved":    "Saved.",
	"deleted":  "Deleted. The deletion is in the history: undo it there to bring everything back.",
	"user":     "Account saved.",
	"recovery": "Recovery closed: this account is served normally again.",
	"backup":   "Backup taken and verified.",
	"revoked":  "App password revoked: the next request made with it is refused.",
	"revoked-devices": "App password revoked: the next request made with it is refused. The devices that used it are marked below, " +
		"and a recovery no longer waits for them.",
}

func (p *Pages) render(w http.ResponseWriter, r *http.Request, status int, name string, v view) {
	t := p.tmpl[name]
	if t == nil {
		p.log.Error("web: no template", "name", name)
		http.Error(w, "page not found", http.StatusInternalServerError)
		return
	}
	var b strings.Builder
	if err := t.ExecuteTemplate(&b, "layout", v); err != nil {
		p.log.Error("web: render", "page", name, "err", err)
		http.Error(w, "the page could not be shown", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		w.Write([]byte(b.String()))
	}
}

// fail shows err on an error page with its status.
func (p *Pages) fail(x *req, err error) {
	status := statusOf(err)
	msg := err.Error()
	if status >= 500 {
		p.log.Error("web: page failed", "path", x.r.URL.Path, "user", x.user, "err", err)
		msg = "Something went wrong on the server; the error is in its log."
	}
	var pe *pageError
	if status == http.StatusNotFound && !errors.As(err, &pe) {
		msg = "There is nothing here: " + msg
	}
	p.show(x, status, "error", view{Title: http.StatusText(status), Error: msg})
}

// redirect answers a successful POST with a redirect to a page that shows
// a fixed notice.
func redirect(x *req, to, done string) error {
	if done != "" {
		sep := "?"
		if strings.Contains(to, "?") {
			sep = "&"
		}
		to += sep + "done=" + done
	}
	http.Redirect(x.w, x.r, x.base+to, http.StatusSeeOther)
	return nil
}

func (p *Pages) routes() {
	static, _ := fs.Sub(staticFS, "static")
	p.mux.Handle("GET /web/static/", http.StripPrefix("/web/static/", http.FileServerFS(static)))
	p.mux.HandleFunc("GET /web/signin", p.signinForm)
	p.mux.HandleFunc("POST /web/signin", p.signinPost)
	p.page("POST /web/signout", false, p.signout)
	p.page("GET /web/{$}", false, func(x *req) error { return redirect(x, "/web/collections", "") })
	p.mux.HandleFunc("GET /web", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, p.base+"/web/", http.StatusSeeOther) })
	p.mux.HandleFunc("/web/", func(w http.ResponseWriter, r *http.Request) {
		p.render(w, r, http.StatusNotFound, "error", view{Title: "Not found", Error: "There is no such page."})
	})

	p.page("GET /web/collections", false, p.collections)
	p.page("POST /web/collections", false, p.createCollection)
	p.page("GET /web/c/{col}", false, p.collection)
	p.page("POST /web/c/{col}/settings", false, p.collectionSettings)
	p.page("GET /web/c/{col}/delete", false, p.confirmDelete)
	p.page("POST /web/c/{col}/delete", false, p.deleteCollection)

	p.page("GET /web/history", false, func(x *req) error { return p.history(x, x.user, "/web") })
	p.page("POST /web/undo", false, func(x *req) error { return p.undoPreview(x, x.user, "/web") })
	p.pageWithin("POST /web/undo/apply", false, longTimeout, func(x *req) error { return p.undoApply(x, x.user, "/web") })

	p.page("GET /web/devices", false, p.devices)
	p.page("POST /web/devices/app-passwords", false, p.addAppPassword)
	p.page("POST /web/devices/app-passwords/{id}/revoke", false, p.revokeAppPassword)
	p.page("GET /web/transfer", false, p.transferPage)
	p.page("GET /web/export", false, p.export)
	p.pageWithin("POST /web/import", false, longTimeout, p.importFiles)

	p.page("GET /web/admin", true, p.adminHome)
	p.page("POST /web/admin/users", true, p.adminAddUser)
	p.page("POST /web/admin/users/{user}", true, p.adminUserAction)
	p.page("POST /web/admin/recovery/{user}/close", true, p.adminCloseRecovery)
	p.pageWithin("POST /web/admin/backups", true, longTimeout, p.adminBackup)
	p.page("GET /web/admin/backups/{name}", true, p.adminDownloadBackup)
	p.page("GET /web/admin/u/{user}/history", true, func(x *req) error {
		return p.history(x, x.r.PathValue("user"), "/web/admin/u/"+x.r.PathValue("user"))
	})
	p.page("POST /web/admin/u/{user}/undo", true, func(x *req) error {
		return p.undoPreview(x, x.r.PathValue("user"), "/web/admin/u/"+x.r.PathValue("user"))
	})
	p.pageWithin("POST /web/admin/u/{user}/undo/apply", true, longTimeout, func(x *req) error {
		return p.undoApply(x, x.r.PathValue("user"), "/web/admin/u/"+x.r.PathValue("user"))
	})
}
