package dav

import (
	"context"
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
// address (WithClientAddr's, else r.RemoteAddr without the port). status 0 is a request served
// with part of it refused (a device that is not recorded).
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
	attrs := []any{"method", r.Method, "path", r.URL.Path, "remote", addr, "reason", reason}
	if status != 0 { // 0: the request is served; only part of it was refused
		attrs = append([]any{"status", status}, attrs...)
	}
	if held > 0 {
		attrs = append(attrs, "suppressed", held)
	}
	log.Info("request refused", attrs...)
}

type clientAddrKey struct{}

// WithClientAddr records the client address the server determined for a
// request (the peer, or the client behind a trusted proxy); the refusal log
// keys its limit by it.
func WithClientAddr(ctx context.Context, addr string) context.Context {
	return context.WithValue(ctx, clientAddrKey{}, addr)
}

func clientAddr(r *http.Request) string {
	if a, ok := r.Context().Value(clientAddrKey{}).(string); ok && a != "" {
		return a
	}
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return r.RemoteAddr
}
