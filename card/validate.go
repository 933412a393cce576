package card

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"unicode/utf8"

	"github.com/emersion/go-vcard"
)

// Errors of Validate and Compile. Each refusal wraps one of them; the
// server maps them to HTTP once (RFC 6352 preconditions in parentheses).
var (
	ErrInvalidData          = errors.New("not valid vCard data")             // CARDDAV:valid-address-data
	ErrUnsupportedVersion   = errors.New("unsupported vCard version")        // CARDDAV:supported-address-data
	ErrBadFilter            = errors.New("invalid addressbook-query filter") // 400 Bad Request
	ErrUnsupportedCollation = errors.New("unsupported collation")            // CARDDAV:supported-collation
)

// MaxUIDLen bounds a vCard's UID in bytes.
const MaxUIDLen = 1024

// Error is a refusal: Msg says what is wrong, Is matches its sentinel.
type Error struct {
	Kind error // one of the Err* sentinels
	Msg  string
}

func (e *Error) Error() string { return e.Msg }
func (e *Error) Unwrap() error { return e.Kind }

func fail(kind error, format string, args ...any) error {
	return &Error{Kind: kind, Msg: fmt.Sprintf(format, args...)}
}

// Info is what a valid vCard body tells its store.
type Info struct {
	UID     string
	Version string
	// Body is the body to store when Validate rewrote it (a vCard 2.1 becomes
	// 3.0, see upgrade21); nil when the body as sent is stored byte for byte.
	// Fixed says what was changed.
	Body  []byte
	Fixed []string
	// UIDMade: the card had no UID and UID is the one made for it (from the
	// hash of the body, so an edited card gets another one).
	UIDMade bool
}

// is21 reports whether body declares VERSION:2.1 (a cheap look before the
// UTF-8 check, which a 2.1 card in ISO-8859-1 would fail).
func is21(body []byte) bool {
	for _, l := range bytes.Split(body, []byte("\n")) {
		if bytes.EqualFold(bytes.TrimSpace(l), []byte("VERSION:2.1")) {
			return true
		}
	}
	return false
}

// Validate checks a body as RFC 6352 §5.1 asks of an address object
// resource: UTF-8 holding only characters XML 1.0 allows (no control
// characters other than tab, CR and LF, no U+FFFE or U+FFFF, no surrogate
// halves: a CardDAV response carries the body as XML text), exactly one
// vCard, version 3.0 or 4.0, with a UID of at most MaxUIDLen bytes. A vCard
// 2.1 is first rewritten as 3.0 (upgrade21; Info.Body is then the body to
// store). A CardDAV PUT, pimvault import and the device library all use it.
func Validate(body []byte) (Info, error) {
	if is21(body) {
		up, fixed, err := upgrade21(body)
		if err != nil {
			return Info{}, err
		}
		if is21(up) {
			return Info{}, fail(ErrUnsupportedVersion, "vCard 2.1 could not be rewritten as 3.0")
		}
		info, err := Validate(up)
		if err != nil {
			return Info{}, err
		}
		info.Body, info.Fixed = up, fixed
		info.UIDMade = slices.Contains(fixed, fixAddedUID)
		return info, nil
	}
	if !utf8.Valid(body) {
		return Info{}, fail(ErrInvalidData, "vCard is not UTF-8")
	}
	for i := 0; i < len(body); {
		c := body[i]
		if c < utf8.RuneSelf {
			if c < 0x20 && c != '\t' && c != '\r' && c != '\n' {
				return Info{}, fail(ErrInvalidData, "vCard holds control character 0x%02x at byte %d: XML 1.0 cannot carry it in a CardDAV response", c, i)
			}
			i++
			continue
		}
		r, n := utf8.DecodeRune(body[i:])
		if r == 0xFFFE || r == 0xFFFF {
			return Info{}, fail(ErrInvalidData, "vCard holds U+%04X at byte %d: XML 1.0 cannot carry it in a CardDAV response", r, i)
		}
		i += n
	}
	dec := vcard.NewDecoder(bytes.NewReader(body))
	card, err := dec.Decode()
	if err != nil {
		return Info{}, fail(ErrInvalidData, "vCard does not parse: %v", err)
	}
	if _, err := dec.Decode(); err != io.EOF {
		if err == nil {
			return Info{}, fail(ErrInvalidData, "an address object must hold exactly one vCard")
		}
		return Info{}, fail(ErrInvalidData, "trailing data after the vCard: %v", err)
	}
	version := card.Value(vcard.FieldVersion)
	if version != "3.0" && version != "4.0" {
		return Info{}, fail(ErrUnsupportedVersion, "vCard version %q is not supported (3.0 and 4.0 are)", version)
	}
	uid := card.Value(vcard.FieldUID)
	if uid == "" {
		return Info{}, fail(ErrInvalidData, "vCard has no UID")
	}
	if len(uid) > MaxUIDLen {
		return Info{}, fail(ErrInvalidData, "vCard UID is over %d bytes", MaxUIDLen)
	}
	return Info{UID: uid, Version: version}, nil
}
