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
var propContentType = DAVXClark(DAVXNameGetContentType)

const defaultFilesType = "application/octet-stream"

func isNotFound(err error) bool {
	return errors.Is(err, storage.ErrNotFound) || err == DAVXErrNotFound
}

var (
	errFilesNoParent = &DAVXError{Status: http.StatusConflict, Msg: "the parent collection does not exist"}
	errFilesExists   = &DAVXError{Status: http.StatusMethodNotAllowed, Msg: "something already exists at this URL"}
	errFilesRoot     = &DAVXError{Status: http.StatusForbidden, Msg: "the files root cannot be changed this way"}
)

// serveFiles dispatches a request in the signed-in user's files area.
func (s *Server) serveFiles(w http.ResponseWriter, r *http.Request, p DAVXPath) {
	if strings.Contains(r.RequestURI, "#") {
		// A fragment is not part of a request target (RFC 9112 §3.2); acting
		// on the URL without it would touch something the client did not name.
		s.writeError(w, r, DAVXBadRequest("the request URI has a fragment"))
		return
	}
	if err := s.ensureFilesRoot(r, p.User); err != nil {
		s.writeError(w, r, err)
		return
	}
	switch r.Method {
	case "OPTIONS":
		DAVXWriteOptions(w)
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
		s.writeError(w, r, &DAVXError{Status: http.StatusMethodNotAllowed, Msg: r.Method + " is not supported here"})
	}
}

// ensureFilesRoot creates the user's files root on first use.
func (s *Server) ensureFilesRoot(r *http.Request, user string) error {
	if _, err := s.filesCollection(user, nil); err == nil || !isNotFound(err) {
		return err
	}
	_, err := s.store.Commit(r.Context(), storage.Change{Op: storage.OpCreateCollection, Principal: user,
		Collection: filesColl(nil), Kind: DAVXKindFiles})
	if errors.Is(err, storage.ErrExists) {
		return nil
	}
	return err
}

func (s *Server) filesGet(w http.ResponseWriter, r *http.Request, p DAVXPath) {
	n, err := s.resolveFiles(p.User, p.Files)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	switch {
	case !n.exists:
		s.writeError(w, r, DAVXErrNotFound)
	case n.isColl:
		// A collection reads as a plain list of its members.
		var b strings.Builder
		kids, err := s.filesChildren(p.User, n.rel, false)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		for _, c := range kids {
			rel, _ := filesRel(c.Name)
			b.WriteString(rel[len(rel)-1] + "/\n")
		}
		err = s.store.Objects(p.User, filesColl(n.rel), false, func(o storage.Object) error {
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
		o, err := s.store.Get(p.User, filesColl(n.parent()), n.name())
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		props, err := s.store.ObjectProps(p.User, filesColl(n.parent()), n.name())
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		w.Header().Set("ETag", DAVXQuoteETag(o.ETag))
		w.Header().Set("Last-Modified", DAVXHTTPTime(o.Time))
		w.Header().Set("Content-Type", filesContentType(props))
		if inm := r.Header.Get("If-None-Match"); inm != "" && (inm == "*" || slices.Contains(DAVXParseETagList(inm), o.ETag)) {
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

func (s *Server) filesPut(w http.ResponseWriter, r *http.Request, p DAVXPath) {
	if len(p.Files) == 0 {
		s.writeError(w, r, errFilesExists)
		return
	}
	n := filesNode{rel: p.Files}
	tooBig := &DAVXError{Status: http.StatusRequestEntityTooLarge, Msg: fmt.Sprintf("body over %d bytes", s.cfg.MaxResourceSize)}
	body, err := s.readPutBody(r, tooBig, nil)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	c := storage.Change{Op: storage.OpPut, Principal: p.User, Collection: filesColl(n.parent()), Name: n.name(),
		Body: body, Require: []storage.Cond{{Collection: filesColl(n.rel)}}}
	if ct := strings.TrimSpace(r.Header.Get("Content-Type")); ct != "" {
		if len(ct) > 255 {
			s.writeError(w, r, DAVXBadRequest("Content-Type too long"))
			return
		}
		c.Props = map[string][]byte{propContentType: []byte(ct)}
	}
	if err := DAVXSetConditionals(&c, r); err != nil {
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
	w.Header().Set("ETag", DAVXQuoteETag(res.ETag))
	if res.Created {
		w.WriteHeader(http.StatusCreated)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) filesDelete(w http.ResponseWriter, r *http.Request, p DAVXPath) {
	if len(p.Files) == 0 {
		s.writeError(w, r, errFilesRoot)
		return
	}
	n, err := s.resolveFiles(p.User, p.Files)
	if err == nil && !n.exists {
		err = DAVXErrNotFound
	}
	if err == nil && n.isColl {
		if r.Header.Get("If-Match") != "" {
			err = &DAVXError{Status: http.StatusPreconditionFailed, Msg: "If-Match on a collection is not supported"}
		} else if d := r.Header.Get("Depth"); d != "" && !strings.EqualFold(d, "infinity") {
			err = DAVXBadRequest("DELETE of a collection takes Depth: infinity")
		} else {
			err = s.filesDeleteTree(r, p.User, n.rel)
		}
	} else if err == nil {
		_, err = s.store.Commit(r.Context(), storage.Change{Op: storage.OpDelete, Principal: p.User,
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

func (s *Server) filesMkcol(w http.ResponseWriter, r *http.Request, p DAVXPath) {
	if r.ContentLength > 0 || len(r.TransferEncoding) > 0 {
		if b, _ := io.ReadAll(io.LimitReader(r.Body, 1)); len(b) > 0 {
			s.writeError(w, r, &DAVXError{Status: http.StatusUnsupportedMediaType, Msg: "MKCOL with a body is not supported here"})
			return
		}
	}
	if len(p.Files) == 0 {
		s.writeError(w, r, errFilesExists)
		return
	}
	err := s.filesCreateColl(r, p.User, p.Files, nil)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Location", filesHref(p.User, p.Files, true))
	w.WriteHeader(http.StatusCreated)
}

// filesCreateColl creates the collection at rel; its parent must exist and
// hold no resource of that name, checked inside the write.
func (s *Server) filesCreateColl(r *http.Request, user string, rel []string, props map[string][]byte) error {
	parent := filesColl(rel[:len(rel)-1])
	_, err := s.store.Commit(r.Context(), storage.Change{Op: storage.OpCreateCollection, Principal: user,
		Collection: filesColl(rel), Kind: DAVXKindFiles, Props: props,
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
