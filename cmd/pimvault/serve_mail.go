package main

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/pimvault/pimvault/imip"
	"github.com/pimvault/pimvault/server"
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
