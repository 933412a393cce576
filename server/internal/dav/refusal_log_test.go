package dav

import (
	"bytes"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestRefusalLog: a refusal is logged at Info with its reason; a client
// that makes thousands is held to the burst and then the rate, while
// another address is still logged.
func TestRefusalLog(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))
	r := httptest.NewRequest("PROPFIND", "/dav/x", nil)
	r.RemoteAddr = "192.0.2.77:4242"
	for range 5000 {
		WriteError(log, httptest.NewRecorder(), r, BadRequest("hostile body number %d", 1))
	}
	lines := strings.Count(buf.String(), "request refused")
	if lines < 1 || lines > refusalBurst+2 {
		t.Fatalf("%d lines for 5000 refusals from one address, want 1..%d", lines, refusalBurst+2)
	}
	if !strings.Contains(buf.String(), "level=INFO") || !strings.Contains(buf.String(), "hostile body number 1") || !strings.Contains(buf.String(), "remote=192.0.2.77") {
		t.Fatalf("refusal line lacks level, reason or address:\n%.500s", buf.String())
	}
	buf.Reset()
	other := httptest.NewRequest("GET", "/dav/y", nil)
	other.RemoteAddr = "192.0.2.78:1"
	WriteError(log, httptest.NewRecorder(), other, ErrNotFound)
	if !strings.Contains(buf.String(), "request refused") || !strings.Contains(buf.String(), "status=404") {
		t.Fatalf("another address's refusal not logged: %q", buf.String())
	}
}
