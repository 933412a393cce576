package web

import (
	"errors"
	"net/http"

	"github.com/pimvault/pimvault/account"
	"github.com/pimvault/pimvault/storage"
)

// pageError is an error shown to the person on a page, with its status.
type pageError struct {
	Status int
	Msg    string
}

func (e *pageError) Error() string { return e.Msg }

func badRequest(msg string) error { return &pageError{Status: http.StatusBadRequest, Msg: msg} }

var (
	errForbidden = &pageError{Status: http.StatusForbidden, Msg: "this page is not yours to see"}
	errNotFound  = &pageError{Status: http.StatusNotFound, Msg: "there is nothing here"}
	errCSRF      = &pageError{Status: http.StatusForbidden, Msg: "the form was stale or not sent from this site (missing or wrong token); reload the page and try again"}
)

// statusOf maps an error to the status of the page that shows it: the one
// place the pages decide this.
func statusOf(err error) int {
	var pe *pageError
	switch {
	case errors.As(err, &pe):
		return pe.Status
	case errors.Is(err, storage.ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, storage.ErrExists), errors.Is(err, storage.ErrConflict), errors.Is(err, storage.ErrUIDConflict),
		errors.Is(err, storage.ErrNeedsConfirmation):
		return http.StatusConflict
	case errors.Is(err, storage.ErrPreconditionFailed):
		return http.StatusPreconditionFailed
	case errors.Is(err, storage.ErrInvalidName), errors.Is(err, storage.ErrInvalidChange), errors.Is(err, account.ErrBadPassword):
		return http.StatusBadRequest
	case errors.Is(err, storage.ErrTooLarge):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, storage.ErrHistoryGone), errors.Is(err, storage.ErrJournalPruned):
		return http.StatusGone
	}
	return http.StatusInternalServerError
}
