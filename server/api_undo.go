package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/pimvault/pimvault/server/internal/dav"
	"github.com/pimvault/pimvault/storage"
)

// undoStore is what the /api/ history and undo endpoints need of the store.
type undoStore interface {
	History(principal, collection string, limit int) ([]storage.HistoryEntry, error)
	Undo(ctx context.Context, req storage.UndoRequest) (*storage.UndoReport, error)
}

// errAPIUnavailable: the store behind this server has no history or undo.
var errAPIUnavailable = &dav.Error{Status: http.StatusNotImplemented, Msg: "history and undo are not available on this store"}

// routeAPI adds pimvault's own JSON API for the signed-in user. A user only
// ever sees and changes their own data: the principal is the signed-in user,
// never a parameter.
//
//	GET  /api/history?collection=C&limit=N   newest changes first
//	POST /api/undo                            {"collection","object","to_time"|"to_seq","apply","confirm"}
//	GET  /api/shares                          grants by the user and to the user
//	POST /api/shares                          {"collection","sharee","access"}: invite to "read", "read-write"; "" removes
//	POST /api/shares/reply                    {"owner","collection","accept"}: answer an invitation
//	POST /api/birthdays                       {"enabled": true|false}: the birthday calendar
func (s *Server) routeAPI(r chi.Router) {
	r.Method(http.MethodPost, "/api/birthdays", s.requireAuth(http.HandlerFunc(s.apiBirthdays)))
	r.Method(http.MethodGet, "/api/shares", s.requireAuth(http.HandlerFunc(s.apiShares)))
	r.Method(http.MethodPost, "/api/shares", s.requireAuth(http.HandlerFunc(s.apiShare)))
	r.Method(http.MethodPost, "/api/shares/reply", s.requireAuth(http.HandlerFunc(s.apiShareReply)))
	r.Method(http.MethodGet, "/api/history", s.requireAuth(http.HandlerFunc(s.apiHistory)))
	r.Method(http.MethodPost, "/api/undo", s.requireAuth(http.HandlerFunc(s.apiUndo)))
	s.routeAppPasswords(r)
}

func (s *Server) apiHistory(w http.ResponseWriter, r *http.Request) {
	us, ok := s.store.(undoStore)
	if !ok {
		s.writeAPIError(w, r, errAPIUnavailable)
		return
	}
	limit := 100
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > storage.MaxHistory {
			s.writeAPIError(w, r, dav.BadRequest("limit must be between 1 and %d", storage.MaxHistory))
			return
		}
		limit = n
	}
	entries, err := us.History(userFrom(r.Context()), r.URL.Query().Get("collection"), limit)
	if err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"entries": entries})
}

// undoBody is the request of POST /api/undo.
type undoBody struct {
	Collection string `json:"collection"`
	Object     string `json:"object"`
	ToTime     string `json:"to_time"` // RFC 3339
	ToSeq      uint64 `json:"to_seq"`
	Apply      bool   `json:"apply"` // false: preview only
	// Confirm: apply even though the undo removes a collection or many
	// objects (without it such an undo answers 409 with the counts).
	Confirm bool `json:"confirm"`
}

func (s *Server) apiUndo(w http.ResponseWriter, r *http.Request) {
	us, ok := s.store.(undoStore)
	if !ok {
		s.writeAPIError(w, r, errAPIUnavailable)
		return
	}
	var b undoBody
	dec := json.NewDecoder(io.LimitReader(r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&b); err != nil {
		s.writeAPIError(w, r, dav.BadRequest("undo request: %v", err))
		return
	}
	seq := ""
	if b.ToSeq > 0 {
		seq = strconv.FormatUint(b.ToSeq, 10)
	}
	req, err := undoRequestFrom(userFrom(r.Context()), b.Collection, b.Object, b.ToTime, seq)
	if err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	req.DryRun, req.Confirm = !b.Apply, b.Confirm
	rep, err := us.Undo(r.Context(), req)
	var ce *storage.ConfirmationError
	if errors.As(err, &ce) {
		writeJSON(w, dav.ToError(err).Status, map[string]any{"error": err.Error(), "report": ce.Report})
		return
	}
	if err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, rep)
}

// undoRequestFrom builds an undo request from text arguments (the admin
// socket's and the API's).
func undoRequestFrom(user, collection, object, toTime, toSeq string) (storage.UndoRequest, error) {
	req := storage.UndoRequest{Principal: user, Collection: collection, Object: object}
	if toTime != "" {
		t, err := storage.ParseTimeArg("to_time", toTime, time.Now())
		if err != nil {
			return req, err
		}
		req.ToTime = t
	}
	if toSeq != "" {
		n, err := strconv.ParseUint(toSeq, 10, 64)
		if err != nil || n == 0 {
			return req, dav.BadRequest("to_seq %q: want a positive sequence number", toSeq)
		}
		req.ToSeq = n
	}
	if req.ToTime.IsZero() && req.ToSeq == 0 {
		return req, dav.BadRequest("give to_time or to_seq")
	}
	return req, nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// writeAPIError answers an /api/ request with err as JSON; the status comes
// from the one mapping in errors.go.
func (s *Server) writeAPIError(w http.ResponseWriter, r *http.Request, err error) {
	de := dav.ToError(err)
	if de.Status >= 500 && !errors.Is(err, errAPIUnavailable) {
		s.log.Error("api request failed", "path", r.URL.Path, "err", err)
	} else {
		dav.LogRefusal(s.log, r, de.Status, err.Error())
	}
	dav.SetRetryAfter(w, err, de)
	writeJSON(w, de.Status, map[string]string{"error": fmt.Sprint(de.Msg)})
}
