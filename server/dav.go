package server

import (
	"net/http"
	"strings"

	"github.com/pimvault/pimvault/server/internal/dav"
)

// serveDAV dispatches a signed-in request under /dav/. A user sees their own
// resources and the collections others share with them (admitShared);
// another user's path answers 404 otherwise, as if it did not exist.
func (s *Server) serveDAV(w http.ResponseWriter, r *http.Request) {
	noteAccessUser(r, userFrom(r.Context()))
	p, err := dav.ParsePath(r.URL.EscapedPath())
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	user := userFrom(r.Context())
	if p.User != "" && p.User != user && (p.Kind == dav.ResFiles || !s.admitShared(w, r, p, user)) {
		if p.Kind == dav.ResFiles {
			s.writeError(w, r, dav.ErrNotFound)
		}
		return
	}
	if p.Kind == dav.ResFiles {
		s.files.Serve(w, r, p)
		return
	}
	if p.Home == dav.HomeCalendars && (p.Collection == inboxName || p.Collection == outboxName) {
		if err := s.ensureScheduling(r.Context(), user); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	switch r.Method {
	case "OPTIONS":
		dav.WriteOptions(w)
	case "PROPFIND":
		if p.Kind == dav.ResCollection && r.Header.Get("Depth") != "0" {
			// A listing of every member: its own pool (a Depth other
			// than 0 and 1 is refused inside).
			s.withPool(w, r, s.pools.listing, func() { s.propfind(w, r, p) })
			return
		}
		s.propfind(w, r, p)
	case "PROPPATCH":
		s.proppatch(w, r, p)
	case "MKCOL":
		if p.Home == dav.HomeCalendars {
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
	case "POST":
		s.post(w, r, p)
	case "DELETE":
		s.delete(w, r, p)
	case "MOVE", "COPY":
		s.moveCopy(w, r, p)
	case "REPORT":
		s.report(w, r, p)
	default:
		w.Header().Set("Allow", strings.Join(dav.Methods, ", "))
		s.writeError(w, r, &dav.Error{Status: http.StatusMethodNotAllowed, Msg: r.Method + " is not supported"})
	}
}
