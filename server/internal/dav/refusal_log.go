package dav

import (
	"log/slog"
	"net"
	"net/http"
	"time"
)

// Refusals (a 4xx, or a 503 the server chose) are logged at Info with their
// reason, so an admin can see why a client is turned away. A hostile
// client can make one refusal per request, so the lines are rate-limited
// per client address: a burst of refusalBurst, then one per refusalEvery;
// the first line let through after some were held back says how many.
const (
	refusalEvery   = 2 * time.Second
	refusalBurst   = 20
	refusalMaxKeys = 10000
)

var (
	refusals     = NewKeyedLimiter(refusalEvery, refusalBurst, refusalMaxKeys)
	refusalsHeld = map[string]int{} // per address, under refusals.mu
)

// LogRefusal logs a refused request at Info, rate-limited per client
// address (r.RemoteAddr without the port).
func LogRefusal(log *slog.Logger, r *http.Request, status int, reason string) {
	if log == nil || !log.Enabled(r.Context(), slog.LevelInfo) {
		return
	}
	addr := clientAddr(r)
	if !refusals.Allow(addr) {
		refusals.mu.Lock()
		if len(refusalsHeld) >= refusalMaxKeys {
			clear(refusalsHeld)
		}
		refusalsHeld[addr]++
		refusals.mu.Unlock()
		return
	}
	refusals.mu.Lock()
	held := refusalsHeld[addr]
	delete(refusalsHeld, addr)
	refusals.mu.Unlock()
	attrs := []any{"status", status, "method", r.Method, "path", r.URL.Path, "remote", addr, "reason", reason}
	if held > 0 {
		attrs = append(attrs, "suppressed", held)
	}
	log.Info("request refused", attrs...)
}

func clientAddr(r *http.Request) string {
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return r.RemoteAddr
}
