package files

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/pimvault/pimvault/server/internal/dav"
	"github.com/pimvault/pimvault/storage"
)

// propContentType is the object property under which a resource's
// Content-Type (from its PUT) is kept; served as DAV:getcontenttype.
var propContentType = dav.Clark(dav.NameGetContentType)

const defaultFilesType = "application/octet-stream"

func isNotFound(err error) bool {
	return errors.Is(err, storage.ErrNotFound) || err == dav.ErrNotFound
}

var (
	errFilesNoParent = &dav.Error{Status: http.StatusConflict, Msg: "the parent collection does not exist"}
	errFilesExists   = &dav.Error{Status: http.StatusMethodNotAllowed, Msg: "something already exists at this URL"}
	errFilesRoot     = &dav.Error{Status: http.StatusForbidden, Msg: "the files root cannot be changed this way"}
)

// Store is what the files area needs of the storage layer.
type Store interface {
	Commit(ctx context.Context, c storage.Change) (storage.Result, error)
	Get(principal, collection, name string) (storage.Object, error)
	Objects(principal, collection string, bodies bool, fn func(storage.Object) error) error
	Collection(principal, name string) (storage.Collection, error)
	Collections(principal string) ([]storage.Collection, error)
	ObjectProps(principal, collection, name string) (map[string][]byte, error)
}

// Handler serves the files area of every user.
type Handler struct {
	store   Store
	maxSize int64 // largest resource body
	log     *slog.Logger
}

// New returns the files area over store; maxSize bounds one resource body.
func New(store Store, maxSize int64, log *slog.Logger) *Handler {
	return &Handler{store: store, maxSize: maxSize, log: log}
}

func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	dav.WriteError(h.log, w, r, err)
}

// Serve answers a request in the files area of p.User, who must be the
// signed-in user (the caller checks).
func (h *Handler) Serve(w http.ResponseWriter, r *http.Request, p dav.Path) {
	if strings.Contains(r.RequestURI, "#") {
		// A fragment is not part of a request target (RFC 9112 §3.2); acting
		// on the URL without it would touch something the client did not name.
		h.writeError(w, r, dav.BadRequest("the request URI has a fragment"))
		return
	}
	setSafetyHeaders(w)
	if err := h.ensureFilesRoot(r, p.User); err != nil {
		h.writeError(w, r, err)
		return
	}
	switch r.Method {
	case "OPTIONS":
		dav.WriteOptions(w, p)
	case "GET", "HEAD":
		h.filesGet(w, r, p)
	case "PUT":
		h.filesPut(w, r, p)
	case "DELETE":
		h.filesDelete(w, r, p)
	case "MKCOL":
		h.filesMkcol(w, r, p)
	case "PROPFIND":
		h.filesPropfind(w, r, p)
	case "PROPPATCH":
		h.filesProppatch(w, r, p)
	case "COPY", "MOVE":
		h.filesCopyMove(w, r, p)
	default:
		w.Header().Set("Allow", "OPTIONS, GET, HEAD, PUT, DELETE, MKCOL, PROPFIND, PROPPATCH, COPY, MOVE")
		h.writeError(w, r, &dav.Error{Status: http.StatusMethodNotAllowed, Msg: r.Method + " is not supported here"})
	}
}

// ensureFilesRoot creates the user's files root on first use.
func (h *Handler) ensureFilesRoot(r *http.Request, user string) error {
	if _, err := h.filesCollection(user, nil); err == nil || !isNotFound(err) {
		return err
	}
	_, err := h.store.Commit(r.Context(), storage.Change{Op: storage.OpCreateCollection, Principal: user,
		Collection: filesColl(nil), Kind: dav.KindFiles})
	if errors.Is(err, storage.ErrExists) {
		return nil
	}
	return err
}

func (h *Handler) filesGet(w http.ResponseWriter, r *http.Request, p dav.Path) {
	n, err := h.resolveFiles(p.User, p.Files)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	switch {
	case !n.exists:
		h.writeError(w, r, dav.ErrNotFound)
	case n.isColl:
		// A collection reads as a plain list of its members.
		var b strings.Builder
		kids, err := h.filesChildren(p.User, n.rel, false)
		if err != nil {
			h.writeError(w, r, err)
			return
		}
		for _, c := range kids {
			rel, _ := filesRel(c.Name)
			b.WriteString(rel[len(rel)-1] + "/\n")
		}
		err = h.store.Objects(p.User, filesColl(n.rel), false, func(o storage.Object) error {
			b.WriteString(o.Name + "\n")
			return nil
		})
		if err != nil {
			h.writeError(w, r, err)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Content-Length", strconv.Itoa(b.Len()))
		if r.Method != "HEAD" {
			io.WriteString(w, b.String())
		}
	default:
		o, err := h.store.Get(p.User, filesColl(n.parent()), n.name())
		if err != nil {
			h.writeError(w, r, err)
			return
		}
		props, err := h.store.ObjectProps(p.User, filesColl(n.parent()), n.name())
		if err != nil {
			h.writeError(w, r, err)
			return
		}
		w.Header().Set("ETag", dav.QuoteETag(o.ETag))
		w.Header().Set("Last-Modified", dav.HTTPTime(o.Time))
		w.Header().Set("Content-Type", filesContentType(props))
		setDisposition(w, filesContentType(props))
		if inm := r.Header.Get("If-None-Match"); inm != "" && (inm == "*" || slices.Contains(dav.ParseETagList(inm), o.ETag)) {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(o.Body)))
		if r.Method != "HEAD" {
			w.Write(o.Body)
		}
	}
}

