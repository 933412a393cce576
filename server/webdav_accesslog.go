package server

import (
	"context"
	"log/slog"
	"net/http"
	"time"
)

// Access log: with Config.AccessLog, one slog line per request, written when
// the handler returns: method, path, status, response bytes, duration and
// the signed-in user ("" before sign-in or when it failed).

type accessKeyType struct{}

var accessKey accessKeyType

// accessEntry is filled in while a request is served.
type accessEntry struct {
	user string
}

// accessWriter records the status and the bytes written.
type accessWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *accessWriter) WriteHeader(code int) {
	if w.status == 0 && code >= 200 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *accessWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (w *accessWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// accessLog wraps next with the access log when it is enabled.
func (s *Server) accessLog(next http.Handler) http.Handler {
	if !s.cfg.AccessLog {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		e := &accessEntry{}
		aw := &accessWriter{ResponseWriter: w}
		next.ServeHTTP(aw, r.WithContext(context.WithValue(r.Context(), accessKey, e)))
		if aw.status == 0 {
			aw.status = http.StatusOK
		}
		s.log.LogAttrs(r.Context(), slog.LevelInfo, "request",
			slog.String("method", r.Method), slog.String("path", r.URL.EscapedPath()),
			slog.Int("status", aw.status), slog.Int64("bytes", aw.bytes),
			slog.Duration("duration", time.Since(start)), slog.String("user", e.user),
			slog.String("remote", r.RemoteAddr))
	})
}

// noteAccessUser records the signed-in user for the access log line.
func noteAccessUser(r *http.Request, user string) {
	if e, ok := r.Context().Value(accessKey).(*accessEntry); ok {
		e.user = user
	}
}
