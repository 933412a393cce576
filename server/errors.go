package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"

	"github.com/pimvault/pimvault/calendar"
	"github.com/pimvault/pimvault/storage"
)

// DAVXError is an HTTP error with, where the RFC names one, a precondition or
// postcondition element for the DAV:error body (RFC 4918 §16).
type DAVXError struct {
	Status int
	NS     string // namespace of the condition element; "" for none
	cond   string // local name of the condition element
	msg    string
}

func (e *DAVXError) Error() string {
	if e.cond != "" {
		return fmt.Sprintf("%d %s: %s", e.Status, e.cond, e.msg)
	}
	return fmt.Sprintf("%d: %s", e.Status, e.msg)
}

func badRequest(format string, args ...any) error {
	return &DAVXError{Status: http.StatusBadRequest, msg: fmt.Sprintf(format, args...)}
}

func forbidden(ns, cond, format string, args ...any) error {
	return &DAVXError{Status: http.StatusForbidden, NS: ns, cond: cond, msg: fmt.Sprintf(format, args...)}
}

var errNotFound = &DAVXError{Status: http.StatusNotFound, msg: "not found"}

// errRecovering: the principal's store is behind what a client has seen
// (DESIGN.md invariant 4); stock clients get 503 and come back later.
var errRecovering = &DAVXError{Status: http.StatusServiceUnavailable, msg: "this account's data is being recovered; try again later"}

// toDAVError is the one place where errors become HTTP statuses and DAV
// condition elements.
func toDAVError(err error) *DAVXError {
	var de *DAVXError
	if errors.As(err, &de) {
		return de
	}
	var uc *storage.UIDConflictError
	switch {
	case errors.As(err, &uc):
		return &DAVXError{Status: http.StatusForbidden, NS: nsCardDAV, cond: "no-uid-conflict", msg: err.Error()}
	case errors.Is(err, storage.ErrNotFound):
		return &DAVXError{Status: http.StatusNotFound, msg: "not found"}
	case errors.Is(err, storage.ErrPreconditionFailed):
		return &DAVXError{Status: http.StatusPreconditionFailed, msg: err.Error()}
	case errors.Is(err, storage.ErrExists):
		return &DAVXError{Status: http.StatusMethodNotAllowed, msg: err.Error()}
	case errors.Is(err, storage.ErrInvalidName):
		return &DAVXError{Status: http.StatusBadRequest, msg: err.Error()}
	case errors.Is(err, storage.ErrTooLarge):
		return &DAVXError{Status: http.StatusForbidden, NS: nsCardDAV, cond: "max-resource-size", msg: err.Error()}
	case errors.Is(err, storage.ErrInvalidChange):
		return &DAVXError{Status: http.StatusBadRequest, msg: err.Error()}
	case errors.Is(err, calendar.ErrInvalidData):
		return &DAVXError{Status: http.StatusForbidden, NS: nsCalDAV, cond: "valid-calendar-data", msg: err.Error()}
	case errors.Is(err, calendar.ErrInvalidObject):
		return &DAVXError{Status: http.StatusForbidden, NS: nsCalDAV, cond: "valid-calendar-object-resource", msg: err.Error()}
	case errors.Is(err, calendar.ErrBadFilter):
		return &DAVXError{Status: http.StatusForbidden, NS: nsCalDAV, cond: "valid-filter", msg: err.Error()}
	case errors.Is(err, calendar.ErrUnsupportedCollation):
		return &DAVXError{Status: http.StatusForbidden, NS: nsCalDAV, cond: "supported-collation", msg: err.Error()}
	case errors.Is(err, calendar.ErrTooManyInstances):
		return &DAVXError{Status: http.StatusForbidden, NS: nsCalDAV, cond: "max-instances", msg: err.Error()}
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return &DAVXError{Status: http.StatusServiceUnavailable, msg: "request cancelled"}
	}
	return &DAVXError{Status: http.StatusInternalServerError, msg: "internal error"}
}

// writeError answers a request with err.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	writeDAVError(s.log, w, r, err)
}

// writeDAVError answers a request with err: the status and DAV:error body
// from toDAVError, Retry-After on a 503, WWW-Authenticate on a 401. Server
// errors are logged at Error, refusals at Debug.
func writeDAVError(log *slog.Logger, w http.ResponseWriter, r *http.Request, err error) {
	de := toDAVError(err)
	if de.NS == nsCardDAV && strings.HasPrefix(r.URL.Path, davPrefix+homeCalendars+"/") {
		// The same condition (no-uid-conflict, max-resource-size) in CalDAV's namespace.
		cp := *de
		cp.NS = nsCalDAV
		de = &cp
	}
	if de.Status >= 500 && de.Status != http.StatusServiceUnavailable {
		log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	} else {
		log.Debug("request refused", "method", r.Method, "path", r.URL.Path, "status", de.Status, "err", err)
	}
	if de.Status == http.StatusServiceUnavailable {
		// Jittered, so a fleet of clients does not come back in one wave.
		retry := 30 + rand.IntN(90)
		if de == errRecovering {
			retry = 60 + rand.IntN(241) // [60, 300], recovery protocol item 4
		}
		w.Header().Set("Retry-After", strconv.Itoa(retry))
	}
	if de.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="pimvault", charset="UTF-8"`)
	}
	if de.cond == "" {
		http.Error(w, de.msg, de.Status)
		return
	}
	cond := "<X:" + de.cond + "/>"
	var uc *storage.UIDConflictError
	if de.cond == "no-uid-conflict" && r.Method == "PUT" && errors.As(err, &uc) {
		// RFC 4791 §5.3.2.1, RFC 6352 §6.3.2.1: name the resource that holds the UID.
		if p, perr := parseDAVPath(r.URL.EscapedPath()); perr == nil && p.kind == resObject {
			p.object = uc.Existing
			cond = "<X:" + de.cond + ">" + hrefXML(p.href()) + "</X:" + de.cond + ">"
		}
	}
	w.Header().Set("Content-Type", "application/xml; charset=utf-8")
	w.WriteHeader(de.Status)
	fmt.Fprintf(w, `<?xml version="1.0" encoding="utf-8"?>`+"\n"+`<D:error xmlns:D="DAV:" xmlns:X=%q>%s<D:responsedescription>%s</D:responsedescription></D:error>`,
		de.NS, cond, xmlEscape(de.msg))
}