func filesContentType(props map[string][]byte) string {
	if v := props[propContentType]; len(v) > 0 {
		return string(v)
	}
	return defaultFilesType
}

func (h *Handler) filesPut(w http.ResponseWriter, r *http.Request, p dav.Path) {
	if len(p.Files) == 0 {
		h.writeError(w, r, errFilesExists)
		return
	}
	n := filesNode{rel: p.Files}
	tooBig := &dav.Error{Status: http.StatusRequestEntityTooLarge, Msg: fmt.Sprintf("body over %d bytes", h.maxSize)}
	body, err := dav.ReadBody(r, h.maxSize, tooBig, nil)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	c := storage.Change{Op: storage.OpPut, Principal: p.User, Collection: filesColl(n.parent()), Name: n.name(),
		Body: body, Require: []storage.Cond{{Collection: filesColl(n.rel)}}}
	if ct := strings.TrimSpace(r.Header.Get("Content-Type")); ct != "" {
		if len(ct) > 255 {
			h.writeError(w, r, dav.BadRequest("Content-Type too long"))
			return
		}
		c.Props = map[string][]byte{propContentType: []byte(ct)}
	}
	if err := dav.SetConditionals(&c, r); err != nil {
		h.writeError(w, r, err)
		return
	}
	res, err := h.store.Commit(r.Context(), c)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		err = errFilesNoParent
	case errors.Is(err, storage.ErrConflict):
		err = errFilesExists // a collection has that name
	}
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	w.Header().Set("ETag", dav.QuoteETag(res.ETag))
	if res.Created {
		w.WriteHeader(http.StatusCreated)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *Handler) filesDelete(w http.ResponseWriter, r *http.Request, p dav.Path) {
	if len(p.Files) == 0 {
		h.writeError(w, r, errFilesRoot)
		return
	}
	n, err := h.resolveFiles(p.User, p.Files)
	if err == nil && !n.exists {
		err = dav.ErrNotFound
	}
	if err == nil && n.isColl {
		if r.Header.Get("If-Match") != "" {
			err = &dav.Error{Status: http.StatusPreconditionFailed, Msg: "If-Match on a collection is not supported"}
		} else if d := r.Header.Get("Depth"); d != "" && !strings.EqualFold(d, "infinity") {
			err = dav.BadRequest("DELETE of a collection takes Depth: infinity")
		} else {
			err = h.filesDeleteTree(r, p.User, n.rel)
		}
	} else if err == nil {
		c := storage.Change{Op: storage.OpDelete, Principal: p.User, Collection: filesColl(n.parent()), Name: n.name()}
		dav.SetIfMatch(&c, r.Header.Get("If-Match"))
		_, err = h.store.Commit(r.Context(), c)
	}
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// filesDeleteTree deletes the collection at rel and every collection below
// it in one journalled record (a delete-collection with a subtree prefix), so
// no crash can leave half a tree; all of it stays in the journal (undoable).
func (h *Handler) filesDeleteTree(r *http.Request, user string, rel []string) error {
	_, err := h.store.Commit(r.Context(), storage.Change{Op: storage.OpDeleteCollection, Principal: user,
		Collection: filesColl(rel), Name: filesDescendantPrefix(rel)})
	return err
}

func (h *Handler) filesMkcol(w http.ResponseWriter, r *http.Request, p dav.Path) {
	if r.ContentLength > 0 || len(r.TransferEncoding) > 0 {
		if b, _ := io.ReadAll(io.LimitReader(r.Body, 1)); len(b) > 0 {
			h.writeError(w, r, &dav.Error{Status: http.StatusUnsupportedMediaType, Msg: "MKCOL with a body is not supported here"})
			return
		}
	}
	if len(p.Files) == 0 {
		h.writeError(w, r, errFilesExists)
		return
	}
	err := h.filesCreateColl(r, p.User, p.Files, nil)
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	w.Header().Set("Location", filesHref(p.User, p.Files, true))
	w.WriteHeader(http.StatusCreated)
}

// filesCreateColl creates the collection at rel; its parent must exist and
// hold no resource of that name, checked inside the write.
func (h *Handler) filesCreateColl(r *http.Request, user string, rel []string, props map[string][]byte) error {
	parent := filesColl(rel[:len(rel)-1])
	_, err := h.store.Commit(r.Context(), storage.Change{Op: storage.OpCreateCollection, Principal: user,
		Collection: filesColl(rel), Kind: dav.KindFiles, Props: props,
		Require: []storage.Cond{{Collection: parent, Exists: true}, {Collection: parent, Name: rel[len(rel)-1]}}})
	var ce *storage.ConditionError
	switch {
	case errors.As(err, &ce) && ce.Cond.Exists:
		return errFilesNoParent
	case errors.As(err, &ce), errors.Is(err, storage.ErrExists):
		return errFilesExists
	}
	return err
}
