// Package imiptest is a small SMTP listener for tests: it accepts mail on a
// loopback port (no TLS; AUTH PLAIN when a password is set) and records
// what it received.
package imiptest

import (
	"bufio"
	"encoding/base64"
	"net"
	"strings"
	"sync"
)

// Mail is one message received.
type Mail struct {
	From string
	To   []string
	Data string
	User string // the AUTH PLAIN user, if any
}

// Server records the mail it receives.
type Server struct {
	Addr     string
	Password string // when set, AUTH PLAIN must give it
	refuse   bool
	ln       net.Listener
	mu       sync.Mutex
	mails    []Mail
	wg       sync.WaitGroup
}

// Start listens on 127.0.0.1.
func Start() (*Server, error) { return StartAt("127.0.0.1:0") }

// StartAt listens on addr (a relay that comes back at the address it had).
func StartAt(addr string) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s := &Server{Addr: ln.Addr().String(), ln: ln}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.wg.Add(1)
			go func() { defer s.wg.Done(); s.serve(c) }()
		}
	}()
	return s, nil
}

// Close stops the listener and waits for its connections.
func (s *Server) Close() { s.ln.Close(); s.wg.Wait() }

// SetRefuse makes every RCPT TO get 550 (a permanent refusal), or not.
func (s *Server) SetRefuse(on bool) {
	s.mu.Lock()
	s.refuse = on
	s.mu.Unlock()
}

// Mails returns what was received so far.
func (s *Server) Mails() []Mail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Mail(nil), s.mails...)
}

func (s *Server) serve(c net.Conn) {
	defer c.Close()
	r := bufio.NewReader(c)
	say := func(l string) { c.Write([]byte(l + "\r\n")) }
	say("220 imiptest ESMTP")
	var m Mail
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		cmd := strings.ToUpper(line)
		switch {
		case strings.HasPrefix(cmd, "EHLO"), strings.HasPrefix(cmd, "HELO"):
			say("250-imiptest")
			say("250 AUTH PLAIN")
		case strings.HasPrefix(cmd, "AUTH PLAIN "):
			b, _ := base64.StdEncoding.DecodeString(strings.TrimSpace(line[len("AUTH PLAIN "):]))
			parts := strings.Split(string(b), "\x00")
			if len(parts) != 3 || parts[2] != s.Password {
				say("535 authentication failed")
				continue
			}
			m.User = parts[1]
			say("235 ok")
		case strings.HasPrefix(cmd, "MAIL FROM:"):
			if s.Password != "" && m.User == "" {
				say("530 authentication required")
				continue
			}
			m.From = strings.Trim(line[len("MAIL FROM:"):], " <>")
			say("250 ok")
		case strings.HasPrefix(cmd, "RCPT TO:"):
			s.mu.Lock()
			refuse := s.refuse
			s.mu.Unlock()
			if refuse {
				say("550 no such user here")
				continue
			}
			m.To = append(m.To, strings.Trim(line[len("RCPT TO:"):], " <>"))
			say("250 ok")
		case cmd == "DATA":
			say("354 go on")
			var data strings.Builder
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
				data.WriteString(strings.TrimPrefix(l, "."))
			}
			m.Data = data.String()
			s.mu.Lock()
			s.mails = append(s.mails, m)
			s.mu.Unlock()
			m = Mail{User: m.User}
			say("250 queued")
		case cmd == "QUIT":
			say("221 bye")
			return
		case cmd == "RSET", cmd == "NOOP":
			say("250 ok")
		default:
			say("502 not implemented")
		}
	}
}
