package server

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// clientAddr returns the address a request comes from: the peer, or, when
// the peer is one of the trusted proxies, the nearest address before it in
// Forwarded (RFC 7239) or X-Forwarded-For that is not itself a trusted
// proxy. Headers from any other peer are ignored: anyone can send them.
func clientAddr(r *http.Request, trusted []netip.Prefix) string {
	peer := peerAddr(r.RemoteAddr)
	if !peer.IsValid() {
		return r.RemoteAddr
	}
	if !inPrefixes(peer, trusted) {
		return peer.String()
	}
	chain := forwardedFor(r.Header)
	for i := len(chain) - 1; i >= 0; i-- {
		a := chain[i]
		if !a.IsValid() {
			break // an unknown or obfuscated hop: the proxy before it is not ours to trust
		}
		if !inPrefixes(a, trusted) {
			return a.String()
		}
	}
	return peer.String()
}

func peerAddr(remote string) netip.Addr {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap()
}

func inPrefixes(a netip.Addr, ps []netip.Prefix) bool {
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// forwardedFor returns the client chain, nearest last: from Forwarded's
// for= parameters when the header is present, otherwise from
// X-Forwarded-For. An element that is not an address is the zero Addr.
func forwardedFor(h http.Header) []netip.Addr {
	var out []netip.Addr
	if fw := h.Values("Forwarded"); len(fw) > 0 {
		for _, line := range fw {
			for _, elem := range strings.Split(line, ",") {
				for _, pair := range strings.Split(elem, ";") {
					k, v, ok := strings.Cut(strings.TrimSpace(pair), "=")
					if ok && strings.EqualFold(k, "for") {
						out = append(out, parseForwardedNode(v))
					}
				}
			}
		}
		return out
	}
	for _, line := range h.Values("X-Forwarded-For") {
		for _, part := range strings.Split(line, ",") {
			out = append(out, parseForwardedNode(strings.TrimSpace(part)))
		}
	}
	return out
}

// parseForwardedNode reads a node: 192.0.2.1, "192.0.2.1:80",
// "[2001:db8::1]:80", [2001:db8::1].
func parseForwardedNode(v string) netip.Addr {
	v = strings.Trim(strings.TrimSpace(v), `"`)
	if strings.HasPrefix(v, "[") {
		if i := strings.Index(v, "]"); i > 0 {
			v = v[1:i]
		}
	} else if strings.Count(v, ":") == 1 {
		v, _, _ = strings.Cut(v, ":")
	}
	a, err := netip.ParseAddr(v)
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap()
}
