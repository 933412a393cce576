package server

import (
	"strings"

	"github.com/emersion/go-ical"

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
