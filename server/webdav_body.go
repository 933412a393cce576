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
	s.commitPutBody(w, r, p, c, true, after...)
}

// commitPutBody is commitPut for a body that may differ from the one sent:
// asSent false (the validator completed it) leaves out the ETag, which RFC 4791
// §5.3.4 and RFC 6352 §6.3.2.3 reserve for a resource stored exactly as sent, so
// that the client fetches the stored version.
func (s *Server) commitPutBody(w http.ResponseWriter, r *http.Request, p dav.Path, c storage.Change, asSent bool, after ...func()) {
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
	if asSent {
		w.Header().Set("ETag", dav.QuoteETag(res.ETag))
	}
	if c.DedupeByUID && s.dedupedPut(w, p, res) {
		return
	}
	if res.Created {
		w.WriteHeader(http.StatusCreated)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// noETag drops the ETag from an answer, for a PUT whose stored body is not
// the one sent (see commitPutBody), when another path writes the answer.
type noETag struct{ http.ResponseWriter }

func (w noETag) WriteHeader(code int) {
	w.Header().Del("ETag")
	w.ResponseWriter.WriteHeader(code)
}

func (w noETag) Write(b []byte) (int, error) {
	w.Header().Del("ETag")
	return w.ResponseWriter.Write(b)
}
