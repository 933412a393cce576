// HTTP client: one shared Transport sized for the concurrency, Basic auth,
// bounded response bodies, and the loopback rule, checked on the URL given,
// on every href the server returns and again on every address dialed.

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// maxResponseBytes bounds one response body (a PROPFIND Depth 1 of a large
// book is a few tens of MiB).
const maxResponseBytes = 512 << 20

// checkLoopbackURL parses raw and refuses anything but http(s) on a loopback
// host: 127.0.0.0/8, ::1 or localhost.
func checkLoopbackURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("--url %q: %w", raw, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("--url %q: scheme must be http or https", raw)
	}
	if u.User != nil {
		return nil, fmt.Errorf("--url %q: put the account in --user and --password, not in the URL", raw)
	}
	if !isLoopbackHost(u.Hostname()) {
		return nil, fmt.Errorf("--url %q: host %q is not loopback (127.0.0.0/8, ::1, localhost); pvload only loads loopback", raw, u.Hostname())
	}
	return u, nil
}

func isLoopbackHost(h string) bool {
	if strings.EqualFold(h, "localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// dialLoopbackOnly refuses, at connect time, any address that is not
// loopback (a "localhost" that resolves elsewhere included).
func dialLoopbackOnly(network, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("refusing to connect to %s: not a loopback address", address)
	}
	return nil
}

// davClient sends DAV requests to one server as one user.
type davClient struct {
	base     *url.URL
	user, pw string
	hc       *http.Client
	tr       *http.Transport
	requests atomic.Int64

	mu     sync.Mutex
	server string // the Server header, when there is one
}

func newDAVClient(rawURL, user, password string, concurrency int, reqTimeout time.Duration) (*davClient, error) {
	base, err := checkLoopbackURL(rawURL)
	if err != nil {
		return nil, err
	}
	base.Path, base.RawPath, base.RawQuery, base.Fragment = "", "", "", ""
	dialer := &net.Dialer{Timeout: 5 * time.Second, Control: dialLoopbackOnly}
	tr := &http.Transport{
		Proxy:               nil, // never through a proxy: straight to the loopback address
		DialContext:         dialer.DialContext,
		MaxIdleConns:        2 * (concurrency + 2),
		MaxIdleConnsPerHost: 2 * (concurrency + 2),
		MaxConnsPerHost:     2 * (concurrency + 2),
		IdleConnTimeout:     90 * time.Second,
		TLSHandshakeTimeout: 5 * time.Second,
	}
	hc := &http.Client{
		Transport: tr,
		Timeout:   reqTimeout,
		// A redirect is reported as such, never followed: pvload talks only
		// to the paths it chose on the URL it was given.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return &davClient{base: base, user: user, pw: password, hc: hc, tr: tr}, nil
}

func (c *davClient) close() { c.tr.CloseIdleConnections() }

func (c *davClient) serverHeader() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.server
}

// resolve turns a path or an href from a response into a URL on the base
// server, refusing anything on another scheme, host or port.
func (c *davClient) resolve(ref string) (*url.URL, error) {
	r, err := url.Parse(ref)
	if err != nil {
		return nil, fmt.Errorf("href %q: %w", ref, err)
	}
	u := c.base.ResolveReference(r)
	if u.Scheme != c.base.Scheme || u.Host != c.base.Host {
		return nil, fmt.Errorf("href %q points off the server under test (%s)", ref, c.base.Host)
	}
	return u, nil
}

// hrefPath returns the escaped path an href names, on the base server.
func (c *davClient) hrefPath(href string) (string, error) {
	u, err := c.resolve(strings.TrimSpace(href))
	if err != nil {
		return "", err
	}
	return u.EscapedPath(), nil
}

// response is a fully read response.
type response struct {
	status int
	header http.Header
	body   []byte
	dur    time.Duration // from sending to the last byte of the body
}

// do sends one request and reads the whole response. It fails unless the
// status is one of want (when want is given).
func (c *davClient) do(ctx context.Context, method, path string, hdr map[string]string, body []byte, want ...int) (*response, error) {
	u, err := c.resolve(path)
	if err != nil {
		return nil, err
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), rd)
	if err != nil {
		return nil, err
	}
	req.SetBasicAuth(c.user, c.pw)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	c.requests.Add(1)
	start := time.Now()
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	dur := time.Since(start)
	if err != nil {
		return nil, fmt.Errorf("%s %s: reading response: %w", method, path, err)
	}
	if len(b) > maxResponseBytes {
		return nil, fmt.Errorf("%s %s: response over %d bytes", method, path, maxResponseBytes)
	}
	if s := resp.Header.Get("Server"); s != "" {
		c.mu.Lock()
		c.server = s
		c.mu.Unlock()
	}
	r := &response{status: resp.StatusCode, header: resp.Header, body: b, dur: dur}
	if len(want) > 0 && !containsInt(want, r.status) {
		return r, &statusError{method: method, path: path, got: r.status, want: want, body: b, retryAfter: resp.Header.Get("Retry-After")}
	}
	return r, nil
}

// statusError is a response with a status the scenario did not expect.
type statusError struct {
	method, path string
	got          int
	want         []int
	body         []byte
	retryAfter   string
}

func (e *statusError) Error() string {
	msg := strings.TrimSpace(string(e.body))
	if len(msg) > 300 {
		msg = msg[:300] + "…"
	}
	extra := ""
	if e.retryAfter != "" {
		extra = " (Retry-After: " + e.retryAfter + ")"
	}
	return fmt.Sprintf("%s %s: status %d, want %v%s: %s", e.method, e.path, e.got, e.want, extra, msg)
}

func isStatus(err error, code int) bool {
	var se *statusError
	return errors.As(err, &se) && se.got == code
}

func containsInt(xs []int, x int) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}
