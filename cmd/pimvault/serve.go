package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/pimvault/pimvault/account"
	"github.com/pimvault/pimvault/admin"
	"github.com/pimvault/pimvault/observe"
	"github.com/pimvault/pimvault/server"
	"github.com/pimvault/pimvault/storage"
	"github.com/pimvault/pimvault/web"
)

// serveOptions are the flags of 'serve'. Every one of them can also be set
// in the --config file and the environment (config.go).
type serveOptions struct {
	sf                 storeFlags
	config             string
	initStore          bool
	addr               string
	firstUser          string
	tlsCert, tlsKey    string
	tlsAddr            string
	recoveryDays       int
	undoConfirmOver    int
	repl               replicationFlags
	limits             serveLimits
	mail               mailFlags
	mailDomain         string
	accessLog          bool
	basePath           string
	davAppOnly         bool
	backups            backupSchedule
	metricsAddr        string
	metricsAllowRemote bool
	logFormat          string
	logLevel           string
	drainDelay         time.Duration
	shutdownTimeout    time.Duration
}

func (o *serveOptions) register(fs *flag.FlagSet) {
	o.sf.register(fs)
	fs.StringVar(&o.config, configFlag, "", "TOML file whose keys are these flags' names (e.g. /etc/pimvault/pimvault.toml); flags and PIMVAULT_* variables win over it")
	fs.BoolVar(&o.initStore, "init", false, "create a new store when --data holds none (without it serve refuses, so a mistyped --data creates nothing)")
	fs.StringVar(&o.addr, "addr", "127.0.0.1:5232", "listen address")
	fs.StringVar(&o.firstUser, "user", "admin", "account to create on first start, when there is none")
	fs.StringVar(&o.tlsCert, "tls-cert", "", "TLS certificate file (PEM); with --tls-key serves HTTPS")
	fs.StringVar(&o.tlsKey, "tls-key", "", "TLS key file (PEM)")
	fs.StringVar(&o.tlsAddr, "tls-addr", "", "with --tls-cert and --tls-key: serve HTTPS on this address and plain HTTP on --addr, where discovery (/.well-known/caldav, /.well-known/carddav) redirects to HTTPS (without it, --addr serves HTTPS)")
	fs.IntVar(&o.recoveryDays, "recovery-device-days", 30, "a recovery closes by itself once every device seen in this many days has reported")
	fs.StringVar(&o.mailDomain, "mail-domain", "", "scheduling: an account without e-mail addresses (pimvault user email) has the calendar user address NAME@DOMAIN")
	fs.BoolVar(&o.accessLog, "access-log", true, "log one line per request (method, path, status, bytes, duration, user)")
	fs.StringVar(&o.basePath, "base-path", "", "answer under this path behind a reverse proxy that forwards it unchanged (e.g. /pim: the DAV tree at /pim/dav/); /.well-known/ stays at the root")
	fs.BoolVar(&o.davAppOnly, "dav-app-passwords-only", false, "refuse the account password for CalDAV and CardDAV: devices sign in with app passwords (pimvault user app-password); the account password still manages them through /api")
	fs.IntVar(&o.undoConfirmOver, "undo-confirm-over", storage.DefaultUndoConfirmOver, "an undo that removes more objects than this (or any collection) needs --yes / \"confirm\": true")
	o.limits.register(fs)
	fs.DurationVar(&o.backups.snapshotEvery, "snapshot-every", 0, "write a verified snapshot into <data>/snapshots this often (e.g. 6h; 0: never)")
	fs.IntVar(&o.backups.keepSnapshots, "keep-snapshots", 0, "delete the oldest scheduled snapshots beyond this many (0: keep all)")
	fs.DurationVar(&o.backups.retention, "journal-retention", 0, "after each scheduled snapshot, move journal segments older than this (e.g. 720h) that a verified snapshot covers to <data>/quarantine (0: keep everything)")
	o.repl.registerServe(fs)
	o.mail.register(fs)
	fs.DurationVar(&o.backups.drillEvery, "drill-every", 0, "run a restore drill this often (e.g. 24h; 0: never); 'pimvault status' shows the last result")
	fs.StringVar(&o.backups.drillTmp, "drill-tmp", "", "directory for the scheduled drills' scratch copy (default: the data directory)")
	fs.StringVar(&o.metricsAddr, "metrics-addr", "", "serve Prometheus metrics on http://ADDR/metrics, with /healthz and /readyz (off when empty; a loopback address unless --metrics-allow-remote)")
	fs.BoolVar(&o.metricsAllowRemote, "metrics-allow-remote", false, "let --metrics-addr listen on a non-loopback address (the metrics have no authentication)")
	fs.StringVar(&o.logFormat, "log-format", "text", "log format: text or json")
	fs.StringVar(&o.logLevel, "log-level", "info", "lowest level logged: debug, info, warn or error")
	fs.DurationVar(&o.drainDelay, "drain-delay", 2*time.Second, "on SIGTERM, answer /readyz with 503 for this long before the listener closes, so load balancers stop sending")
	fs.DurationVar(&o.shutdownTimeout, "shutdown-timeout", 30*time.Second, "then wait this long for requests in flight to finish")
}

