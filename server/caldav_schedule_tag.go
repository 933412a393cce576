package server

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"

	"github.com/pimvault/pimvault/server/internal/dav"
)

// Schedule tags (RFC 6638 §3.2.10). A scheduling object's tag is a dead
// property of the object (clients cannot set object properties), stored in
// the same write as the body. It changes when the organizer's client changes
// the organizer's copy and when an organizer's update is delivered into an
// attendee's copy; it stays when the server applies a reply to the
// organizer's copy and when the attendee's client saves their own copy, so a
// client that sends If-Schedule-Tag-Match is not refused for those.

// scheduleTagKey is the property holding the tag, quoted as in the header.
var scheduleTagKey = dav.Clark(nameScheduleTag)

// newScheduleTag is the tag of a version of a scheduling object.
func newScheduleTag(body []byte) string {
	h := sha256.Sum256(body)
	return `"s-` + hex.EncodeToString(h[:10]) + `"`
}

// scheduleTagOf returns the stored tag of an object, "" when it has none.
func (s *Server) scheduleTagOf(p dav.Path) string {
	props, err := s.store.ObjectProps(p.User, p.Collection, p.Object)
	if err != nil {
		return ""
	}
	return string(props[scheduleTagKey])
}

// checkScheduleTag applies If-Schedule-Tag-Match (RFC 6638 §8.3) to the
// tag of the version the write is pinned to.
func checkScheduleTag(r *http.Request, current string) error {
	h := strings.TrimSpace(r.Header.Get("If-Schedule-Tag-Match"))
	if h == "" || h == current {
		return nil
	}
	return &dav.Error{Status: http.StatusPreconditionFailed, Msg: "If-Schedule-Tag-Match: the object's schedule tag is " + current}
}
