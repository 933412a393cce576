package dav

import (
	"net/http"
	"strings"

	"github.com/pimvault/pimvault/storage"
)

// maxETagList bounds the ETags of one If-None-Match header.
const maxETagList = 64

// ParseETagList splits an If-Match / If-None-Match ETag list (RFC 9110
// §13.1.1, §13.1.2) into unquoted ETags. Weak ETags compare by their opaque
// part (weak comparison, as If-None-Match asks). Malformed entries give nil.
func ParseETagList(h string) []string {
	var out []string
	for _, part := range strings.Split(h, ",") {
		e := strings.TrimSpace(part)
		if e == "" {
			continue
		}
		e = strings.TrimPrefix(e, "W/")
		if len(e) < 2 || e[0] != '"' || e[len(e)-1] != '"' || strings.Contains(e[1:len(e)-1], `"`) {
			return nil
		}
		out = append(out, e[1:len(e)-1])
	}
	return out
}

// SetConditionals puts a write's If-Match and If-None-Match headers on c, so
// the committer checks them inside the write (412 when they fail).
// If-None-Match is "*" (must not exist) or an ETag list (must not currently
// have one of them).
func SetConditionals(c *storage.Change, r *http.Request) error {
	SetIfMatch(c, r.Header.Get("If-Match"))
	switch inm := strings.TrimSpace(r.Header.Get("If-None-Match")); {
	case inm == "":
	case inm == "*":
		c.IfNoneMatch = true
	default:
		tags := ParseETagList(inm)
		if len(tags) == 0 || len(tags) > maxETagList {
			return BadRequest("If-None-Match must be * or a list of at most %d quoted ETags", maxETagList)
		}
		c.IfNoneMatchETags = tags
	}
	return nil
}

// SetIfMatch puts an If-Match header (RFC 9110 §13.1.1) on c: "*" (the
// resource must exist) or an ETag list, one of which the resource must
// have; the store checks it inside the write. A value that is not a list of
// quoted ETags is compared as one bare ETag.
func SetIfMatch(c *storage.Change, h string) {
	h = strings.TrimSpace(h)
	tags := ParseETagList(h)
	switch {
	case h == "":
	case h == "*":
		c.IfMatch = "*"
	case len(tags) == 1:
		c.IfMatch = tags[0]
	case len(tags) > 1:
		c.IfMatchETags = tags
	default:
		c.IfMatch = strings.Trim(strings.TrimPrefix(h, "W/"), `"`)
	}
}