// check reports options that cannot work, before anything is opened.
func (o *serveOptions) check() error {
	if _, err := storage.DaysArg("--recovery-device-days", o.recoveryDays); err != nil {
		return err
	}
	if err := server.CheckBasePath(o.basePath); err != nil {
		return fmt.Errorf("--base-path: %v", err)
	}
	if o.backups.drillTmp != "" {
		if st, err := os.Stat(o.backups.drillTmp); err != nil || !st.IsDir() {
			return fmt.Errorf("--drill-tmp %s: not a directory", o.backups.drillTmp)
		}
	}
	if err := o.repl.validate(); err != nil {
		return err
	}
	if err := o.limits.validate(); err != nil {
		return err
	}
	if _, _, err := o.mail.mailer(); err != nil {
		return err
	}
	switch {
	case o.undoConfirmOver < 1:
		return errors.New("--undo-confirm-over must be at least 1")
	case (o.tlsCert == "") != (o.tlsKey == ""):
		return errors.New("--tls-cert and --tls-key go together")
	case o.tlsAddr != "" && o.tlsCert == "":
		return errors.New("--tls-addr needs --tls-cert and --tls-key")
	case o.logFormat != "text" && o.logFormat != "json":
		return fmt.Errorf("--log-format %q: want text or json", o.logFormat)
	case o.drainDelay < 0 || o.shutdownTimeout < 0:
		return errors.New("--drain-delay and --shutdown-timeout must not be negative")
	}
	if _, err := parseLevel(o.logLevel); err != nil {
		return err
	}
	if o.metricsAddr != "" && !o.metricsAllowRemote {
		if err := requireLoopback(o.metricsAddr); err != nil {
			return err
		}
	}
	return nil
}

func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	switch s {
	case "debug", "info", "warn", "error":
		return l, l.UnmarshalText([]byte(s))
	}
	return l, fmt.Errorf("--log-level %q: want debug, info, warn or error", s)
}

// requireLoopback refuses a listen address that is not on a loopback
// interface.
func requireLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("--metrics-addr %q: %v", addr, err)
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("--metrics-addr %q is not a loopback address; the metrics have no authentication: use 127.0.0.1:PORT, or add --metrics-allow-remote", addr)
}

func (o *serveOptions) logger(w io.Writer) *slog.Logger {
	level, _ := parseLevel(o.logLevel)
	ho := &slog.HandlerOptions{Level: level}
	if o.logFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, ho))
	}
	return slog.New(slog.NewTextHandler(w, ho))
}

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("serve", stderr)
	var o serveOptions
	o.register(fs)
	if code, ok := parseArgs(fs, args, stdout); !ok {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "pimvault serve: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if _, err := applyConfig(fs, os.Getenv); err != nil {
		fmt.Fprintf(stderr, "pimvault serve: %v\n", err)
		return 2
	}
	if err := o.check(); err != nil {
		fmt.Fprintf(stderr, "pimvault serve: %v\n", err)
		return 2
	}
	return serve(ctx, &o, stdout, stderr)
}

