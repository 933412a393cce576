package dav

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"

	"github.com/pimvault/pimvault/account"
	"github.com/pimvault/pimvault/birthday"
	"github.com/pimvault/pimvault/calendar"
	"github.com/pimvault/pimvault/card"
	"github.com/pimvault/pimvault/schedule"
	"github.com/pimvault/pimvault/storage"
)

// Error is an HTTP error with, where the RFC names one, a precondition or
// postcondition element for the DAV:error body (RFC 4918 §16).
type Error struct {
	Status int
	NS     string // namespace of the condition element; "" for none
	Cond   string // local name of the condition element
	Msg    string
	// Inner is the condition element's content (XML using the D: prefix for
	// DAV:), for conditions that carry detail, such as need-privileges.
	Inner string
}

// NeedPrivileges is RFC 3744 §7.1.1's 403: the signed-in user lacks
// privilege (a DAV: privilege name such as "write-content") on href.
func NeedPrivileges(href, privilege, format string, args ...any) *Error {
	return &Error{Status: http.StatusForbidden, NS: NSDAV, Cond: "need-privileges", Msg: fmt.Sprintf(format, args...),
		Inner: "<D:resource>" + HrefXML(href) + "<D:privilege><D:" + privilege + "/></D:privilege></D:resource>"}
}

func (e *Error) Error() string {
	if e.Cond != "" {
		return fmt.Sprintf("%d %s: %s", e.Status, e.Cond, e.Msg)
	}
	return fmt.Sprintf("%d: %s", e.Status, e.Msg)
}

func BadRequest(format string, args ...any) error {
	return &Error{Status: http.StatusBadRequest, Msg: fmt.Sprintf(format, args...)}
}

func Forbidden(ns, cond, format string, args ...any) error {
	return &Error{Status: http.StatusForbidden, NS: ns, Cond: cond, Msg: fmt.Sprintf(format, args...)}
}

var ErrNotFound = &Error{Status: http.StatusNotFound, Msg: "not found"}

// ErrRecovering: the principal's store is behind what a client has seen
// (it lost history that a client has seen); stock clients get 503 and come
// back later, while devices reconcile.
var ErrRecovering = &Error{Status: http.StatusServiceUnavailable, Msg: "this account's data is being recovered; try again later"}

// ErrNoSpace: the server's disk is full; the body names no file (the log does).
var ErrNoSpace = &Error{Status: http.StatusInsufficientStorage, Msg: "insufficient storage: the server's disk is full, so this change was not saved; send it again later"}

