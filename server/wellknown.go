package server

import (
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"

	"github.com/pimvault/pimvault/server/internal/dav"
)

// RFC 6764 §5: /.well-known/caldav and /.well-known/carddav redirect to the
// context path (under the base path, if any), with or without a trailing
// slash, for any method and without sign-in (the client signs in at the
// target). The Location is a path, so it resolves against whatever scheme and
// host the client used, a reverse proxy's included; the exception is a
// request that came in plain text, straight from the client, to a server that
// also listens for TLS (Config.TLSPort): it is sent to the same path over
// https on that port, so the password that follows travels encrypted.
func (s *Server) wellKnownRedirect(w http.ResponseWriter, r *http.Request) {
	if u := s.tlsUpgrade(r); u != "" {
		http.Redirect(w, r, u+dav.Prefix, http.StatusMovedPermanently)
		return
	}
	http.Redirect(w, r, dav.Prefix, http.StatusMovedPermanently)
}

// tlsUpgrade returns "https://host:port" for a request that should move to
// this server's TLS listener, or "". A request through a trusted proxy stays
// where it is: the proxy decides the scheme the client sees.
func (s *Server) tlsUpgrade(r *http.Request) string {
	if s.cfg.TLSPort == 0 || r.TLS != nil {
		return ""
	}
	if p := peerAddr(r.RemoteAddr); p.IsValid() && inPrefixes(p, s.cfg.TrustedProxies) {
		return ""
	}
	host := r.Host
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	// The Host header is the client's: only a plain name or address goes
	// into the Location.
	if host == "" || strings.ContainsAny(host, "/?#@\\ \t\r\n") {
		return ""
	}
	return "https://" + net.JoinHostPort(strings.Trim(host, "[]"), strconv.Itoa(s.cfg.TLSPort))
}

// wellKnownRoot answers /.well-known/ itself (RFC 8615 defines only its
// members): GET and HEAD list the two members this server has, PROPFIND shows
// a plain collection, so that a client probing the folder gets an answer rather
// than 404. It reveals nothing about accounts and needs no sign-in.
func (s *Server) wellKnownRoot(w http.ResponseWriter, r *http.Request) {
	const list = "caldav\ncarddav\n"
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Content-Length", strconv.Itoa(len(list)))
		if r.Method == http.MethodGet {
			io.WriteString(w, list)
		}
	case "PROPFIND":
		_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, 64<<10))
		body := `<?xml version="1.0" encoding="utf-8"?>` + "\n" +
			`<D:multistatus xmlns:D="DAV:"><D:response><D:href>` + dav.XMLEscape(r.URL.Path) + `</D:href><D:propstat><D:prop>` +
			`<D:resourcetype><D:collection/></D:resourcetype></D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat></D:response></D:multistatus>`
		w.Header().Set("Content-Type", "application/xml; charset=utf-8")
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(http.StatusMultiStatus)
		io.WriteString(w, body)
	case http.MethodOptions:
		w.Header().Set("Allow", "OPTIONS, GET, HEAD, PROPFIND")
	default:
		w.Header().Set("Allow", "OPTIONS, GET, HEAD, PROPFIND")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}
