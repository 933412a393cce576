package files

import (
	"net/url"
	"strings"

	"github.com/pimvault/pimvault/server/internal/dav"
	"github.com/pimvault/pimvault/storage"
)

// filesColl is the storage collection name of the collection at rel.
func filesColl(rel []string) string {
	var b strings.Builder
	b.WriteString(dav.FilesCollPrefix)
	for i, s := range rel {
		if i > 0 {
			b.WriteString(dav.FilesSep)
		}
		b.WriteString(strings.ReplaceAll(s, "%", "%25"))
	}
	return b.String()
}

// filesRel is the inverse of filesColl.
func filesRel(coll string) ([]string, bool) {
	if !dav.IsFilesCollection(coll) {
		return nil, false
	}
	rest := strings.TrimPrefix(coll, dav.FilesCollPrefix)
	if rest == "" {
		return nil, true
	}
	parts := strings.Split(rest, dav.FilesSep)
	for i, s := range parts {
		parts[i] = strings.ReplaceAll(s, "%25", "%")
	}
	return parts, true
}

// filesDescendantPrefix is the storage-name prefix of every collection below
// the collection at rel (not rel itself).
func filesDescendantPrefix(rel []string) string {
	if len(rel) == 0 {
		return dav.FilesCollPrefix
	}
	return filesColl(rel) + dav.FilesSep
}

// filesHref is the escaped URL path of rel in user's files area.
func filesHref(user string, rel []string, collection bool) string {
	var b strings.Builder
	b.WriteString(dav.Prefix + dav.HomeFiles + "/" + url.PathEscape(user) + "/")
	for i, s := range rel {
		if i > 0 {
			b.WriteString("/")
		}
		b.WriteString(url.PathEscape(s))
	}
	if collection && len(rel) > 0 {
		b.WriteString("/")
	}
	return b.String()
}

// filesNode is what a path in the files area names right now.
type filesNode struct {
	rel    []string
	isColl bool
	exists bool
	coll   storage.Collection // isColl
	obj    storage.Object     // !isColl && exists (no body)
}

func (n filesNode) parent() []string { return n.rel[:len(n.rel)-1] }
func (n filesNode) name() string     { return n.rel[len(n.rel)-1] }

// resolve looks rel up: a collection, a resource, or nothing.
func (h *Handler) resolveFiles(user string, rel []string) (filesNode, error) {
	n := filesNode{rel: rel}
	c, err := h.filesCollection(user, rel)
	if err == nil {
		n.isColl, n.exists, n.coll = true, true, c
		return n, nil
	}
	if !isNotFound(err) || len(rel) == 0 {
		return n, err
	}
	if _, err := h.filesCollection(user, n.parent()); err != nil {
		if isNotFound(err) {
			return n, nil
		}
		return n, err
	}
	o, err := h.store.Get(user, filesColl(n.parent()), n.name())
	if err == nil {
		o.Body = nil
		n.exists, n.obj = true, o
		return n, nil
	}
	if isNotFound(err) {
		return n, nil
	}
	return n, err
}

// filesCollection returns the files collection at rel if it exists.
func (h *Handler) filesCollection(user string, rel []string) (storage.Collection, error) {
	c, err := h.store.Collection(user, filesColl(rel))
	if err == nil && c.Kind != dav.KindFiles {
		return c, dav.ErrNotFound
	}
	return c, err
}

// filesChildren lists the collections directly below rel.
func (h *Handler) filesChildren(user string, rel []string, all bool) ([]storage.Collection, error) {
	cols, err := h.store.Collections(user)
	if err != nil {
		return nil, err
	}
	prefix := filesDescendantPrefix(rel)
	var out []storage.Collection
	for _, c := range cols {
		if c.Kind != dav.KindFiles || !strings.HasPrefix(c.Name, prefix) || c.Name == dav.FilesCollPrefix {
			continue
		}
		if all || !strings.Contains(strings.TrimPrefix(c.Name, prefix), dav.FilesSep) {
			out = append(out, c)
		}
	}
	return out, nil
}
