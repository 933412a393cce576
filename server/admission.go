package server

import (
	"context"
	"errors"
	"net/http"
	"runtime"
	"strconv"
	"time"

	"github.com/pimvault/pimvault/server/internal/admit"
	"github.com/pimvault/pimvault/server/internal/dav"
)

// Admission defaults, sized from the cores: the work behind a request is
// CPU (parsing, XML, bcrypt) and bbolt reads, so more requests running at
// once than a few per core only lengthen every answer.
func defaultAdmission(c *Config) {
	n := runtime.NumCPU()
	if c.MaxRequests <= 0 {
		c.MaxRequests = 8 * n
	}
	if c.MaxRequestsPerAccount <= 0 {
		c.MaxRequestsPerAccount = max(4, c.MaxRequests/2)
	}
	if c.MaxQueue <= 0 {
		c.MaxQueue = 4 * c.MaxRequests
	}
	if c.QueueWait <= 0 {
		c.QueueWait = 2 * time.Second
	}
	if c.MaxPasswordChecks <= 0 {
		c.MaxPasswordChecks = n
	}
	if c.RequestTimeout <= 0 {
		c.RequestTimeout = DefaultRequestTimeout
	}
}

// signInWait is the longest a sign-in waits for a bcrypt slot: a few queue
// waits, so a client in a storm of new sign-ins gets an answer (503 with
// Retry-After) within seconds.
func signInWait(c Config) time.Duration {
	return 3 * c.QueueWait
}

// workPools bound the expensive classes of work, each on its own: a class
// that is busy refuses (503) without slowing the others.
type workPools struct {
	listing *admit.Gate // PROPFIND Depth 1 of a collection
	heavy   *admit.Gate // expand and free-busy reports
	body    *admit.Gate // large request bodies (PUT of big objects, files)
}

// largeBody is the request size from which a body takes a slot of the body
// pool (or a body of unknown length).
const largeBody = 256 << 10

func newWorkPools(c Config) workPools {
	n := runtime.NumCPU()
	wait := c.QueueWait
	return workPools{
		listing: admit.NewGate(admit.Config{Limit: 2 * n, Queue: 8 * n, Wait: wait}),
		heavy:   admit.NewGate(admit.Config{Limit: n, Queue: 4 * n, Wait: wait}),
		body:    admit.NewGate(admit.Config{Limit: 2 * n, Queue: 8 * n, Wait: wait}),
	}
}

// ticketKey holds the request's admission ticket in its context.
const ticketKey ctxKey = 2

// releaseTicket frees the request's admission slot before the request ends
// (a failed sign-in's deliberate wait holds none).
func releaseTicket(ctx context.Context) {
	if t, ok := ctx.Value(ticketKey).(*admit.Ticket); ok {
		t.Release()
	}
}

// isWrite reports whether a method changes state.
func isWrite(method string) bool {
	switch method {
	case "PUT", "DELETE", "PROPPATCH", "MKCOL", "MKCALENDAR", "MOVE", "COPY", "POST":
		return true
	}
	return false
}

// admission runs in front of every handler but the health check: a request
// takes a slot of the gate (signed-in clients and writes before new
// sign-ins), or waits briefly, or gets 503 with a jittered Retry-After at
// once. It also gives the request its deadline.
func (s *Server) admission(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/healthz" {
			next.ServeHTTP(w, r)
			return
		}
		if overflowConn(r.Context()) {
			w.Header().Set("Connection", "close") // an overflow connection gets one answer
			refuseBody(w, r)
			s.writeBusy(w, r, &admit.Busy{RetryAfter: 5 * time.Second, Why: "too many connections"})
			return
		}
		user, pw, ok := r.BasicAuth()
		if ok && (len(user) > maxUserNameLen || len(pw) > maxSecretLen) {
			refuseBody(w, r)
			s.writeError(w, r, &dav.Error{Status: http.StatusUnauthorized, Msg: "user name or password too long"})
			return
		}
		prio := admit.Low
		if isWrite(r.Method) || (ok && s.auth.cached(user, pw)) {
			prio = admit.High
		}
		t, err := s.gate.Acquire(r.Context(), prio, user)
		if err != nil {
			refuseBody(w, r)
			s.writeBusy(w, r, err)
			return
		}
		defer t.Release()
		// The deadlines start now, not when the headers arrived: time in
		// the queue does not count against the work or the answer.
		ctx, cancel := context.WithTimeout(r.Context(), s.cfg.RequestTimeout)
		defer cancel()
		http.NewResponseController(w).SetWriteDeadline(time.Now().Add(s.cfg.RequestTimeout + s.writeGrace()))
		r = r.WithContext(dav.WithClientAddr(context.WithValue(ctx, ticketKey, t), clientAddr(r, s.auth.trusted)))
		if (r.Method == "PUT" || r.Method == "POST") && (r.ContentLength > largeBody || r.ContentLength < 0) {
			s.withPool(w, r, s.pools.body, func() { next.ServeHTTP(w, r) })
			return
		}
		next.ServeHTTP(w, r)
	})
}

// writeBusy answers a refusal of admission: 503 with its Retry-After.
func (s *Server) writeBusy(w http.ResponseWriter, r *http.Request, err error) {
	var b *admit.Busy
	if !errors.As(err, &b) {
		s.writeError(w, r, err)
		return
	}
	dav.LogRefusal(s.log, r.WithContext(dav.WithClientAddr(r.Context(), clientAddr(r, s.auth.trusted))), http.StatusServiceUnavailable, "busy: "+b.Why)
	w.Header().Set("Retry-After", strconv.Itoa(b.Seconds()))
	http.Error(w, "the server is busy; try again after "+strconv.Itoa(b.Seconds())+" s", http.StatusServiceUnavailable)
}

// withPool runs fn holding a slot of pool, or answers 503 with Retry-After.
func (s *Server) withPool(w http.ResponseWriter, r *http.Request, pool *admit.Gate, fn func()) {
	t, err := pool.Acquire(r.Context(), admit.High, "")
	if err != nil {
		refuseBody(w, r)
		s.writeBusy(w, r, err)
		return
	}
	defer t.Release()
	fn()
}
