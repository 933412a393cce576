package dav

import (
	"io"
	"net/http"
)

// ReadBody reads a request body of at most max bytes: one that
// Content-Length says is larger is refused before anything is read, one
// that turns out larger while reading is refused without being kept whole;
// both answer tooBig. check, when not nil, runs on the headers after the size
// check and before the read.
func ReadBody(r *http.Request, max int64, tooBig error, check func(*http.Request) error) ([]byte, error) {
	if r.ContentLength > max {
		return nil, tooBig
	}
	if check != nil {
		if err := check(r); err != nil {
			return nil, err
		}
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, max+1))
	if err != nil {
		return nil, BadRequest("reading body: %v", err)
	}
	if int64(len(body)) > max {
		return nil, tooBig
	}
	return body, nil
}
