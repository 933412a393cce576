package imip

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"strings"
	"time"
)

// ErrHeader: a header value with a control character, or an address or
// method that is not printable ASCII.
var ErrHeader = errors.New("bad mail header value")

// Message builds an RFC 6047 iMIP message from organizer from to attendee
// to carrying cal, an iTIP object whose METHOD is method, with a new
// Message-ID.
func Message(from, to, subject, method string, cal []byte, now time.Time) ([]byte, error) {
	return MessageWithID(from, to, subject, method, cal, now, NewMessageID(from))
}

// NewMessageID returns a unique Message-ID (RFC 5322 §3.6.4, with the
// angle brackets) in the domain of address from.
func NewMessageID(from string) string {
	id := make([]byte, 12)
	rand.Read(id)
	domain := "pimvault.invalid"
	if at := strings.LastIndexByte(from, '@'); at >= 0 && at < len(from)-1 {
		domain = from[at+1:]
	}
	return "<" + hex.EncodeToString(id) + "@" + domain + ">"
}

// MessageWithID is Message with a given Message-ID: a queued message keeps
// its id on every attempt, so a receiver can spot a duplicate.
func MessageWithID(from, to, subject, method string, cal []byte, now time.Time, messageID string) ([]byte, error) {
	if !strings.HasPrefix(messageID, "<") || !strings.HasSuffix(messageID, ">") {
		return nil, ErrHeader
	}
	for i, v := range []string{from, to, method, subject, messageID} {
		for _, r := range v {
			if r < 0x20 || r == 0x7f || i != 3 && r > 0x7e {
				return nil, ErrHeader
			}
		}
		if i != 3 && strings.TrimSpace(v) == "" {
			return nil, ErrHeader
		}
	}
	var b strings.Builder
	hdr := func(k, v string) { b.WriteString(k + ": " + v + "\r\n") }
	hdr("From", from)
	hdr("To", to)
	hdr("Subject", mime.QEncoding.Encode("utf-8", subject))
	hdr("Date", now.UTC().Format(time.RFC1123Z))
	hdr("Message-ID", messageID)
	hdr("MIME-Version", "1.0")
	hdr("Content-Type", fmt.Sprintf(`text/calendar; method=%s; charset=UTF-8; component=%s`, strings.ToUpper(method), componentOf(cal)))
	hdr("Content-Transfer-Encoding", "base64")
	b.WriteString("\r\n")
	enc := base64.StdEncoding.EncodeToString(cal)
	for len(enc) > 76 {
		b.WriteString(enc[:76] + "\r\n")
		enc = enc[76:]
	}
	b.WriteString(enc + "\r\n")
	return []byte(b.String()), nil
}

// componentOf is the first component type of an iTIP object (VEVENT …).
func componentOf(cal []byte) string {
	for _, l := range strings.Split(string(cal), "\n") {
		l = strings.TrimSpace(l)
		if strings.HasPrefix(l, "BEGIN:") && l != "BEGIN:VCALENDAR" && l != "BEGIN:VTIMEZONE" {
			return strings.TrimPrefix(l, "BEGIN:")
		}
	}
	return "VEVENT"
}