// serve runs the server. The listeners bind first, so a taken port fails
// before anything is created; /healthz and /readyz answer while the store
// opens (a long journal replay or a migration), every other request gets
// 503 with Retry-After until it is open.
func serve(ctx context.Context, o *serveOptions, stdout, stderr io.Writer) int {
	log := o.logger(stderr)
	fail := func(err error) int {
		fmt.Fprintf(stderr, "pimvault serve: %v\n", err)
		log.Error("stopped", "err", err)
		return 1
	}
	data := o.sf.data
	if err := o.sf.checkStore(); err != nil {
		return fail(err)
	}
	_, idErr := storage.ReadIdentity(data)
	creating := errors.Is(idErr, fs.ErrNotExist)
	// A standby (--follow) builds its directory from the stream.
	if creating && !o.initStore && o.repl.follow == "" {
		return fail(fmt.Errorf("%s holds no pimvault store; nothing was created. Check --data, or create a new store there with 'pimvault serve --init --data %s'", data, data))
	}
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return fail(err)
	}
	var tln net.Listener // the HTTPS listener beside a plain --addr
	if o.tlsAddr != "" {
		if tln, err = net.Listen("tcp", o.tlsAddr); err != nil {
			ln.Close()
			return fail(fmt.Errorf("--tls-addr: %w", err))
		}
	}
	ready := observe.NewReadiness()
	metrics := observe.New(ready)
	var mln net.Listener
	if o.metricsAddr != "" {
		if mln, err = net.Listen("tcp", o.metricsAddr); err != nil {
			ln.Close()
			if tln != nil {
				tln.Close()
			}
			return fail(fmt.Errorf("--metrics-addr: %w", err))
		}
	}
	recoveryWindow, _ := storage.DaysArg("--recovery-device-days", o.recoveryDays) // checked in check
	cfg := server.Config{RecoveryDeviceWindow: recoveryWindow,
		AccessLog: o.accessLog, OnSignIn: metrics.SignIn,
		BasePath: o.basePath, DAVAppPasswordsOnly: o.davAppOnly}
	if tln != nil {
		cfg.TLSPort = tln.Addr().(*net.TCPAddr).Port
	}
	o.limits.apply(&cfg)
	maxConns, reserve := o.limits.connections()
	var current atomic.Pointer[http.Handler]
	starting := http.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" {
			observe.ServeAlive(w, r)
			return
		}
		w.Header().Set("Retry-After", "5")
		http.Error(w, "pimvault is "+ready.State()+"; try again shortly", http.StatusServiceUnavailable)
	}))
	current.Store(&starting)
	mux := http.NewServeMux()
	mux.HandleFunc("/readyz", ready.ServeReady)
	mux.Handle("/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { (*current.Load()).ServeHTTP(w, r) }))
	hs := server.NewHTTPServer(cfg, metrics.Instrument(mux))
	ln = server.LimitListener(ln, maxConns, reserve)
	// The HTTPS listener beside a plain --addr: one server, so one Shutdown
	// drains both; each listener has its own connection cap.
	tlsBeside := tln != nil
	if tlsBeside {
		tln = server.LimitListener(tln, maxConns, reserve)
	}
	errc := make(chan error, 3)
	go func() {
		if o.tlsCert != "" && !tlsBeside {
			errc <- hs.ServeTLS(ln, o.tlsCert, o.tlsKey)
			return
		}
		errc <- hs.Serve(ln)
	}()
	if tlsBeside {
		go func() { errc <- hs.ServeTLS(tln, o.tlsCert, o.tlsKey) }()
	}
	var ms *http.Server
	if mln != nil {
		mmux := http.NewServeMux()
		mmux.Handle("/metrics", metrics.Handler())
		mmux.HandleFunc("/readyz", ready.ServeReady)
		mmux.HandleFunc("/healthz", observe.ServeAlive)
		ms = &http.Server{Handler: mmux, ReadHeaderTimeout: 10 * time.Second}
		go func() { errc <- ms.Serve(mln) }()
		log.Info("metrics", "addr", mln.Addr().String())
	}
	closeListeners := func() {
		sctx, cancel := context.WithTimeout(context.Background(), o.shutdownTimeout)
		defer cancel()
		hs.Shutdown(sctx)
		if ms != nil {
			ms.Shutdown(sctx)
		}
	}

	ready.Set(observe.StateOpening)
	log.Info("listening", "addr", ln.Addr().String(), "data", data, "state", ready.State())
	opts := o.sf.options()
	opts.Logger = log
	opts.Upgrade = true // after a verified snapshot, logged with its path
	opts.Observer = metrics
	opts.UndoConfirmOver = o.undoConfirmOver
	s, standby, closeRepl, err := openServeStore(ctx, data, opts, &o.repl, log)
	if err != nil {
		closeListeners()
		return fail(err)
	}
	defer func() {
		if err := s.Close(); err != nil {
			log.Error("close store", "err", err)
		}
		log.Info("stopped", "data", data, "head", s.Head())
	}()
	defer closeRepl() // after the HTTP server stopped, before the store closes
	if creating && !standby {
		abs, _ := filepath.Abs(data)
		fmt.Fprintf(stdout, "created a new store in %s (store id %s)\n", abs, s.Identity().StoreID)
		log.Info("created a new store", "data", abs, "store_id", s.Identity().StoreID)
	}
	// davSrv is set once the DAV server exists (imip-receive on the socket needs it).
	var davSrv atomic.Pointer[server.Server]
	adm, err := admin.Listen(data, s, log, servedCommands(&davSrv))
	if err != nil {
		closeListeners()
		return fail(err)
	}
	defer adm.Close()
	// The listener is bound: the first account's password cannot be lost
	// to a port that is taken.
	if standby {
		// A standby writes nothing of its own: its accounts come from the primary.
	} else if err := createFirstUser(ctx, s, o.firstUser, stdout); err != nil {
		closeListeners()
		return fail(err)
	}
	metrics.SetStore(s)
	cfg.MaxResourceSize = opts.MaxBodySize
	mailer, mailFrom, err := o.mail.mailer()
	if err != nil {
		closeListeners()
		return fail(err)
	}
	cfg.MailDomain, cfg.Mailer, cfg.MailFrom = strings.ToLower(o.mailDomain), mailer, mailFrom
	mq := newMailQueue(s, mailer, metrics, log)
	cfg.MailQueued = mq.kick()
	// The pages sign people in through the DAV server's own check, which
	// exists once the server does.
	var dav *server.Server
	cfg.Pages = web.New(s, func(r *http.Request, user, pw string) error { return dav.SignIn(r, user, pw) }, log).WithBasePath(cfg.BasePath)
	dav = server.New(s, cfg, log)
	davSrv.Store(dav)
	defer mq.start(ctx, dav)() // stopped before the store closes
	h := dav.Handler()
	current.Store(&h)
	ready.Set(observe.StateReady)
	bctx, bcancel := context.WithCancel(ctx)
	bdone := make(chan struct{})
	go func() { o.backups.run(bctx, s, log); close(bdone) }()
	defer func() { bcancel(); <-bdone }() // before the store closes
	if tln != nil {
		log.Info("serving https", "tls_addr", tln.Addr().String())
	}
	log.Info("serving", "addr", ln.Addr().String(), "data", data, "store_id", s.Identity().StoreID, "head", s.Head(), "pid", os.Getpid(), "max_connections", maxConns)
	code := 0
	select {
	case <-ctx.Done():
		ready.Set(observe.StateDraining)
		log.Info("shutting down: /readyz answers 503 while draining", "drain_delay", o.drainDelay)
		time.Sleep(o.drainDelay)
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			fmt.Fprintf(stderr, "pimvault serve: %v\n", err)
			log.Error("listener failed", "err", err)
			code = 1
		}
		ready.Set(observe.StateDraining)
	}
	// In-flight requests finish (their writes are acknowledged durably)
	// before the store closes.
	closeListeners()
	return code
}

// createFirstUser creates an admin account with a random password when the
// store has none, and prints the password once.
func createFirstUser(ctx context.Context, s *storage.Store, name string, stdout io.Writer) error {
	ps, err := s.Principals()
	if err != nil || len(ps) > 0 {
		return err
	}
	pw := account.GeneratePassword()
	if err := account.AddUser(ctx, s, name, pw); err != nil {
		return fmt.Errorf("create first user: %w", err)
	}
	if err := account.SetAdmin(ctx, s, name, true); err != nil {
		return fmt.Errorf("create first user: %w", err)
	}
	fmt.Fprintf(stdout, "created user %q with password %s (shown once; change it with 'pimvault user passwd %s'); it is an admin\n", name, pw, name)
	return nil
}
