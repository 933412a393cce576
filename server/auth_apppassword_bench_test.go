package server

import (
	"context"
	"io"
	"net/http"
	"testing"

	"github.com/pimvault/pimvault/account"
)

// BenchmarkAppPasswordDeviceRequest: a pimvault device's PROPFIND signed in
// with an app password (one SHA-256, no bcrypt, never cached), through the
// gate that records the device and its credential (written at most hourly).
func BenchmarkAppPasswordDeviceRequest(b *testing.B) {
	e := newTestEnv(b)
	_, token, err := account.AddAppPassword(context.Background(), e.store, "alice", "bench phone")
	if err != nil {
		b.Fatal(err)
	}
	req := func() {
		r, _ := http.NewRequest("PROPFIND", e.srv.URL+"/dav/calendars/alice/", nil)
		r.SetBasicAuth("alice", token)
		r.Header.Set("Depth", "0")
		r.Header.Set(HeaderDevice, "bench-phone")
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusMultiStatus {
			b.Fatalf("PROPFIND: %d", resp.StatusCode)
		}
	}
	req()
	b.ResetTimer()
	for b.Loop() {
		req()
	}
}
