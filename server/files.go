package server

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/pimvault/pimvault/storage"
)

// propContentType is the object property under which a resource's
// Content-Type (from its PUT) is kept; served as DAV:getcontenttype.
var propContentType = clark(nameGetContentType)

const defaultFilesType = "application/octet-stream"

func isNotFound(err error) bool {
	return errors.Is(err, storage.ErrNotFound) || err == errNotFound
}

var (
	errFilesNoParent = &DAVXError{Status: http.StatusConflict, msg: "the parent collection does not exist"}
	errFilesExists   = &DAVXError{Status: http.StatusMethodNotAllowed, msg: "something already exists at this URL"}
	errFilesRoot     = &DAVXError{Status: http.StatusForbidden, msg: "the files root cannot be changed this way"}
)

// serveFiles dispatches a request in the signed-in user's files area.
func (s *Server) serveFiles(w http.ResponseWriter, r *http.Request, p davPath) {
	if strings.Contains(r.RequestURI, "#") {
		// A fragment is not part of a request target (RFC 9112 §3.2); acting
		// on the URL without it would touch something the client did not name.
		s.writeError(w, r, badRequest("the request URI has a fragment"))
		return
	}
	if err := s.ensureFilesRoot(r, p.user); err != nil {
		s.writeError(w, r, err)
		return
	}
	switch r.Method {
	case "OPTIONS":
		writeOptions(w)
	case "GET", "HEAD":
		s.filesGet(w, r, p)
	case "PUT":
		s.filesPut(w, r, p)
	case "DELETE":
		s.filesDelete(w, r, p)
	case "MKCOL":
		s.filesMkcol(w, r, p)
	case "PROPFIND":
		s.filesPropfind(w, r, p)
	case "PROPPATCH":
		s.filesProppatch(w, r, p)
	case "COPY", "MOVE":
		s.filesCopyMove(w, r, p)
	default:
		w.Header().Set("Allow", "OPTIONS, GET, HEAD, PUT, DELETE, MKCOL, PROPFIND, PROPPATCH, COPY, MOVE")
		s.writeError(w, r, &DAVXError{Status: http.StatusMethodNotAllowed, msg: r.Method + " is not supported here"})
	}
}

// ensureFilesRoot creates the user's files root on first use.
func (s *Server) ensureFilesRoot(r *http.Request, user string) error {
	if _, err := s.filesCollection(user, nil); err == nil || !isNotFound(err) {
		return err
	}
	_, err := s.store.Commit(r.Context(), storage.Change{Op: storage.OpCreateCollection, Principal: user,
		Collection: filesColl(nil), Kind: kindFiles})
	if errors.Is(err, storage.ErrExists) {
		return nil
	}
	return err
}

