package server

import (
	"net/http"
	"strings"
)

// davMethods are the methods served under /dav/, as advertised in Allow.
var davMethods = []string{"OPTIONS", "GET", "HEAD", "PUT", "DELETE", "PROPFIND", "PROPPATCH", "MKCOL", "MKCALENDAR", "MOVE", "COPY", "REPORT"}

// serveDAV dispatches a signed-in request under /dav/. A user only ever sees
// their own resources: another user's path answers 404, as if it did not exist.
func (s *Server) serveDAV(w http.ResponseWriter, r *http.Request) {
	noteAccessUser(r, userFrom(r.Context()))
	p, err := parseDAVPath(r.URL.EscapedPath())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	user := userFrom(r.Context())
	if p.user != "" && p.user != user {
		s.writeError(w, r, errNotFound)
		return
	}
	if p.kind == resFiles {
		s.serveFiles(w, r, p)
		return
	}
	switch r.Method {
	case "OPTIONS":
		writeOptions(w)
	case "PROPFIND":
		s.propfind(w, r, p)
	case "PROPPATCH":
		s.proppatch(w, r, p)
	case "MKCOL":
		if p.home == homeCalendars {
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
		w.Header().Set("Allow", strings.Join(davMethods, ", "))
		s.writeError(w, r, &DAVXError{Status: http.StatusMethodNotAllowed, msg: r.Method + " is not supported"})
	}
}

// options advertises exactly what is implemented: WebDAV class 1 and 3 (no
// locks), CardDAV, CalDAV, extended MKCOL.
func writeOptions(w http.ResponseWriter) {
	w.Header().Set("DAV", "1, 3, addressbook, calendar-access, extended-mkcol")
	w.Header().Set("Allow", strings.Join(davMethods, ", "))
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusOK)
}
