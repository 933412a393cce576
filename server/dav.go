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
	if !s.davCredentialAllowed(r) {
		s.writeError(w, r, &dav.Error{Status: http.StatusUnauthorized, Msg: "this server accepts only app passwords for CalDAV and CardDAV; make one with pimvault user app-password add or /api/app-passwords"})
		return
	}
	p, err := dav.ParsePath(r.URL.EscapedPath())
	if err != nil && (r.Method == "MKCALENDAR" || r.Method == "MKCOL") && nestedCollection(r.URL.Path) {
		// A collection inside a calendar or address book (the only deeper paths
		// these methods name): RFC 4791 §5.3.1.1 and RFC 6352 §6.3.1 preconditions.
		switch {
		case strings.HasPrefix(r.URL.Path, dav.Prefix+dav.HomeCards+"/"):
			err = dav.Forbidden(dav.NSCardDAV, "addressbook-collection-location-ok", "collections can only be created in your address book home")
		case strings.HasPrefix(r.URL.Path, dav.Prefix+dav.HomeCalendars+"/"):
			err = dav.Forbidden(dav.NSCalDAV, "calendar-collection-location-ok", "calendars can only be created in your calendar home")
		}
	}
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
	if s.serveSharing(w, r, p, user) {
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
		dav.WriteOptions(w, p)
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
		w.Header().Set("Allow", strings.Join(dav.MethodsFor(p), ", "))
		s.writeError(w, r, &dav.Error{Status: http.StatusMethodNotAllowed, Msg: r.Method + " is not supported"})
	}
}

// nestedCollection says whether path names a collection inside a calendar or
// address book (/dav/<home>/<user>/<collection>/<name>/), which pimvault does not
// have; other unparsable paths keep their own error.
func nestedCollection(path string) bool {
	segs := strings.Split(strings.Trim(strings.TrimPrefix(path, dav.Prefix), "/"), "/")
	return len(segs) == 4 && (segs[0] == dav.HomeCards || segs[0] == dav.HomeCalendars) &&
		!dav.IsFilesCollection(segs[2]) && segs[1] != "" && segs[2] != "" && segs[3] != ""
}
