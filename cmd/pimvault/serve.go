package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/pimvault/pimvault/account"
	"github.com/pimvault/pimvault/admin"
	"github.com/pimvault/pimvault/server"
	"github.com/pimvault/pimvault/storage"
	"github.com/pimvault/pimvault/web"
)

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("serve", stderr)
	var sf storeFlags
	sf.register(fs)
	addr := fs.String("addr", "127.0.0.1:5232", "listen address")
	firstUser := fs.String("user", "admin", "account to create on first start, when there is none")
	tlsCert := fs.String("tls-cert", "", "TLS certificate file (PEM); with --tls-key serves HTTPS")
	tlsKey := fs.String("tls-key", "", "TLS key file (PEM)")
	recoveryDays := fs.Int("recovery-device-days", 30, "a recovery closes by itself once every device seen in this many days has reported")
	mailDomain := fs.String("mail-domain", "", "scheduling: an account without e-mail addresses (pimvault user email) has the calendar user address NAME@DOMAIN")
	accessLog := fs.Bool("access-log", true, "log one line per request (method, path, status, bytes, duration, user)")
	undoConfirmOver := fs.Int("undo-confirm-over", storage.DefaultUndoConfirmOver, "an undo that removes more objects than this (or any collection) needs --yes / \"confirm\": true")
	var limits serveLimits
	limits.register(fs)
	var backups backupSchedule
	fs.DurationVar(&backups.snapshotEvery, "snapshot-every", 0, "write a verified snapshot into <data>/snapshots this often (e.g. 6h; 0: never)")
	fs.IntVar(&backups.keepSnapshots, "keep-snapshots", 0, "delete the oldest scheduled snapshots beyond this many (0: keep all)")
	fs.DurationVar(&backups.retention, "journal-retention", 0, "after each scheduled snapshot, move journal segments older than this (e.g. 720h) that a verified snapshot covers to <data>/quarantine (0: keep everything)")
	var rf replicationFlags
	rf.registerServe(fs)
	var mf mailFlags
	mf.register(fs)
	fs.DurationVar(&backups.drillEvery, "drill-every", 0, "run a restore drill this often (e.g. 24h; 0: never); 'pimvault status' shows the last result")
	fs.StringVar(&backups.drillTmp, "drill-tmp", "", "directory for the scheduled drills' scratch copy (default: the data directory)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if backups.drillTmp != "" {
		if st, err := os.Stat(backups.drillTmp); err != nil || !st.IsDir() {
			fmt.Fprintf(stderr, "pimvault serve: --drill-tmp %s: not a directory\n", backups.drillTmp)
			return 2
		}
	}
	recoveryWindow, err := storage.DaysArg("--recovery-device-days", *recoveryDays)
	if err != nil {
		fmt.Fprintf(stderr, "pimvault serve: %v\n", err)
		return 2
	}
	if *undoConfirmOver < 1 {
		fmt.Fprintln(stderr, "pimvault serve: --undo-confirm-over must be at least 1")
		return 2
	}
	if err := rf.validate(); err != nil {
		fmt.Fprintf(stderr, "pimvault serve: %v\n", err)
		return 2
	}
	mailer, mailFrom, err := mf.mailer()
	if err != nil {
		fmt.Fprintf(stderr, "pimvault serve: %v\n", err)
		return 2
	}
	if err := limits.validate(); err != nil {
		fmt.Fprintf(stderr, "pimvault serve: %v\n", err)
		return 2
	}
	if (*tlsCert == "") != (*tlsKey == "") {
		fmt.Fprintln(stderr, "pimvault serve: --tls-cert and --tls-key go together")
		return 2
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	opts := sf.options()
	opts.Logger = log
	opts.Upgrade = true // after a verified snapshot, logged with its path
	opts.UndoConfirmOver = *undoConfirmOver
	s, standby, closeRepl, err := openServeStore(ctx, sf.data, opts, &rf, log)
	if err != nil {
		fmt.Fprintf(stderr, "pimvault serve: %v\n", err)
		return 1
	}
	defer s.Close()
	defer closeRepl() // after the HTTP server stopped, before the store closes
	// davSrv is set once the DAV server exists (imip-receive on the socket needs it).
	var davSrv atomic.Pointer[server.Server]
	admin, err := admin.Listen(sf.data, s, log, servedCommands(&davSrv))
	if err != nil {
		fmt.Fprintf(stderr, "pimvault serve: %v\n", err)
		return 1
	}
	defer admin.Close()

	if standby {
		// A standby writes nothing of its own: its accounts come from the primary.
	} else if err := createFirstUser(ctx, s, *firstUser, stdout); err != nil {
		fmt.Fprintf(stderr, "pimvault serve: %v\n", err)
		return 1
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintf(stderr, "pimvault serve: %v\n", err)
		return 1
	}
	// The pages sign people in through the DAV server's own check, which
	// exists once the server does.
	var dav *server.Server
	pages := web.New(s, func(r *http.Request, user, pw string) error { return dav.SignIn(r, user, pw) }, log)
	cfg := server.Config{MaxResourceSize: opts.MaxBodySize, RecoveryDeviceWindow: recoveryWindow, AccessLog: *accessLog, Pages: pages,
		MailDomain: strings.ToLower(*mailDomain), Mailer: mailer, MailFrom: mailFrom}
	limits.apply(&cfg)
	dav = server.New(s, cfg, log)
	davSrv.Store(dav)
	hs := dav.HTTPServer()
	maxConns, reserve := limits.connections()
	ln = server.LimitListener(ln, maxConns, reserve)
	errc := make(chan error, 1)
	go func() {
		if *tlsCert != "" {
			errc <- hs.ServeTLS(ln, *tlsCert, *tlsKey)
			return
		}
		errc <- hs.Serve(ln)
	}()
	bctx, bcancel := context.WithCancel(ctx)
	bdone := make(chan struct{})
	go func() { backups.run(bctx, s, log); close(bdone) }()
	defer func() { bcancel(); <-bdone }() // before the store closes
	log.Info("serving", "addr", ln.Addr().String(), "data", sf.data, "head", s.Head(), "pid", os.Getpid(), "max_connections", maxConns)
	select {
	case <-ctx.Done():
		log.Info("shutting down")
	case err := <-errc:
		if !errors.Is(err, http.ErrServerClosed) {
			fmt.Fprintf(stderr, "pimvault serve: %v\n", err)
			return 1
		}
	}
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// In-flight requests finish (their writes are acknowledged durably) before
	// the store closes.
	if err := hs.Shutdown(sctx); err != nil {
		log.Warn("shutdown", "err", err)
	}
	return 0
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
