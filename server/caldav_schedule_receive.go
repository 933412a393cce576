package server

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"time"

	"github.com/emersion/go-ical"

	"github.com/pimvault/pimvault/calendar"
	"github.com/pimvault/pimvault/schedule"
)

// MaxIMIPMessage bounds a received iMIP mail.
const MaxIMIPMessage = 1 << 20

// ErrIMIP: a received mail that is not an iMIP message this server can act
// on; nothing was changed.
var ErrIMIP = errors.New("iMIP message refused")

// ReceiveIMIP takes an iMIP mail (RFC 6047) from an MTA. A REPLY from an
// attendee of another server to an organizer who has an account here (the
// mail's From must be the replying ATTENDEE) lands in the organizer's inbox
// and updates the organizer's copy exactly as a local attendee's reply does
// (only that attendee's PARTSTAT, only where the organizer invited them). A
// REQUEST or CANCEL from an organizer of another server (From must be the
// ORGANIZER) is delivered to the attendees with accounts here
// (receiveInvitation). It returns a line saying what it did.
func (s *Server) ReceiveIMIP(ctx context.Context, raw []byte) (string, error) {
	if len(raw) > MaxIMIPMessage {
		return "", fmt.Errorf("%w: over %d bytes", ErrIMIP, MaxIMIPMessage)
	}
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrIMIP, err)
	}
	from, err := mail.ParseAddress(m.Header.Get("From"))
	if err != nil {
		return "", fmt.Errorf("%w: From: %v", ErrIMIP, err)
	}
	body, err := calendarPart(m.Header.Get("Content-Type"), m.Header.Get("Content-Transfer-Encoding"), m.Body, 0)
	if err != nil {
		return "", err
	}
	cal, err := calendar.ParseMessage(body)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrIMIP, err)
	}
	method := strings.ToUpper(cal.Props.Get(ical.PropMethod).Value)
	info, err := schedule.Inspect(cal)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrIMIP, err)
	}
	sender := schedule.Address("mailto:" + from.Address)
	switch method {
	case schedule.MethodReply:
	case schedule.MethodRequest, schedule.MethodCancel:
		return s.receiveInvitation(ctx, cal, info, method, sender)
	default:
		return "", fmt.Errorf("%w: METHOD:%s is not taken by mail", ErrIMIP, method)
	}
	if len(info.Attendees) != 1 || info.Attendees[0] != sender {
		return "", fmt.Errorf("%w: the reply's ATTENDEE %v is not the mail's sender %s", ErrIMIP, info.Attendees, sender)
	}
	dir, err := s.loadDirectory()
	if err != nil {
		return "", err
	}
	org, ok := dir.lookup(info.Organizer)
	if !ok {
		return "", fmt.Errorf("%w: the organizer %s has no account here", ErrIMIP, info.Organizer)
	}
	if _, local := dir.lookup(sender); local {
		return "", fmt.Errorf("%w: %s has an account here and replies through it", ErrIMIP, sender)
	}
	// Check the reply against the organizer's copy before anything is
	// written, so a refused reply leaves no trace.
	if _, o, ok, err := s.findCopy(org, info.UID); err != nil {
		return "", err
	} else if ok {
		if c, err := calendar.Parse(o.Body, nil); err == nil {
			if _, err := schedule.ApplyReply(c.Cal, cal, sender); err != nil {
				return "", fmt.Errorf("%w: %v", ErrIMIP, err)
			}
		}
	}
	var applyErr error
	apply := func(c *ical.Calendar) (bool, error) {
		changed, err := schedule.ApplyReply(c, cal, sender)
		applyErr = err
		return changed, err
	}
	msg := schedule.Message{Method: schedule.MethodReply, Recipient: info.Organizer, Cal: cal}
	if err := s.deliver(ctx, org, msg, apply); err != nil {
		if applyErr != nil {
			return "", fmt.Errorf("%w: %v", ErrIMIP, applyErr)
		}
		return "", err
	}
	return fmt.Sprintf("reply from %s to %s (%s) for %s delivered\n", sender, org, info.Organizer, info.UID), nil
}

// receiveInvitation delivers an invitation or cancel by mail from an
// organizer of another server to the attendees who have accounts here, as
// a local organizer's would be: into their inbox and their copy. The mail's
// From must be the ORGANIZER.
func (s *Server) receiveInvitation(ctx context.Context, cal *ical.Calendar, info schedule.Info, method, sender string) (string, error) {
	if info.Organizer != sender {
		return "", fmt.Errorf("%w: the ORGANIZER %s is not the mail's sender %s", ErrIMIP, info.Organizer, sender)
	}
	dir, err := s.loadDirectory()
	if err != nil {
		return "", err
	}
	if _, local := dir.lookup(sender); local {
		return "", fmt.Errorf("%w: %s has an account here and invites through it", ErrIMIP, sender)
	}
	var ds []delivery
	seen := map[string]bool{}
	now := time.Now()
	for _, a := range info.Attendees {
		u, ok := dir.lookup(a)
		if !ok || seen[u] {
			continue
		}
		seen[u] = true
		m := schedule.Message{Method: method, Recipient: a, Cal: cal}
		if method == schedule.MethodRequest {
			if m.Copy = schedule.View(cal, a); m.Copy == nil {
				continue
			}
			b, err := schedule.Encode(m.Copy, now)
			if err == nil {
				_, err = calendar.Parse(b, nil)
			}
			if err != nil {
				return "", fmt.Errorf("%w: the invitation is no valid event for %s: %v", ErrIMIP, a, err)
			}
		}
		ds = append(ds, delivery{user: u, msg: m})
	}
	if len(ds) == 0 {
		return "", fmt.Errorf("%w: no attendee of the message has an account here", ErrIMIP)
	}
	if len(ds) > schedule.MaxRecipients {
		return "", fmt.Errorf("%w: %d recipients, at most %d", ErrIMIP, len(ds), schedule.MaxRecipients)
	}
	failed := s.deliverAll(ctx, ds)
	if len(failed) > 0 {
		return "", fmt.Errorf("delivery to %v failed (logged)", failed)
	}
	users := make([]string, 0, len(ds))
	for _, d := range ds {
		users = append(users, d.user)
	}
	return fmt.Sprintf("%s from %s for %s delivered to %s\n", strings.ToLower(method), sender, info.UID, strings.Join(users, ", ")), nil
}

// calendarPart finds the text/calendar part of a mail body (at most a few
// levels of multipart) and decodes its transfer encoding.
func calendarPart(contentType, encoding string, r io.Reader, depth int) ([]byte, error) {
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return nil, fmt.Errorf("%w: Content-Type %q: %v", ErrIMIP, contentType, err)
	}
	switch {
	case mt == "text/calendar":
		switch strings.ToLower(strings.TrimSpace(encoding)) {
		case "base64":
			r = base64.NewDecoder(base64.StdEncoding, r) // line breaks are skipped
		case "quoted-printable":
			r = quotedprintable.NewReader(r)
		}
		b, err := io.ReadAll(io.LimitReader(r, MaxIMIPMessage+1))
		if err != nil {
			return nil, fmt.Errorf("%w: calendar part: %v", ErrIMIP, err)
		}
		return b, nil
	case strings.HasPrefix(mt, "multipart/") && depth < 3:
		mr := multipart.NewReader(r, params["boundary"])
		for i := 0; i < 20; i++ {
			p, err := mr.NextRawPart()
			if err != nil {
				break
			}
			if b, err := calendarPart(p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p, depth+1); err == nil {
				return b, nil
			}
		}
	}
	return nil, fmt.Errorf("%w: no text/calendar part", ErrIMIP)
}
