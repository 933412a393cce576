package device

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/pimvault/pimvault/calendar"
	"github.com/pimvault/pimvault/card"
	"github.com/pimvault/pimvault/syncproto"
)

// ErrBadBody: a body that is not one vCard / iCalendar object with a UID.
var ErrBadBody = errors.New("not a valid item")

// maxBody bounds a body the device accepts from a file or the server.
const maxBody = 4 << 20

// ETagOf computes an ETag as the pimvault server does (syncproto.ETagOf),
// so that identical bodies compare equal without a round trip.
func ETagOf(body []byte) string { return syncproto.ETagOf(body) }

// ValidateBody checks a body created or edited on the device with the rules
// the server applies to a PUT (card.Validate for a vCard; calendar.Parse and
// CheckDates for an iCalendar object), so a change the server would refuse
// is refused when it is made, not at the next push. It returns the UID.
func ValidateBody(kind Kind, body []byte) (string, error) {
	// The outer lines and the UID first, so a body without one is refused
	// as such, as before; then the server's own validator.
	if _, err := ParseUID(kind, body); err != nil {
		return "", err
	}
	if kind == Calendar {
		obj, err := calendar.Parse(body, time.UTC)
		if err == nil {
			err = obj.CheckDates()
		}
		if err != nil {
			return "", fmt.Errorf("%w: %w", ErrBadBody, err)
		}
		return obj.UID, nil
	}
	info, err := card.Validate(body)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrBadBody, err)
	}
	return info.UID, nil
}

// ParseUID returns the UID of a vCard (kind AddressBook) or of an
// iCalendar object (Calendar: every component must carry the same UID).
// It checks the outer BEGIN/END lines only: it reads bodies that come from
// the server, which validated them; local changes go through ValidateBody.
func ParseUID(kind Kind, body []byte) (string, error) {
	if len(body) == 0 || len(body) > maxBody {
		return "", fmt.Errorf("%w: empty or over %d bytes", ErrBadBody, maxBody)
	}
	want := "VCARD"
	if kind == Calendar {
		want = "VCALENDAR"
	}
	lines := unfold(body)
	if len(lines) < 2 || !strings.EqualFold(lines[0], "BEGIN:"+want) || !strings.EqualFold(lines[len(lines)-1], "END:"+want) {
		return "", fmt.Errorf("%w: does not start with BEGIN:%s and end with END:%s", ErrBadBody, want, want)
	}
	uid := ""
	for _, l := range lines {
		name, value, ok := property(l)
		if !ok || name != "UID" {
			continue
		}
		if value == "" {
			return "", fmt.Errorf("%w: empty UID", ErrBadBody)
		}
		if uid != "" && uid != value {
			return "", fmt.Errorf("%w: two different UIDs", ErrBadBody)
		}
		uid = value
	}
	if uid == "" {
		return "", fmt.Errorf("%w: no UID", ErrBadBody)
	}
	return uid, nil
}

// ReplaceUID returns body with every UID property's value replaced by uid,
// every other byte unchanged (a folded UID line is rewritten unfolded).
func ReplaceUID(body []byte, uid string) []byte {
	var out bytes.Buffer
	rest := body
	skipFold := false
	for len(rest) > 0 {
		i := bytes.IndexByte(rest, '\n')
		line := rest
		if i >= 0 {
			line, rest = rest[:i+1], rest[i+1:]
		} else {
			rest = nil
		}
		if skipFold && len(line) > 0 && (line[0] == ' ' || line[0] == '\t') {
			continue
		}
		skipFold = false
		text := strings.TrimRight(string(line), "\r\n")
		if name, _, ok := property(text); ok && name == "UID" {
			colon := strings.IndexByte(text, ':')
			out.WriteString(text[:colon+1])
			out.WriteString(uid)
			out.WriteString(string(line[len(text):]))
			skipFold = true
			continue
		}
		out.Write(line)
	}
	return out.Bytes()
}

// unfold splits content lines and joins folded continuations (RFC 6350
// §3.2, RFC 5545 §3.1), dropping empty lines.
func unfold(body []byte) []string {
	var lines []string
	for _, raw := range strings.Split(string(body), "\n") {
		l := strings.TrimRight(raw, "\r")
		if l == "" {
			continue
		}
		if (l[0] == ' ' || l[0] == '\t') && len(lines) > 0 {
			lines[len(lines)-1] += l[1:]
			continue
		}
		lines = append(lines, l)
	}
	return lines
}

// property splits a content line into its upper-cased name (without group
// or parameters) and its value.
func property(line string) (name, value string, ok bool) {
	colon := strings.IndexByte(line, ':')
	if colon <= 0 {
		return "", "", false
	}
	head := line[:colon]
	if semi := strings.IndexByte(head, ';'); semi >= 0 {
		head = head[:semi]
	}
	if dot := strings.LastIndexByte(head, '.'); dot >= 0 {
		head = head[dot+1:]
	}
	return strings.ToUpper(head), line[colon+1:], true
}
