package server

import (
	"bytes"
	"io"
	"mime"
	"net/http"
	"unicode/utf8"

	"github.com/emersion/go-vcard"

	"github.com/pimvault/pimvault/server/internal/dav"
)

// cardInfo is what the server learns from a valid vCard body.
type cardInfo struct {
	UID     string
	Version string
}

// validateVCard checks a body as RFC 6352 §5.1 asks of an address object
// resource: exactly one vCard, version 3.0 or 4.0, with a UID. Errors carry
// the CARDDAV:valid-address-data precondition.
func validateVCard(body []byte) (cardInfo, error) {
	invalid := func(format string, args ...any) error {
		return dav.Forbidden(dav.NSCardDAV, "valid-address-data", format, args...)
	}
	if !utf8.Valid(body) {
		return cardInfo{}, invalid("vCard is not UTF-8")
	}
	for i, c := range body {
		if c < 0x20 && c != '\t' && c != '\r' && c != '\n' {
			return cardInfo{}, invalid("vCard holds control character 0x%02x at byte %d", c, i)
		}
	}
	dec := vcard.NewDecoder(bytes.NewReader(body))
	card, err := dec.Decode()
	if err != nil {
		return cardInfo{}, invalid("vCard does not parse: %v", err)
	}
	if _, err := dec.Decode(); err != io.EOF {
		if err == nil {
			return cardInfo{}, invalid("an address object must hold exactly one vCard")
		}
		return cardInfo{}, invalid("trailing data after the vCard: %v", err)
	}
	version := card.Value(vcard.FieldVersion)
	if version != "3.0" && version != "4.0" {
		return cardInfo{}, dav.Forbidden(dav.NSCardDAV, "supported-address-data", "vCard version %q is not supported (3.0 and 4.0 are)", version)
	}
	uid := card.Value(vcard.FieldUID)
	if uid == "" {
		return cardInfo{}, invalid("vCard has no UID")
	}
	if len(uid) > 1024 {
		return cardInfo{}, invalid("vCard UID is over 1024 bytes")
	}
	return cardInfo{UID: uid, Version: version}, nil
}

// checkCardContentType accepts text/vcard (and its old aliases) or no type.
func checkCardContentType(r *http.Request) error {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return nil
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return dav.Forbidden(dav.NSCardDAV, "supported-address-data", "bad Content-Type %q", ct)
	}
	switch mt {
	case "text/vcard", "text/x-vcard", "text/directory":
		return nil
	}
	return dav.Forbidden(dav.NSCardDAV, "supported-address-data", "Content-Type %s is not a vCard", mt)
}
