package server

import (
	"net/http/httptest"
	"net/netip"
	"testing"
)

// FuzzClientAddr: any Forwarded / X-Forwarded-For from a trusted peer
// yields the peer or a valid address that is not a trusted proxy, and
// from an untrusted peer always the peer.
func FuzzClientAddr(f *testing.F) {
	f.Add("10.0.0.1:4", `for="[2001:db8::1]:80";by=x, for=10.0.0.2`, "")
	f.Add("10.0.0.1:4", "", "192.0.2.1, 10.9.9.9")
	f.Add("192.0.2.9:1", "for=198.51.100.1", "198.51.100.2")
	f.Add("[::1]:1", `for="_hidden"`, "unknown,,")
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	f.Fuzz(func(t *testing.T, peer, fwd, xff string) {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = peer
		if fwd != "" {
			r.Header.Set("Forwarded", fwd)
		}
		if xff != "" {
			r.Header.Set("X-Forwarded-For", xff)
		}
		got := clientAddr(r, trusted)
		p := peerAddr(peer)
		if !p.IsValid() {
			if got != peer {
				t.Fatalf("invalid peer %q: got %q", peer, got)
			}
			return
		}
		if !inPrefixes(p, trusted) {
			if got != p.String() {
				t.Fatalf("untrusted peer %q: got %q", peer, got)
			}
			return
		}
		a, err := netip.ParseAddr(got)
		if err != nil {
			t.Fatalf("trusted peer %q: %q is not an address", peer, got)
		}
		if a != p && inPrefixes(a, trusted) {
			t.Fatalf("trusted peer %q: the client %s is a trusted proxy", peer, a)
		}
	})
}
