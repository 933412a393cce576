package files

import (
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/pimvault/pimvault/server/internal/dav"
	"github.com/pimvault/pimvault/storage"
)

// filesCopyMove handles COPY and MOVE in the files area (RFC 4918 §9.8,
// §9.9), of resources and of collections with Depth and Overwrite.
//
// A resource is copied or moved by one journalled change (a put that carries
// its dead properties, or a move). A collection takes one change per
// collection and per resource, ordered so that every intermediate state is a
// whole tree (every collection has its parent) and the source stays whole
// until its copy is complete: the destination collections are created
// top-down with their resources copied in, and only then, for MOVE, is the
// source tree deleted, in one record (a subtree tombstone, undoable). A crash
// or an error part-way leaves the source whole beside a partial copy, or the
// move done; the client got no 2xx, and repeating the request with
// Overwrite: T replaces the partial copy and completes. Every step is an
// ordinary record, so verify passes at any point. An Overwrite: T onto an
// existing destination deletes it first (one subtree tombstone again).
func (h *Handler) filesCopyMove(w http.ResponseWriter, r *http.Request, p dav.Path) {
	move := r.Method == "MOVE"
	src, err := h.resolveFiles(p.User, p.Files)
	if err == nil && !src.exists {
		err = dav.ErrNotFound
	}
	if err == nil && len(src.rel) == 0 {
		err = errFilesRoot
	}
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	dp, err := dav.ParseDestination(r)
	if de := (*dav.Error)(nil); errors.As(err, &de) && de.Status != http.StatusNotFound {
		h.writeError(w, r, err)
		return
	}
	if err != nil || dp.Kind != dav.ResFiles || dp.User != p.User {
		h.writeError(w, r, &dav.Error{Status: http.StatusBadGateway, Msg: "Destination must be in your files area on this server"})
		return
	}
	if len(dp.Files) == 0 {
		h.writeError(w, r, errFilesRoot)
		return
	}
	deep := true
	switch d := strings.ToLower(r.Header.Get("Depth")); {
	case d == "" || d == "infinity":
	case d == "0" && !move:
		deep = false
	default:
		h.writeError(w, r, dav.BadRequest("%s takes Depth: infinity%s", r.Method, map[bool]string{false: " or 0", true: ""}[move]))
		return
	}
	overwrite := !strings.EqualFold(strings.TrimSpace(r.Header.Get("Overwrite")), "F")
	switch {
	case slices.Equal(src.rel, dp.Files):
		err = &dav.Error{Status: http.StatusForbidden, Msg: "source and destination are the same"}
	case src.isColl && isUnder(dp.Files, src.rel):
		err = &dav.Error{Status: http.StatusForbidden, Msg: "a collection cannot be copied or moved into itself"}
	case isUnder(src.rel, dp.Files):
		err = &dav.Error{Status: http.StatusForbidden, Msg: "the destination holds the source"}
	}
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	dst, err := h.resolveFiles(p.User, dp.Files)
	if err == nil {
		if _, perr := h.filesCollection(p.User, dst.parent()); isNotFound(perr) {
			err = errFilesNoParent
		} else {
			err = perr
		}
	}
	if err == nil && dst.exists && !overwrite {
		err = &dav.Error{Status: http.StatusPreconditionFailed, Msg: "the destination exists and Overwrite is F"}
	}
	if err == nil && dst.exists && (dst.isColl || src.isColl) {
		err = h.filesRemove(r, p.User, dst)
	}
	if err == nil {
		if src.isColl {
			err = h.filesCopyTree(r, p.User, src.rel, dst.rel, deep)
			if err == nil && move {
				err = h.filesDeleteTree(r, p.User, src.rel)
			}
		} else {
			err = h.filesCopyObject(r, p.User, src.rel, dst.rel, move, overwrite)
		}
	}
	if err != nil {
		h.writeError(w, r, err)
		return
	}
	if dst.exists {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	w.Header().Set("Location", filesHref(p.User, dst.rel, src.isColl))
	w.WriteHeader(http.StatusCreated)
}

// isUnder reports whether rel is strictly below dir.
func isUnder(rel, dir []string) bool {
	return len(rel) > len(dir) && slices.Equal(rel[:len(dir)], dir)
}

// filesRemove deletes what n names (a resource or a collection tree).
func (h *Handler) filesRemove(r *http.Request, user string, n filesNode) error {
	if n.isColl {
		return h.filesDeleteTree(r, user, n.rel)
	}
	_, err := h.store.Commit(r.Context(), storage.Change{Op: storage.OpDelete, Principal: user,
		Collection: filesColl(n.parent()), Name: n.name()})
	if errors.Is(err, storage.ErrNotFound) {
		return nil
	}
	return err
}

// filesCopyObject copies or moves one resource with its dead properties; no
// collection may have the destination's name (checked in the write).
func (h *Handler) filesCopyObject(r *http.Request, user string, from, to []string, move, overwrite bool) error {
	fromColl, toColl := filesColl(from[:len(from)-1]), filesColl(to[:len(to)-1])
	notColl := []storage.Cond{{Collection: filesColl(to)}}
	var err error
	if move {
		_, err = h.store.Commit(r.Context(), storage.Change{Op: storage.OpMove, Principal: user,
			Collection: fromColl, Name: from[len(from)-1], ToCollection: toColl, ToName: to[len(to)-1],
			Overwrite: overwrite, Require: notColl})
	} else {
		err = h.filesPutCopy(r, user, fromColl, from[len(from)-1], toColl, to[len(to)-1], !overwrite, notColl)
	}
	var ce *storage.ConditionError
	switch {
	case errors.As(err, &ce):
		return errFilesExists
	case errors.Is(err, storage.ErrPreconditionFailed):
		return &dav.Error{Status: http.StatusPreconditionFailed, Msg: "the destination exists and Overwrite is F"}
	}
	return err
}

// filesPutCopy writes a copy of fromColl/name as toColl/toName, with exactly
// the source's dead properties.
func (h *Handler) filesPutCopy(r *http.Request, user, fromColl, name, toColl, toName string, mustBeNew bool, req []storage.Cond) error {
	o, err := h.store.Get(user, fromColl, name)
	if err != nil {
		return err
	}
	props, err := h.store.ObjectProps(user, fromColl, name)
	if err != nil {
		return err
	}
	_, err = h.store.Commit(r.Context(), storage.Change{Op: storage.OpPut, Principal: user, Collection: toColl,
		Name: toName, Body: o.Body, Meta: o.Meta, Props: props, ReplaceProps: true, IfNoneMatch: mustBeNew, Require: req})
	return err
}

// filesCopyTree creates the collection to as a copy of from (its dead
// properties), then copies from's resources into it and, when deep, does the
// same for every sub-collection, top-down.
func (h *Handler) filesCopyTree(r *http.Request, user string, from, to []string, deep bool) error {
	c, err := h.filesCollection(user, from)
	if err != nil {
		return err
	}
	if err := h.filesCreateColl(r, user, to, c.Props); err != nil {
		return err
	}
	if !deep {
		return nil
	}
	fromColl, toColl := filesColl(from), filesColl(to)
	var names []string
	if err := h.store.Objects(user, fromColl, false, func(o storage.Object) error {
		names = append(names, o.Name)
		return nil
	}); err != nil {
		return err
	}
	for _, name := range names {
		notColl := []storage.Cond{{Collection: filesColl(append(slices.Clone(to), name))}}
		err := h.filesPutCopy(r, user, fromColl, name, toColl, name, true, notColl)
		if err != nil && !errors.Is(err, storage.ErrNotFound) { // deleted meanwhile: nothing to carry
			return err
		}
	}
	kids, err := h.filesChildren(user, from, false)
	if err != nil {
		return err
	}
	for _, k := range kids {
		rel, _ := filesRel(k.Name)
		leaf := rel[len(rel)-1]
		if err := h.filesCopyTree(r, user, rel, append(slices.Clone(to), leaf), true); err != nil {
			return err
		}
	}
	return nil
}