// ToError is the one place where errors become HTTP statuses and DAV
// condition elements. It knows every storage, calendar and card sentinel;
// what it does not know is a 500. ErrNothingToPrune, ErrNotEmpty and
// ErrSnapshotInvalid come only from admin commands, never from a request,
// and ErrCorrupt is a 500 on purpose.
func ToError(err error) *Error {
	var de *Error
	if errors.As(err, &de) {
		return de
	}
	var uc *storage.UIDConflictError
	switch {
	case errors.As(err, &uc):
		return &Error{Status: http.StatusForbidden, NS: NSCardDAV, Cond: "no-uid-conflict", Msg: err.Error()}
	case errors.Is(err, storage.ErrNotFound):
		return &Error{Status: http.StatusNotFound, Msg: "not found"}
	case errors.Is(err, storage.ErrDeleted):
		return &Error{Status: http.StatusGone, Msg: err.Error()}
	case errors.Is(err, storage.ErrPreconditionFailed):
		return &Error{Status: http.StatusPreconditionFailed, Msg: err.Error()}
	case errors.Is(err, storage.ErrExists):
		return &Error{Status: http.StatusMethodNotAllowed, Msg: err.Error()}
	case errors.Is(err, storage.ErrInvalidName):
		return &Error{Status: http.StatusBadRequest, Msg: err.Error()}
	case errors.Is(err, storage.ErrTooLarge):
		return &Error{Status: http.StatusForbidden, NS: NSCardDAV, Cond: "max-resource-size", Msg: err.Error()}
	case errors.Is(err, storage.ErrOutboxFull):
		return &Error{Status: http.StatusServiceUnavailable, Msg: "this account has too many invitation mails waiting to be sent; try again later"}
	case errors.Is(err, storage.ErrUnavailable):
		return &Error{Status: http.StatusServiceUnavailable, Msg: err.Error()}
	case errors.Is(err, storage.ErrInvalidChange):
		return &Error{Status: http.StatusBadRequest, Msg: err.Error()}
	case errors.As(err, new(*storage.ConditionError)), errors.Is(err, storage.ErrConflict):
		// A condition on another resource, checked inside the write, did not
		// hold (RFC 4918 §9.7.1: a missing parent is a 409; the files area
		// answers the kinds it knows more precisely before this).
		return &Error{Status: http.StatusConflict, Msg: err.Error()}
	case errors.Is(err, storage.ErrHistoryGone):
		return &Error{Status: http.StatusForbidden, NS: NSDAV, Cond: "valid-sync-token", Msg: err.Error()}
	case errors.Is(err, storage.ErrJournalPruned):
		return &Error{Status: http.StatusConflict, Msg: err.Error()}
	case errors.Is(err, storage.ErrClosed), errors.Is(err, storage.ErrLocked):
		return &Error{Status: http.StatusServiceUnavailable, Msg: "the store is not available"}
	case errors.Is(err, card.ErrInvalidData):
		return &Error{Status: http.StatusForbidden, NS: NSCardDAV, Cond: "valid-address-data", Msg: err.Error()}
	case errors.Is(err, card.ErrUnsupportedVersion):
		return &Error{Status: http.StatusForbidden, NS: NSCardDAV, Cond: "supported-address-data", Msg: err.Error()}
	case errors.Is(err, card.ErrBadFilter):
		return &Error{Status: http.StatusBadRequest, Msg: err.Error()}
	case errors.Is(err, card.ErrUnsupportedCollation):
		return &Error{Status: http.StatusForbidden, NS: NSCardDAV, Cond: "supported-collation", Msg: err.Error()}
	case errors.Is(err, calendar.ErrInvalidData):
		return &Error{Status: http.StatusForbidden, NS: NSCalDAV, Cond: "valid-calendar-data", Msg: err.Error()}
	case errors.Is(err, calendar.ErrInvalidObject):
		return &Error{Status: http.StatusForbidden, NS: NSCalDAV, Cond: "valid-calendar-object-resource", Msg: err.Error()}
	case errors.Is(err, calendar.ErrBadFilter):
		return &Error{Status: http.StatusForbidden, NS: NSCalDAV, Cond: "valid-filter", Msg: err.Error()}
	case errors.Is(err, calendar.ErrUnsupportedCollation):
		return &Error{Status: http.StatusForbidden, NS: NSCalDAV, Cond: "supported-collation", Msg: err.Error()}
	case errors.Is(err, calendar.ErrBeforeMinDate):
		return &Error{Status: http.StatusForbidden, NS: NSCalDAV, Cond: "min-date-time", Msg: err.Error()}
	case errors.Is(err, calendar.ErrTooManyInstances):
		return &Error{Status: http.StatusForbidden, NS: NSCalDAV, Cond: "max-instances", Msg: err.Error()}
	case errors.Is(err, birthday.ErrNotBirthdays):
		return &Error{Status: http.StatusConflict, Msg: err.Error()}
	case errors.Is(err, account.ErrBadShare):
		return &Error{Status: http.StatusForbidden, Msg: err.Error()}
	case errors.Is(err, schedule.ErrTooManyAttendees):
		return &Error{Status: http.StatusForbidden, NS: NSCalDAV, Cond: "max-attendees-per-instance", Msg: err.Error()}
	case errors.Is(err, schedule.ErrOrganizers):
		return &Error{Status: http.StatusForbidden, NS: NSCalDAV, Cond: "same-organizer-in-all-components", Msg: err.Error()}
	case errors.Is(err, schedule.ErrInvalid), errors.Is(err, schedule.ErrNotAttendee):
		return &Error{Status: http.StatusForbidden, NS: NSCalDAV, Cond: "valid-scheduling-message", Msg: err.Error()}
	case errors.Is(err, storage.ErrNoSpace):
		// RFC 4918 §11.5: the change was not saved (storage cut it off),
		// and the client may send it again once space is freed.
		return ErrNoSpace
	case errors.Is(err, storage.ErrNeedsConfirmation):
		return &Error{Status: http.StatusConflict, Msg: err.Error()}
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return &Error{Status: http.StatusServiceUnavailable, Msg: "request cancelled"}
	}
	return &Error{Status: http.StatusInternalServerError, Msg: "internal error"}
}

