package main

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
)

// trusting returns a pool that trusts the certificate in certFile.
func trusting(t *testing.T, certFile string) *x509.CertPool {
	t.Helper()
	b, err := os.ReadFile(certFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		t.Fatalf("%s holds no certificate", certFile)
	}
	return pool
}

// serve --tls-addr: plain HTTP on --addr, HTTPS beside it. Discovery over
// plain HTTP is sent to HTTPS (the same path, the TLS port); everything else
// on the plain port answers as before; the HTTPS port serves the DAV tree; a
// request through a trusted proxy keeps the relative redirect.
func TestServeTLSBesidePlain(t *testing.T) {
	certFile, keyFile := selfSignedCert(t)
	pool := trusting(t, certFile)
	rs := startServer(t, t.TempDir(), "--tls-addr", "127.0.0.1:0", "--tls-cert", certFile, "--tls-key", keyFile)
	m := regexp.MustCompile(`tls_addr=(\S+)`).FindStringSubmatch(rs.stderr.String())
	if m == nil {
		t.Fatalf("no tls_addr in the log:\n%s", rs.stderr.String())
	}
	tlsAddr := m[1]
	_, tlsPort, _ := net.SplitHostPort(tlsAddr)
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, p := range []string{"/.well-known/caldav", "/.well-known/carddav/"} {
		resp, err := noFollow.Get(rs.url + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if want := "https://127.0.0.1:" + tlsPort + "/dav/"; resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != want {
			t.Errorf("GET %s over HTTP: %d Location %q, want 301 %q", p, resp.StatusCode, resp.Header.Get("Location"), want)
		}
	}
	// A Host header that is no plain name gets the relative redirect.
	req, _ := http.NewRequest("GET", rs.url+"/.well-known/caldav", nil)
	req.Host = "evil.example@x"
	resp, err := noFollow.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); loc != "/dav/" {
		t.Errorf("odd Host: Location %q, want /dav/", loc)
	}
	// The plain port still serves the DAV tree (401 without credentials).
	resp, err = noFollow.Get(rs.url + "/dav/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("GET /dav/ over HTTP: %d, want 401", resp.StatusCode)
	}
	// Following the redirect lands on the HTTPS listener, which serves
	// (Go's client follows a 301 with a GET, and sends the credentials on
	// because the host stays the same).
	tlsClient := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	req, _ = http.NewRequest("GET", rs.url+"/.well-known/caldav", nil)
	req.SetBasicAuth("admin", rs.password)
	resp, err = tlsClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Request.URL.Scheme != "https" || resp.Request.URL.Path != "/dav/" {
		t.Errorf("GET through the redirect: %d at %s, want 200 at https …/dav/", resp.StatusCode, resp.Request.URL)
	}
	req, _ = http.NewRequest("PROPFIND", "https://"+tlsAddr+"/dav/", strings.NewReader(""))
	req.Header.Set("Depth", "0")
	req.SetBasicAuth("admin", rs.password)
	if resp, err = tlsClient.Do(req); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMultiStatus {
		t.Errorf("PROPFIND over HTTPS: %d, want 207", resp.StatusCode)
	}
	// Discovery over HTTPS redirects within HTTPS (a relative Location).
	resp, err = (&http.Client{Transport: tlsClient.Transport, CheckRedirect: noFollow.CheckRedirect}).Get("https://" + tlsAddr + "/.well-known/carddav")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); loc != "/dav/" {
		t.Errorf("discovery over HTTPS: Location %q, want /dav/", loc)
	}
	rs.stop(t)

	// Behind a trusted proxy the proxy decides the scheme: relative.
	rs = startServer(t, t.TempDir(), "--tls-addr", "127.0.0.1:0", "--tls-cert", certFile, "--tls-key", keyFile, "--trusted-proxy", "127.0.0.1/32")
	resp, err = noFollow.Get(rs.url + "/.well-known/caldav")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); loc != "/dav/" {
		t.Errorf("through a trusted proxy: Location %q, want /dav/", loc)
	}
	rs.stop(t)

	// --tls-addr alone is refused with the reason.
	res := pimvault(t, "serve", "--init", "--data", t.TempDir(), "--tls-addr", "127.0.0.1:0")
	if res.code == 0 || !strings.Contains(res.stderr, "--tls-addr needs --tls-cert and --tls-key") {
		t.Errorf("--tls-addr without a certificate: %s", res)
	}
}
