package server

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults of the HTTP bounds (serve's flags change them).
const (
	// DefaultRequestTimeout is the deadline of a request's context: work for
	// it (listings, reports, recurrence) stops at its next check.
	DefaultRequestTimeout = time.Minute
	// DefaultReadTimeout bounds reading one request, headers and body: a
	// slow sender is cut off.
	DefaultReadTimeout = 2 * time.Minute
	// writeGrace is the time past the request deadline a response has to be
	// written: a client that does not read is cut off.
	writeGrace = 30 * time.Second
	// maxHeaderBytes bounds a request's headers: DAV needs room for If,
	// If-Match lists and long paths, not for megabytes.
	maxHeaderBytes = 64 << 10
	// overflowDeadline is all a connection beyond the cap gets: one answer,
	// 503 or a health check, then it is closed.
	overflowDeadline = 5 * time.Second
)

// writeGrace is the time past the request deadline a response has to be
// written: writeGrace, or the request timeout itself when that is shorter.
func (s *Server) writeGrace() time.Duration {
	return min(writeGrace, s.cfg.RequestTimeout)
}

// HTTPServer returns an http.Server for s's handler with the read, write
// and header bounds, for a listener from LimitListener.
func (s *Server) HTTPServer() *http.Server { return NewHTTPServer(s.cfg, s.Handler()) }

// NewHTTPServer returns an http.Server for h with the bounds of cfg (its
// defaults filled in), for a listener from LimitListener. serve builds it
// before the store is open, so that health checks answer while the journal
// replays, and puts s's handler behind it once the store is open.
func NewHTTPServer(cfg Config, h http.Handler) *http.Server {
	cfg = cfg.withDefaults()
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       cfg.ReadTimeout,
		WriteTimeout:      cfg.RequestTimeout + min(writeGrace, cfg.RequestTimeout),
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    maxHeaderBytes,
		ConnContext:       markOverflow,
		ErrorLog:          nil,
	}
}

// LimitListener caps the connections open at once at max. Up to reserve
// more are accepted as overflow connections: they get one answer within a
// few seconds (a health check is served, anything else is 503 with
// Retry-After) and are closed. Beyond that a connection is closed at once,
// so the listen queue never fills and file descriptors never run out.
func LimitListener(ln net.Listener, max, reserve int) net.Listener {
	return &limitListener{Listener: ln, max: int64(max), reserve: int64(reserve)}
}

type limitListener struct {
	net.Listener
	max, reserve int64
	open         atomic.Int64

	mu        sync.Mutex
	overflows []*limitedConn // open overflow connections, oldest first
}

// evictOldest closes the oldest overflow connection to make room for a new
// one: every overflow connection is about to be closed anyway, and the
// newest is the likeliest to be a health check that sends at once. It
// reports false when there is none.
func (l *limitListener) evictOldest() bool {
	l.mu.Lock()
	if len(l.overflows) == 0 {
		l.mu.Unlock()
		return false
	}
	old := l.overflows[0]
	l.overflows = l.overflows[1:]
	l.mu.Unlock()
	old.Close()
	return true
}

func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		n := l.open.Add(1)
		if n > l.max+l.reserve && !l.evictOldest() {
			l.open.Add(-1)
			c.Close()
			continue
		}
		lc := &limitedConn{Conn: c, l: l}
		if n > l.max {
			lc.overflow = time.Now().Add(overflowDeadline)
			c.SetDeadline(lc.overflow)
			l.mu.Lock()
			l.overflows = append(l.overflows, lc)
			l.mu.Unlock()
		}
		return lc, nil
	}
}

// Open returns the connections open now (tests).
func (l *limitListener) Open() int64 { return l.open.Load() }

type limitedConn struct {
	net.Conn
	l        *limitListener
	overflow time.Time // zero: a normal connection
	closed   atomic.Bool
}

func (c *limitedConn) Close() error {
	if c.closed.CompareAndSwap(false, true) {
		c.l.open.Add(-1)
		if !c.overflow.IsZero() {
			c.l.mu.Lock()
			for i, x := range c.l.overflows {
				if x == c {
					c.l.overflows = append(c.l.overflows[:i], c.l.overflows[i+1:]...)
					break
				}
			}
			c.l.mu.Unlock()
		}
	}
	return c.Conn.Close()
}

// An overflow connection's deadlines never go past its first one.
func (c *limitedConn) clamp(t time.Time) time.Time {
	if !c.overflow.IsZero() && (t.IsZero() || t.After(c.overflow)) {
		return c.overflow
	}
	return t
}

func (c *limitedConn) SetDeadline(t time.Time) error { return c.Conn.SetDeadline(c.clamp(t)) }
func (c *limitedConn) SetReadDeadline(t time.Time) error {
	return c.Conn.SetReadDeadline(c.clamp(t))
}
func (c *limitedConn) SetWriteDeadline(t time.Time) error {
	return c.Conn.SetWriteDeadline(c.clamp(t))
}

const overflowKey ctxKey = 3

func markOverflow(ctx context.Context, c net.Conn) context.Context {
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn()
	}
	if lc, ok := c.(*limitedConn); ok && !lc.overflow.IsZero() {
		return context.WithValue(ctx, overflowKey, true)
	}
	return ctx
}

// overflowConn reports whether the request came on a connection beyond
// the cap.
func overflowConn(ctx context.Context) bool {
	v, _ := ctx.Value(overflowKey).(bool)
	return v
}
