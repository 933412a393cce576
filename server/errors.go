package server

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"

	"github.com/pimvault/pimvault/calendar"
	"github.com/pimvault/pimvault/storage"
)

// davError is an HTTP error with, where the RFC names one, a precondition or
// postcondition element for the DAV:error body (RFC 4918 §16).
type davError struct {
	status int
	ns     string // namespace of the condition element; "" for none
	cond   string // local name of the condition element
	msg    string
}

func (e *davError) Error() string {
	if e.cond != "" {
		return fmt.Sprintf("%d %s: %s", e.status, e.cond, e.msg)
	}
	return fmt.Sprintf("%d: %s", e.status, e.msg)
}

func badRequest(format string, args ...any) error {
	return &davError{status: http.StatusBadRequest, msg: fmt.Sprintf(format, args...)}
}

func forbidden(ns, cond, format string, args ...any) error {
	return &davError{status: http.StatusForbidden, ns: ns, cond: cond, msg: fmt.Sprintf(format, args...)}
}

var errNotFound = &davError{status: http.StatusNotFound, msg: "not found"}

// errRecovering: the principal's store is behind what a client has seen
// (DESIGN.md invariant 4); stock clients get 503 and come back later.
var errRecovering = &davError{status: http.StatusServiceUnavailable, msg: "this account's data is being recovered; try again later"}

// toDAVError is the one place where errors become HTTP statuses and DAV
// condition elements.
func toDAVError(err error) *davError {
	var de *davError
	if errors.As(err, &de) {
		return de
	}
	var uc *storage.UIDConflictError
	switch {
	case errors.As(err, &uc):
		return &davError{status: http.StatusForbidden, ns: nsCardDAV, cond: "no-uid-conflict", msg: err.Error()}
	case errors.Is(err, storage.ErrNotFound):
		return &davError{status: http.StatusNotFound, msg: "not found"}
	case errors.Is(err, storage.ErrPreconditionFailed):
		return &davError{status: http.StatusPreconditionFailed, msg: err.Error()}
	case errors.Is(err, storage.ErrExists):
		return &davError{status: http.StatusMethodNotAllowed, msg: err.Error()}
	case errors.Is(err, storage.ErrInvalidName):
		return &davError{status: http.StatusBadRequest, msg: err.Error()}
	case errors.Is(err, storage.ErrTooLarge):
		return &davError{status: http.StatusForbidden, ns: nsCardDAV, cond: "max-resource-size", msg: err.Error()}
	case errors.Is(err, storage.ErrUnavailable):
		return &davError{status: http.StatusServiceUnavailable, msg: err.Error()}
	case errors.Is(err, storage.ErrInvalidChange):
		return &davError{status: http.StatusBadRequest, msg: err.Error()}
	case errors.Is(err, calendar.ErrInvalidData):
		return &davError{status: http.StatusForbidden, ns: nsCalDAV, cond: "valid-calendar-data", msg: err.Error()}
	case errors.Is(err, calendar.ErrInvalidObject):
		return &davError{status: http.StatusForbidden, ns: nsCalDAV, cond: "valid-calendar-object-resource", msg: err.Error()}
	case errors.Is(err, calendar.ErrBadFilter):
		return &davError{status: http.StatusForbidden, ns: nsCalDAV, cond: "valid-filter", msg: err.Error()}
	case errors.Is(err, calendar.ErrUnsupportedCollation):
		return &davError{status: http.StatusForbidden, ns: nsCalDAV, cond: "supported-collation", msg: err.Error()}
	case errors.Is(err, calendar.ErrTooManyInstances):
		return &davError{status: http.StatusForbidden, ns: nsCalDAV, cond: "max-instances", msg: err.Error()}
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return &davError{status: http.StatusServiceUnavailable, msg: "request cancelled"}
	}
	return &davError{status: http.StatusInternalServerError, msg: "internal error"}
}

// writeError answers a request with err.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	de := toDAVError(err)
	if de.ns == nsCardDAV && strings.HasPrefix(r.URL.Path, davPrefix+homeCalendars+"/") {
		// The same condition (no-uid-conflict, max-resource-size) in CalDAV's namespace.
		cp := *de
		cp.ns = nsCalDAV
		de = &cp
	}
	if de.status >= 500 && de.status != http.StatusServiceUnavailable {
		s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	} else {
		s.log.Debug("request refused", "method", r.Method, "path", r.URL.Path, "status", de.status, "err", err)
	}
	if de.status == http.StatusServiceUnavailable {
		// Jittered, so a fleet of clients does not come back in one wave.
		retry := 30 + rand.IntN(90)
		var ue *storage.UnavailableError
		switch {
		case de == errRecovering:
			retry = 60 + rand.IntN(241) // [60, 300], recovery protocol item 4
		case errors.As(err, &ue) && ue.RetryAfter > 0:
			// Writes refused by replication: the reason passes quickly.
			sec := int(ue.RetryAfter.Seconds())
			retry = sec + rand.IntN(sec+1)
		}
		w.Header().Set("Retry-After", strconv.Itoa(retry))
	}
	if de.status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="pimvault", charset="UTF-8"`)
	}
	if de.cond == "" {
		http.Error(w, de.msg, de.status)
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
	w.WriteHeader(de.status)
	fmt.Fprintf(w, `<?xml version="1.0" encoding="utf-8"?>`+"\n"+`<D:error xmlns:D="DAV:" xmlns:X=%q>%s<D:responsedescription>%s</D:responsedescription></D:error>`,
		de.ns, cond, xmlEscape(de.msg))
}
