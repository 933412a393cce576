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

	"github.com/emersion/go-ical"

	"github.com/pimvault/pimvault/calendar"
	"github.com/pimvault/pimvault/schedule"
)

// MaxIMIPMessage bounds a received iMIP mail.
const MaxIMIPMessage = 1 << 20

// ErrIMIP: a received mail that is not an iMIP message this server can act
// on; nothing was changed.
var ErrIMIP = errors.New("iMIP message refused")

// ReceiveIMIP takes an iMIP mail (RFC 6047) from an MTA: a REPLY from an
// attendee of another server to an organizer who has an account here. The
// mail's From must be the replying ATTENDEE; the reply lands in the
// organizer's inbox and updates the organizer's copy exactly as a local
// attendee's reply does (only that attendee's PARTSTAT, only where the
// organizer invited them). It returns a line saying what it did.
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
	if method := strings.ToUpper(cal.Props.Get(ical.PropMethod).Value); method != schedule.MethodReply {
		return "", fmt.Errorf("%w: METHOD:%s; only replies to organizers here are taken", ErrIMIP, method)
	}
	info, err := schedule.Inspect(cal)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrIMIP, err)
	}
	sender := schedule.Address("mailto:" + from.Address)
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
