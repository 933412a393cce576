package server

import (
	"context"
	"log/slog"
	"net/http"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/pimvault/pimvault/calendar"
	"github.com/pimvault/pimvault/server/files"
	"github.com/pimvault/pimvault/server/internal/admit"
	"github.com/pimvault/pimvault/server/internal/dav"
	"github.com/pimvault/pimvault/storage"
	"github.com/pimvault/pimvault/syncproto"
)

// Store is what the server needs of the storage layer.
type Store interface {
	Commit(ctx context.Context, c storage.Change) (storage.Result, error)
	Get(principal, collection, name string) (storage.Object, error)
	Objects(principal, collection string, bodies bool, fn func(storage.Object) error) error
	Changes(principal, collection string, since uint64) ([]storage.MemberChange, uint64, error)
	Overlapping(principal, collection string, start, end int64) ([]string, error)
	OverlappingObjects(principal, collection string, start, end int64, withBodies bool) ([]storage.Object, error)
	GetObjects(principal, collection string, names []string) ([]storage.Object, error)
	Collection(principal, name string) (storage.Collection, error)
	Collections(principal string) ([]storage.Collection, error)
	ObjectProps(principal, collection, name string) (map[string][]byte, error)
	Principal(name string) (storage.Principal, error)
	Principals() ([]storage.Principal, error)
	ByUID(principal, collection, uid string) (string, error)
	Epoch() (id string, startSeq uint64, err error)
	Head() uint64
	OutboxLen(principal string) (int, error)
	Outbox(principal string) ([]storage.OutboxEntry, error)
	PrincipalsVersion() (uint64, error)
	recoveryStore
}

// Config holds the server's settings. The zero value gives the defaults.
type Config struct {
	// MaxResourceSize bounds one object body (default storage.DefaultMaxBodySize).
	MaxResourceSize int64
	// FailedLoginDelay is how long a wrong password waits before its 401.
	FailedLoginDelay time.Duration
	// QuotaBytes is the per-account quota advertised (0: unlimited, not advertised).
	QuotaBytes int64
	// RecoveryDeviceWindow: a recovery closes by itself once every device
	// seen within it has reported (default DefaultRecoveryDeviceWindow).
	RecoveryDeviceWindow time.Duration
	// AccessLog logs one line per request (method, path, status, bytes,
	// duration, user) at Info; off by default (tests), on in serve.
	AccessLog bool
	// BasePath is the path prefix the server answers under behind a reverse
	// proxy that forwards it unchanged ("/pim": /pim/dav/, /pim/api/); "" is
	// the root. /.well-known/ stays at the root and redirects into it. It is
	// one per process (see CheckBasePath).
	BasePath string
	// DAVAppPasswordsOnly refuses the account password on the DAV tree: devices
	// must sign in with an app password; the account password still works for
	// /api (where app passwords are managed).
	DAVAppPasswordsOnly bool
	// OnSignIn, when set, is told each sign-in attempt's outcome: "ok",
	// "failed", "throttled", "gave_up" (no check in time) or "no_credentials" (metrics).
	OnSignIn func(outcome string)
	// Pages, when set, serves the web pages under /web/ (GET / leads there);
	// it signs people in through Server.SignIn.
	Pages http.Handler

	// Admission (docs/ARCHITECTURE.md, "Admission"); zero values are sized
	// from the cores.
	MaxRequests           int           // requests running at once
	MaxRequestsPerAccount int           // of them, for one account
	MaxQueue              int           // requests waiting for a slot
	QueueWait             time.Duration // the longest wait for a slot
	MaxPasswordChecks     int           // bcrypt checks at once
	// RequestTimeout is the deadline of a request's work (default
	// DefaultRequestTimeout); its response must be written within
	// writeGrace after it.
	RequestTimeout time.Duration
	// ReadTimeout bounds reading a request, body included (default
	// DefaultReadTimeout).
	ReadTimeout time.Duration
	// TrustedProxies: peers whose Forwarded / X-Forwarded-For name the
	// client address.
	TrustedProxies []netip.Prefix
	// TLSPort, when set, is the port of this server's own HTTPS listener
	// beside a plain one: discovery that arrives in plain text
	// (/.well-known/caldav, /.well-known/carddav) is sent there, so a
	// client that found the server over HTTP signs in over TLS.
	TLSPort int
	// MailDomain, when set, gives an account without e-mail addresses the
	// calendar user address mailto:<name>@<MailDomain> for scheduling.
	MailDomain string
	// Mailer, when set, sends iMIP mail (RFC 6047) to attendees and
	// organizers who have no account here; MailFrom is then the envelope
	// sender (default: the organizer's or attendee's own address).
	Mailer   Mailer
	MailFrom string
	// MailQueued, when set, is told after a change queued iMIP mail in the
	// store's outbox (the sending queue's Kick); the queue sends it.
	MailQueued func()
}

// Mailer sends one mail message.
type Mailer interface {
	Send(ctx context.Context, from string, to []string, msg []byte) error
}

// CheckBasePath checks a --base-path value: "" or "/seg[/seg…]" without a
// trailing slash.
func CheckBasePath(base string) error { return dav.CheckBasePath(base) }

