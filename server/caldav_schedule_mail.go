package server

import (
	"context"
	"strings"
	"time"

	"github.com/emersion/go-ical"

	"github.com/pimvault/pimvault/imip"
	"github.com/pimvault/pimvault/schedule"
)

// mailable reports whether a message from sender to recipient goes out by
// e-mail: a Mailer is configured, both are mailto: addresses, and the
// recipient is in another domain (status 5.1; an unknown address in a
// domain of this server stays 3.7).
func (s *Server) mailable(sender, recipient, status string) bool {
	return s.cfg.Mailer != nil && status == schedule.StatusNoDelivery &&
		strings.HasPrefix(sender, "mailto:") && strings.HasPrefix(recipient, "mailto:")
}

// sendMail sends each message by iMIP from sender and returns the
// recipients it could not hand to the relay (logged).
func (s *Server) sendMail(ctx context.Context, sender string, msgs []schedule.Message) []string {
	var failed []string
	from := strings.TrimPrefix(sender, "mailto:")
	envelope := s.cfg.MailFrom
	if envelope == "" {
		envelope = from
	}
	now := time.Now()
	for _, m := range msgs {
		to := strings.TrimPrefix(m.Recipient, "mailto:")
		err := func() error {
			body, err := schedule.Encode(m.Cal, now)
			if err != nil {
				return err
			}
			msg, err := imip.Message(from, to, subjectOf(m), m.Method, body, now)
			if err != nil {
				return err
			}
			return s.cfg.Mailer.Send(ctx, envelope, []string{to}, msg)
		}()
		if err != nil {
			s.log.Warn("iMIP mail not sent", "to", to, "method", m.Method, "err", err)
			failed = append(failed, m.Recipient)
		}
	}
	return failed
}

// subjectOf is a mail subject for an iTIP message.
func subjectOf(m schedule.Message) string {
	summary := ""
	for _, c := range m.Cal.Children {
		if p := c.Props.Get(ical.PropSummary); p != nil && c.Name != ical.CompTimezone {
			summary = p.Value
			break
		}
	}
	summary = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, summary)
	switch m.Method {
	case schedule.MethodCancel:
		return "Cancelled: " + summary
	case schedule.MethodReply:
		return "Reply: " + summary
	}
	return "Invitation: " + summary
}
