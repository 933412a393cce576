package server

import (
	"net/http"
	"strings"
)

// serveDAV dispatches a signed-in request under /dav/. A user only ever sees
// their own resources: another user's path answers 404, as if it did not exist.
func (s *Server) serveDAV(w http.ResponseWriter, r *http.Request) {
	noteAccessUser(r, userFrom(r.Context()))
	p, err := DAVXParsePath(r.URL.EscapedPath())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	user := userFrom(r.Context())
	if p.User != "" && p.User != user {
		s.writeError(w, r, DAVXErrNotFound)
		return
	}
	if p.Kind == DAVXResFiles {
		s.serveFiles(w, r, p)
		return
	}
	switch r.Method {
	case "OPTIONS":
		DAVXWriteOptions(w)
	case "PROPFIND":
		s.propfind(w, r, p)
	case "PROPPATCH":
		s.proppatch(w, r, p)
	case "MKCOL":
		if p.Home == DAVXHomeCalendars {
			s.mkcalendar(w, r, p)
			return
		}
		s.mkcol(w, r, p)
	case "MKCALENDAR":
		s.mkcalendar(w, r, p)
	case "GET", "HEAD":
		s.get(w, r, p)
	case "PUT":
		s.put(w, r, p)
	case "DELETE":
		s.delete(w, r, p)
	case "MOVE", "COPY":
		s.moveCopy(w, r, p)
	case "REPORT":
		s.report(w, r, p)
	default:
		w.Header().Set("Allow", strings.Join(DAVXMethods, ", "))
		s.writeError(w, r, &DAVXError{Status: http.StatusMethodNotAllowed, Msg: r.Method + " is not supported"})
	}
}