func (c Config) withDefaults() Config {
	if c.MaxResourceSize == 0 {
		c.MaxResourceSize = storage.DefaultMaxBodySize
	}
	if c.FailedLoginDelay == 0 {
		c.FailedLoginDelay = time.Second
	}
	if c.RecoveryDeviceWindow == 0 {
		c.RecoveryDeviceWindow = DefaultRecoveryDeviceWindow
	}
	if c.ReadTimeout <= 0 {
		c.ReadTimeout = DefaultReadTimeout
	}
	defaultAdmission(&c)
	return c
}

// Server serves DAV for the accounts of one store.
type Server struct {
	store Store
	cfg   Config
	log   *slog.Logger
	auth  *authenticator
	gate  *admit.Gate // admission of every request but the health check
	pools workPools   // the expensive classes of work
	seen  deviceSeen  // when each device's last-seen was written
	// lossLimit bounds, per principal, the recoveries sync tokens open.
	lossLimit *dav.KeyedLimiter

	defaultsDone sync.Map // users whose default collections exist
	scheduleDone sync.Map // users whose inbox and outbox exist
	dirCache     atomic.Pointer[cachedDirectory]

	calCache *calendar.Cache // parsed calendar objects by ETag, for reports
	lengths  exportLengths   // collections' GET lengths, for getcontentlength
	files    *files.Handler  // the generic WebDAV area under /dav/files/
}

// calendarCacheSize bounds the parsed calendar objects kept for reports.
const calendarCacheSize = 4096

// New returns a server over store.
func New(store Store, cfg Config, log *slog.Logger) *Server {
	cfg = cfg.withDefaults()
	if err := dav.SetBasePath(cfg.BasePath); err != nil {
		panic("server.New: " + err.Error() + " (check it with CheckBasePath first)")
	}
	return &Server{store: store, cfg: cfg, log: log,
		auth: newAuthenticator(store, cfg.FailedLoginDelay, cfg.MaxPasswordChecks, signInWait(cfg), cfg.TrustedProxies),
		gate: admit.NewGate(admit.Config{Limit: cfg.MaxRequests, PerAccount: cfg.MaxRequestsPerAccount,
			Queue: cfg.MaxQueue, Wait: cfg.QueueWait}),
		pools:    newWorkPools(cfg),
		calCache: calendar.NewCache(calendarCacheSize), files: files.New(store, cfg.MaxResourceSize, log),
		lossLimit: dav.NewKeyedLimiter(lossEvery, lossBurst, maxTrackedDevices)}
}

func init() {
	for _, m := range []string{"PROPFIND", "PROPPATCH", "MKCOL", "MKCALENDAR", "MOVE", "COPY", "REPORT", "LOCK", "UNLOCK"} {
		chi.RegisterMethod(m)
	}
}

// Handler returns the HTTP handler: discovery redirects, the DAV tree under
// /dav/, a health check and, with Config.Pages, the web pages under /web/.
func (s *Server) Handler() http.Handler {
	return s.accessLog(s.admission(s.routes()))
}

// routes is the router behind admission.
func (s *Server) routes() http.Handler {
	r := chi.NewRouter()
	r.Use(s.deviceEpoch)
	for _, p := range []string{"/.well-known/carddav", "/.well-known/caldav"} {
		r.HandleFunc(p, s.wellKnownRedirect)
		r.HandleFunc(p+"/", s.wellKnownRedirect)
	}
	r.HandleFunc("/.well-known", s.wellKnownRoot)
	r.HandleFunc("/.well-known/", s.wellKnownRoot)
	base := dav.BasePath()
	root := func(w http.ResponseWriter, r *http.Request) {
		atRoot := r.URL.Path == "/" || r.URL.Path == base+"/"
		if atRoot && r.Method == "PROPFIND" {
			// Some clients start discovery at the root.
			s.requireAuth(http.HandlerFunc(s.serveDAV)).ServeHTTP(w, r)
			return
		}
		if atRoot && s.cfg.Pages != nil && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
			http.Redirect(w, r, base+"/web/", http.StatusSeeOther)
			return
		}
		http.NotFound(w, r)
	}
	mount := func(r chi.Router) {
		r.Get("/healthz", s.healthz)
		r.Handle(syncproto.RecoveryDonePath, s.requireAuth(http.HandlerFunc(s.recoveryDone)))
		r.Handle("/dav", s.requireAuth(http.HandlerFunc(s.serveDAV)))
		r.Handle("/dav/*", s.requireAuth(http.HandlerFunc(s.serveDAV)))
		r.Group(func(api chi.Router) {
			api.Use(s.apiGuard)
			s.routeAPI(api)
		})
		if s.cfg.Pages != nil {
			r.Handle("/web", s.cfg.Pages)
			r.Handle("/web/*", s.cfg.Pages)
		}
		r.HandleFunc("/", root)
	}
	if base != "" {
		r.Get("/healthz", s.healthz) // for the supervisor, which talks to the server directly
		r.Route(base, mount)
		r.HandleFunc("/", root)
	} else {
		mount(r)
	}
	return r
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	epoch, _, err := s.store.Epoch()
	if err != nil {
		http.Error(w, "store unavailable", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write([]byte(`{"ok":true,"epoch":"` + epoch + `"}` + "\n"))
}

// writeError answers a request with err.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	dav.WriteError(s.log, w, r, err)
}
