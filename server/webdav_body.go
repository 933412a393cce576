package server

import (
	"io"
	"net/http"
)

// readPutBody reads a PUT body of at most Config.MaxResourceSize bytes. A
// body that Content-Length says is too large is refused before anything is
// read, and one that turns out too large while reading is refused without
// being kept whole: both answer tooBig, which carries the precondition of the
// kind of resource (CardDAV's or CalDAV's max-resource-size, or 413 in the
// files area). check, when not nil, runs on the headers after the size check
// and before the read (a content-type check).
func (s *Server) readPutBody(r *http.Request, tooBig error, check func(*http.Request) error) ([]byte, error) {
	if r.ContentLength > s.cfg.MaxResourceSize {
		return nil, tooBig
	}
	if check != nil {
		if err := check(r); err != nil {
			return nil, err
		}
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, s.cfg.MaxResourceSize+1))
	if err != nil {
		return nil, badRequest("reading body: %v", err)
	}
	if int64(len(body)) > s.cfg.MaxResourceSize {
		return nil, tooBig
	}
	return body, nil
}