// SetRetryAfter sets Retry-After on an answer of 503 or 507 (de, made of
// err by ToError): jittered, so a fleet of clients does not come back in
// one wave, and longer where the cause passes slowly. Every way of
// answering an error calls it (WriteError, the JSON API's).
func SetRetryAfter(w http.ResponseWriter, err error, de *Error) {
	if de.Status == http.StatusServiceUnavailable || de.Status == http.StatusInsufficientStorage {
		retry := 30 + rand.IntN(90)
		var ue *storage.UnavailableError
		switch {
		case de == ErrRecovering:
			retry = 60 + rand.IntN(241) // [60, 300]: long enough for devices to reconcile first
		case de == ErrNoSpace:
			retry = 300 + rand.IntN(300) // space is freed by an admin, not in seconds
		case errors.As(err, &ue) && ue.RetryAfter > 0:
			// Writes refused by replication: the reason passes quickly.
			sec := int(ue.RetryAfter.Seconds())
			retry = sec + rand.IntN(sec+1)
		}
		w.Header().Set("Retry-After", strconv.Itoa(retry))
	}
}

// WriteError answers a request with err: the status and DAV:error body
// from toDAVError, Retry-After on a 503, WWW-Authenticate on a 401. Server
// errors are logged at Error, refusals at Info (LogRefusal).
func WriteError(log *slog.Logger, w http.ResponseWriter, r *http.Request, err error) {
	de := ToError(err)
	if de.NS == NSCardDAV && strings.HasPrefix(r.URL.Path, Prefix+HomeCalendars+"/") {
		// The same condition (no-uid-conflict, max-resource-size) in CalDAV's namespace.
		cp := *de
		cp.NS = NSCalDAV
		de = &cp
	}
	if de.Status >= 500 && de.Status != http.StatusServiceUnavailable {
		log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	} else if de.Status == http.StatusUnauthorized && r.Header.Get("Authorization") == "" {
		// The challenge every client gets before it sends credentials.
		log.Debug("sign-in required", "method", r.Method, "path", r.URL.Path)
	} else {
		LogRefusal(log, r, de.Status, err.Error())
	}
	SetRetryAfter(w, err, de)
	if de.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="pimvault", charset="UTF-8"`)
	}
	if de.Cond == "" {
		http.Error(w, de.Msg, de.Status)
		return
	}
	cond := "<X:" + de.Cond + "/>"
	if de.Inner != "" {
		cond = "<X:" + de.Cond + ">" + de.Inner + "</X:" + de.Cond + ">"
	}
	var uc *storage.UIDConflictError
	if de.Cond == "no-uid-conflict" && r.Method == "PUT" && errors.As(err, &uc) {
		// RFC 4791 §5.3.2.1, RFC 6352 §6.3.2.1: name the resource that holds the UID.
		if p, perr := ParsePath(r.URL.EscapedPath()); perr == nil && p.Kind == ResObject {
			p.Object = uc.Existing
			cond = "<X:" + de.Cond + ">" + HrefXML(p.Href()) + "</X:" + de.Cond + ">"
		}
	}
	w.Header().Set("Content-Type", "application/xml; charset=utf-8")
	w.WriteHeader(de.Status)
	// The message goes in an element outside the DAV: namespace, so that a client
	// reading DAV:error finds only condition codes in it (RFC 4918 §16); the name is
	// the one Apple's CalendarServer uses, which its test suite knows to skip.
	fmt.Fprintf(w, `<?xml version="1.0" encoding="utf-8"?>`+"\n"+`<D:error xmlns:D="DAV:" xmlns:X=%q>%s<E:error-description xmlns:E="http://twistedmatrix.com/xml_namespace/dav/">%s</E:error-description></D:error>`,
		de.NS, cond, XMLEscape(de.Msg))
}
