package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"log/slog"

	"github.com/pimvault/pimvault/imip"
	"github.com/pimvault/pimvault/observe"
	"github.com/pimvault/pimvault/server"
	"github.com/pimvault/pimvault/storage"
)

// mailFlags configure iMIP: invitations and replies by e-mail to people
// without an account here.
type mailFlags struct {
	relay, user, passwordFile, from string
	insecure                        bool
}

func (m *mailFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&m.relay, "smtp", "", "scheduling: send invitations to addresses of other servers through this SMTP relay (host:port, STARTTLS)")
	fs.StringVar(&m.user, "smtp-user", "", "SMTP AUTH PLAIN user (with --smtp-password-file)")
	fs.StringVar(&m.passwordFile, "smtp-password-file", "", "file holding the SMTP password (first line)")
	fs.StringVar(&m.from, "smtp-from", "", "envelope sender of iMIP mail (default: the organizer's or attendee's own address)")
	fs.BoolVar(&m.insecure, "smtp-insecure", false, "allow a relay without STARTTLS (credentials still only over TLS or to a loopback relay)")
}

// mailer returns the configured relay, nil without --smtp.
func (m *mailFlags) mailer() (server.Mailer, string, error) {
	if m.relay == "" {
		if m.user != "" || m.passwordFile != "" || m.from != "" || m.insecure {
			return nil, "", errors.New("--smtp-* flags need --smtp host:port")
		}
		return nil, "", nil
	}
	if _, _, err := net.SplitHostPort(m.relay); err != nil {
		return nil, "", fmt.Errorf("--smtp %q: %v (want host:port)", m.relay, err)
	}
	if (m.user == "") != (m.passwordFile == "") {
		return nil, "", errors.New("--smtp-user and --smtp-password-file go together")
	}
	s := &imip.SMTP{Addr: m.relay, Username: m.user, Insecure: m.insecure, Timeout: 20 * time.Second}
	if m.passwordFile != "" {
		b, err := os.ReadFile(m.passwordFile)
		if err != nil {
			return nil, "", fmt.Errorf("--smtp-password-file: %v", err)
		}
		s.Password = strings.TrimRight(strings.SplitN(string(b), "\n", 2)[0], "\r")
	}
	return s, m.from, nil
}

// mailQueue sends the store's outbox (mail queued by scheduling changes)
// through the relay; nil without --smtp.
type mailQueue struct {
	q   *imip.Queue
	log *slog.Logger
}

// newMailQueue makes the queue of a serve with mailer (nil: none; queued
// mail then waits, and 'pimvault imip queue' shows it).
func newMailQueue(s *storage.Store, mailer server.Mailer, metrics *observe.Metrics, log *slog.Logger) *mailQueue {
	if mailer == nil {
		if n, err := s.OutboxLen(""); err == nil && n > 0 {
			log.Warn("iMIP mail is queued but no --smtp relay is set: it waits until serve runs with --smtp", "queued", n)
		}
		return nil
	}
	q := imip.NewQueue(s, mailer, log)
	q.Observe = metrics.MailQueue().Observe
	q.Active = func() bool {
		r := s.Replicator()
		return r == nil || r.Ready() == nil
	}
	return &mailQueue{q: q, log: log}
}

// kick is the server's MailQueued hook; nil without a queue.
func (m *mailQueue) kick() func() {
	if m == nil {
		return nil
	}
	return m.q.Kick
}

// start runs the queue until the returned stop is called (before the
// store closes); dav records each message's outcome on the sender's copy.
func (m *mailQueue) start(ctx context.Context, dav *server.Server) (stop func()) {
	if m == nil {
		return func() {}
	}
	m.q.Settle = dav.SettleMail
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { m.q.Run(ctx); close(done) }()
	return func() { cancel(); <-done }
}
