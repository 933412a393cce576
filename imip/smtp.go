package imip

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/smtp"
	"time"
)

// SMTP sends mail through one relay.
type SMTP struct {
	Addr     string // host:port
	Username string // AUTH PLAIN when set
	Password string
	// Insecure allows a relay without STARTTLS; credentials are still sent
	// only over TLS or to a loopback relay.
	Insecure bool
	Timeout  time.Duration // per message (default 30s)
}

// Send delivers msg from from (envelope sender) to each of to.
func (s *SMTP) Send(ctx context.Context, from string, to []string, msg []byte) error {
	timeout := s.Timeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	host, _, err := net.SplitHostPort(s.Addr)
	if err != nil {
		return fmt.Errorf("smtp relay %q: %w", s.Addr, err)
	}
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", s.Addr)
	if err != nil {
		return fmt.Errorf("smtp relay %s: %w", s.Addr, err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		return fmt.Errorf("smtp relay %s: %w", s.Addr, err)
	}
	defer c.Close()
	tlsOn := false
	if ok, _ := c.Extension("STARTTLS"); ok {
		if err := c.StartTLS(&tls.Config{ServerName: host}); err != nil {
			return fmt.Errorf("smtp relay %s: STARTTLS: %w", s.Addr, err)
		}
		tlsOn = true
	} else if !s.Insecure {
		return fmt.Errorf("smtp relay %s offers no STARTTLS (--smtp-insecure allows that)", s.Addr)
	}
	if s.Username != "" {
		ip := net.ParseIP(host)
		if !tlsOn && !(host == "localhost" || ip != nil && ip.IsLoopback()) {
			return errors.New("smtp: refusing to send credentials without TLS")
		}
		if err := c.Auth(plainAuth{s.Username, s.Password}); err != nil {
			return fmt.Errorf("smtp relay %s: AUTH: %w", s.Addr, err)
		}
	}
	if err := c.Mail(from); err != nil {
		return fmt.Errorf("smtp relay %s: MAIL FROM: %w", s.Addr, err)
	}
	for _, r := range to {
		if err := c.Rcpt(r); err != nil {
			return fmt.Errorf("smtp relay %s: RCPT TO %s: %w", s.Addr, r, err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("smtp relay %s: DATA: %w", s.Addr, err)
	}
	if _, err := w.Write(msg); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("smtp relay %s: %w", s.Addr, err)
	}
	return c.Quit()
}

// plainAuth is AUTH PLAIN (RFC 4616); Send decides whether the connection
// may carry it (net/smtp's PlainAuth refuses a loopback relay without TLS
// only by name).
type plainAuth struct{ user, pass string }

func (a plainAuth) Start(*smtp.ServerInfo) (string, []byte, error) {
	return "PLAIN", []byte("\x00" + a.user + "\x00" + a.pass), nil
}

func (a plainAuth) Next(_ []byte, more bool) ([]byte, error) {
	if more {
		return nil, errors.New("smtp: unexpected AUTH challenge")
	}
	return nil, nil
}
