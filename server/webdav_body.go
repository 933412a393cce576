package server

import (
	"net/http"

	"github.com/pimvault/pimvault/server/internal/dav"
	"github.com/pimvault/pimvault/storage"
)

// readPutBody reads a PUT body of at most Config.MaxResourceSize bytes. A
// body that Content-Length says is too large is refused before anything is
// read, and one that turns out too large while reading is refused without
// being kept whole: both answer tooBig, which carries the precondition of the
// kind of resource (CardDAV's or CalDAV's max-resource-size, or 413 in the
// files area). check, when not nil, runs on the headers after the size check
// and before the read (a content-type check).
func (s *Server) readPutBody(r *http.Request, tooBig error, check func(*http.Request) error) ([]byte, error) {
	return dav.ReadBody(r, s.cfg.MaxResourceSize, tooBig, check)
}

// actorOf is the signed-in user when they write another account's data (a
// sharee), for the journal and history; "" for the owner.
func actorOf(r *http.Request, p dav.Path) string {
	if u := userFrom(r.Context()); u != p.User {
		return u
	}
	return ""
}

// commitPut commits a validated vCard or calendar object PUT and answers it:
// the request's If-Match / If-None-Match become preconditions checked inside
// the storage write, a device's If-None-Match: * upload is deduplicated by
// UID and body (a recovering device re-uploads what it holds), and the
// answer is 201 or 204 with
// the ETag (200 for a deduplicated upload). after, if any, runs once the
// change is committed and before the answer (follow-up writes such as the
// birthday calendar's).
func (s *Server) commitPut(w http.ResponseWriter, r *http.Request, p dav.Path, c storage.Change, after ...func()) {
	if err := dav.SetConditionals(&c, r); err != nil {
		s.writeError(w, r, err)
		return
	}
	c.DedupeByUID = c.IfNoneMatch && deviceOf(r) != ""
	c.Actor = actorOf(r, p)
	res, err := s.store.Commit(r.Context(), c)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	for _, fn := range after {
		fn()
	}
	w.Header().Set("ETag", dav.QuoteETag(res.ETag))
	if c.DedupeByUID && s.dedupedPut(w, p, res) {
		return
	}
	if res.Created {
		w.WriteHeader(http.StatusCreated)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