func (s *Server) filesGet(w http.ResponseWriter, r *http.Request, p davPath) {
	n, err := s.resolveFiles(p.user, p.files)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	switch {
	case !n.exists:
		s.writeError(w, r, errNotFound)
	case n.isColl:
		// A collection reads as a plain list of its members.
		var b strings.Builder
		kids, err := s.filesChildren(p.user, n.rel, false)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		for _, c := range kids {
			rel, _ := filesRel(c.Name)
			b.WriteString(rel[len(rel)-1] + "/\n")
		}
		err = s.store.Objects(p.user, filesColl(n.rel), false, func(o storage.Object) error {
			b.WriteString(o.Name + "\n")
			return nil
		})
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Content-Length", strconv.Itoa(b.Len()))
		if r.Method != "HEAD" {
			io.WriteString(w, b.String())
		}
	default:
		o, err := s.store.Get(p.user, filesColl(n.parent()), n.name())
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		props, err := s.store.ObjectProps(p.user, filesColl(n.parent()), n.name())
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		w.Header().Set("ETag", quoteETag(o.ETag))
		w.Header().Set("Last-Modified", httpTime(o.Time))
		w.Header().Set("Content-Type", filesContentType(props))
		if inm := r.Header.Get("If-None-Match"); inm != "" && (inm == "*" || slices.Contains(parseETagList(inm), o.ETag)) {
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

func (s *Server) filesPut(w http.ResponseWriter, r *http.Request, p davPath) {
	if len(p.files) == 0 {
		s.writeError(w, r, errFilesExists)
		return
	}
	n := filesNode{rel: p.files}
	tooBig := &DAVXError{Status: http.StatusRequestEntityTooLarge, msg: fmt.Sprintf("body over %d bytes", s.cfg.MaxResourceSize)}
	body, err := s.readPutBody(r, tooBig, nil)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	c := storage.Change{Op: storage.OpPut, Principal: p.user, Collection: filesColl(n.parent()), Name: n.name(),
		Body: body, Require: []storage.Cond{{Collection: filesColl(n.rel)}}}
	if ct := strings.TrimSpace(r.Header.Get("Content-Type")); ct != "" {
		if len(ct) > 255 {
			s.writeError(w, r, badRequest("Content-Type too long"))
			return
		}
		c.Props = map[string][]byte{propContentType: []byte(ct)}
	}
	if err := setConditionals(&c, r); err != nil {
		s.writeError(w, r, err)
		return
	}
	res, err := s.store.Commit(r.Context(), c)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		err = errFilesNoParent
	case errors.Is(err, storage.ErrConflict):
		err = errFilesExists // a collection has that name
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("ETag", quoteETag(res.ETag))
	if res.Created {
		w.WriteHeader(http.StatusCreated)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) filesDelete(w http.ResponseWriter, r *http.Request, p davPath) {
	if len(p.files) == 0 {
		s.writeError(w, r, errFilesRoot)
		return
	}
	n, err := s.resolveFiles(p.user, p.files)
	if err == nil && !n.exists {
		err = errNotFound
	}
	if err == nil && n.isColl {
		if r.Header.Get("If-Match") != "" {
			err = &DAVXError{Status: http.StatusPreconditionFailed, msg: "If-Match on a collection is not supported"}
		} else if d := r.Header.Get("Depth"); d != "" && !strings.EqualFold(d, "infinity") {
			err = badRequest("DELETE of a collection takes Depth: infinity")
		} else {
			err = s.filesDeleteTree(r, p.user, n.rel)
		}
	} else if err == nil {
		_, err = s.store.Commit(r.Context(), storage.Change{Op: storage.OpDelete, Principal: p.user,
			Collection: filesColl(n.parent()), Name: n.name(), IfMatch: parseIfMatch(r.Header.Get("If-Match"))})
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// filesDeleteTree deletes the collection at rel and every collection below
// it in one journalled record (a delete-collection with a subtree prefix), so
// no crash can leave half a tree; all of it stays in the journal (undoable).
func (s *Server) filesDeleteTree(r *http.Request, user string, rel []string) error {
	_, err := s.store.Commit(r.Context(), storage.Change{Op: storage.OpDeleteCollection, Principal: user,
		Collection: filesColl(rel), Name: filesDescendantPrefix(rel)})
	return err
}

func (s *Server) filesMkcol(w http.ResponseWriter, r *http.Request, p davPath) {
	if r.ContentLength > 0 || len(r.TransferEncoding) > 0 {
		if b, _ := io.ReadAll(io.LimitReader(r.Body, 1)); len(b) > 0 {
			s.writeError(w, r, &DAVXError{Status: http.StatusUnsupportedMediaType, msg: "MKCOL with a body is not supported here"})
			return
		}
	}
	if len(p.files) == 0 {
		s.writeError(w, r, errFilesExists)
		return
	}
	err := s.filesCreateColl(r, p.user, p.files, nil)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Location", filesHref(p.user, p.files, true))
	w.WriteHeader(http.StatusCreated)
}

// filesCreateColl creates the collection at rel; its parent must exist and
// hold no resource of that name, checked inside the write.
func (s *Server) filesCreateColl(r *http.Request, user string, rel []string, props map[string][]byte) error {
	parent := filesColl(rel[:len(rel)-1])
	_, err := s.store.Commit(r.Context(), storage.Change{Op: storage.OpCreateCollection, Principal: user,
		Collection: filesColl(rel), Kind: kindFiles, Props: props,
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
