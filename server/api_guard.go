package server

import (
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/pimvault/pimvault/server/internal/dav"
)

// apiGuard keeps browsers of other sites away from the JSON API. A browser
// that holds a user's Basic credentials sends them with any request a page
// of another site makes; a form or a "simple" fetch can POST there, but
// only with a text/plain, form or multipart body, and it says where it
// comes from (Origin, Sec-Fetch-Site). A state-changing request (anything
// but GET, HEAD, OPTIONS) is therefore refused with 403, before it is read,
// when it comes from another site by either header, and with 415 unless its
// body is declared application/json (which a cross-site page cannot send
// without a CORS preflight that this server never grants). Command-line
// clients send neither header and are unaffected.
func (s *Server) apiGuard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
			next.ServeHTTP(w, r)
			return
		}
		if err := checkSameOrigin(r); err != nil {
			s.writeAPIError(w, r, err)
			return
		}
		mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if err != nil || mt != "application/json" {
			s.writeAPIError(w, r, &dav.Error{Status: http.StatusUnsupportedMediaType, Msg: "the API takes a JSON body with Content-Type: application/json"})
			return
		}
		next.ServeHTTP(w, r)
	})
}

// checkSameOrigin refuses a request a browser marks as coming from another
// site: Sec-Fetch-Site other than same-origin or none (typed by the user),
// or an Origin other than this server's.
func checkSameOrigin(r *http.Request) error {
	switch site := r.Header.Get("Sec-Fetch-Site"); site {
	case "", "same-origin", "none":
	default:
		return &dav.Error{Status: http.StatusForbidden, Msg: "cross-site request refused (Sec-Fetch-Site: " + site + ")"}
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		return nil
	}
	u, err := url.Parse(origin)
	if origin == "null" || err != nil || u.Host == "" || !strings.EqualFold(dav.OriginOf(u.Scheme, u.Host), dav.RequestOrigin(r)) {
		return &dav.Error{Status: http.StatusForbidden, Msg: "cross-origin request refused (Origin: " + origin + ")"}
	}
	return nil
}
