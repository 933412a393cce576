package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The HTTP bounds of a real `pimvault serve`, seen from the network: each
// test here fails on a server without them (no read or write deadline,
// no connection cap, 1 MB headers, a body drained after a 401).

// startServerLimited is startServer with the child's file-descriptor limit
// set to nofile (hard and soft), through the shell's ulimit.
func startServerLimited(t *testing.T, dir string, nofile int, extra ...string) *runningServer {
	t.Helper()
	args := append([]string{"-c", fmt.Sprintf(`ulimit -n %d && exec "$0" "$@"`, nofile), pimvaultBin,
		"serve", "--init", "--addr", "127.0.0.1:0", "--data", dir, "--access-log=false"}, extra...)
	return startServerCmd(t, exec.Command("sh", args...))
}

// procKiB reads a VmXXX field of /proc/<pid>/status.
func procKiB(t *testing.T, pid int, field string) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(field + `:\s+(\d+) kB`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("no %s in /proc/%d/status", field, pid)
	}
	n, _ := strconv.ParseInt(string(m[1]), 10, 64)
	return n
}

func hostOf(t *testing.T, rs *runningServer) string {
	return strings.TrimPrefix(rs.url, "http://")
}

// healthzWithin asks /healthz on a new connection and fails unless it
// answers 200 within d.
func healthzWithin(t *testing.T, rs *runningServer, d time.Duration) {
	t.Helper()
	c := &http.Client{Timeout: d, Transport: &http.Transport{DisableKeepAlives: true}}
	start := time.Now()
	resp, err := c.Get(rs.url + "/healthz")
	if err != nil {
		t.Fatalf("health check: %v after %v", err, time.Since(start))
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("health check: %d", resp.StatusCode)
	}
}

// 300 sign-ins with 600 KB user names: the child's peak memory (VmHWM)
// grows by less than 64 MiB (the old server grew by about 350 MB: a
// limiter entry per name, and 1 MB headers).
func TestLongUserNamesBoundedMemory(t *testing.T) {
	skipIfShort(t, "300 requests with 600 KB headers against a child server")
	rs := startServer(t, t.TempDir(), "--access-log=false")
	pid := rs.cmd.Process.Pid
	healthzWithin(t, rs, 10*time.Second)
	before := procKiB(t, pid, "VmHWM")
	name := strings.Repeat("u", 600<<10)
	tr := &http.Transport{MaxIdleConnsPerHost: 30}
	defer tr.CloseIdleConnections()
	var wg sync.WaitGroup
	statuses := make(chan int, 300)
	for w := 0; w < 30; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; i < 300; i += 30 {
				req, _ := http.NewRequest("PROPFIND", rs.url+"/dav/", nil)
				req.SetBasicAuth(name+strconv.Itoa(i), "password")
				resp, err := tr.RoundTrip(req)
				if err != nil {
					continue // the server may close a connection whose header it refused
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				statuses <- resp.StatusCode
			}
		}(w)
	}
	wg.Wait()
	close(statuses)
	for st := range statuses {
		if st != http.StatusRequestHeaderFieldsTooLarge && st != http.StatusUnauthorized && st != http.StatusTooManyRequests {
			t.Fatalf("600 KB user name: %d", st)
		}
	}
	after := procKiB(t, pid, "VmHWM")
	if grew := after - before; grew > 64<<10 {
		t.Fatalf("VmHWM grew by %d KiB (from %d to %d) over 300 long names", grew, before, after)
	}
	t.Logf("VmHWM %d -> %d KiB", before, after)
}

// Connections that never send a request, far more than the child has file
// descriptors for: the health check still answers, and a client that
// signs in gets an answer (2xx or 503 with Retry-After), not a timeout.
func TestIdleConnectionsDoNotExhaustDescriptors(t *testing.T) {
	skipIfShort(t, "hundreds of idle connections against a child server with 256 descriptors")
	rs := startServerLimited(t, t.TempDir(), 256)
	healthzWithin(t, rs, 10*time.Second)
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i := 0; i < 600; i++ {
		c, err := net.DialTimeout("tcp", hostOf(t, rs), 2*time.Second)
		if err != nil {
			continue // a full listen queue on the old server
		}
		conns = append(conns, c)
	}
	time.Sleep(500 * time.Millisecond)
	for i := 0; i < 3; i++ {
		healthzWithin(t, rs, 5*time.Second)
	}
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	req, _ := http.NewRequest("PROPFIND", rs.url+"/dav/", nil)
	req.SetBasicAuth("admin", rs.password)
	req.Header.Set("Depth", "0")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("a signed-in client among idle connections: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMultiStatus && !(resp.StatusCode == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") != "") {
		t.Fatalf("a signed-in client among idle connections: %d", resp.StatusCode)
	}
	if strings.Contains(rs.stderr.String(), "too many open files") {
		t.Fatalf("the server ran out of descriptors:\n%s", rs.stderr.String())
	}
}

// rawRequest writes head (and the start of a body) on a new connection.
func rawRequest(t *testing.T, rs *runningServer, head string) net.Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", hostOf(t, rs), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := io.WriteString(c, head); err != nil {
		t.Fatal(err)
	}
	return c
}

// closedWithin reads c until the server closes it, and fails unless that
// happens within d.
func closedWithin(t *testing.T, c net.Conn, d time.Duration, what string) {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(d))
	_, err := io.Copy(io.Discard, c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("%s: the connection was still open after %v", what, d)
	}
}

// A 401 does not read the rest of the body: the server answers and closes
// the connection while the client is still sending. (A body under 256 KB
// is one Go's server would otherwise wait for, to reuse the connection.)
func TestBodyNotReadAfter401(t *testing.T) {
	rs := startServer(t, t.TempDir(), "--access-log=false")
	c := rawRequest(t, rs, "PUT /dav/addressbooks/admin/contacts/x.vcf HTTP/1.1\r\nHost: x\r\n"+
		"Authorization: Basic eDp5\r\nContent-Length: 100000\r\n\r\nBEGIN:VCARD\r\n")
	br := bufio.NewReader(c)
	c.SetReadDeadline(time.Now().Add(time.Minute)) // a race-detector child under load checks bcrypt slowly
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("no answer to a bad sign-in with a pending body: %v", err)
	}
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("status %d, want 401", resp.StatusCode)
	}
	io.Copy(io.Discard, resp.Body)
	start := time.Now()
	closedWithin(t, c, 5*time.Second, "after a 401 with a body pending")
	t.Logf("closed %v after the 401", time.Since(start))
}

// A sender that trickles its body is cut off at --read-timeout.
func TestSlowSenderCutOff(t *testing.T) {
	rs := startServer(t, t.TempDir(), "--access-log=false", "--read-timeout", "2s")
	healthzWithin(t, rs, 10*time.Second)
	req, _ := http.NewRequest("PUT", rs.url+"/dav/addressbooks/admin/contacts/x.vcf", nil)
	req.SetBasicAuth("admin", rs.password)
	c := rawRequest(t, rs, "PUT /dav/addressbooks/admin/contacts/x.vcf HTTP/1.1\r\nHost: x\r\n"+
		"Authorization: "+req.Header.Get("Authorization")+"\r\nContent-Type: text/vcard\r\nContent-Length: 1000\r\n\r\n")
	start := time.Now()
	for time.Since(start) < 10*time.Second {
		if _, err := c.Write([]byte("X")); err != nil {
			break // the server closed the connection
		}
		c.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
		if _, err := c.Read(make([]byte, 512)); err != nil {
			var ne net.Error
			if !(errors.As(err, &ne) && ne.Timeout()) {
				break // EOF or reset: cut off
			}
		}
	}
	if d := time.Since(start); d > 6*time.Second {
		t.Fatalf("a body sent at 2 bytes/s was still being read after %v (--read-timeout 2s)", d)
	}
}

// A client that does not read a large answer is cut off once the request
// deadline and its grace have passed (--request-timeout 5s: 10s in all).
func TestNonReaderCutOff(t *testing.T) {
	skipIfShort(t, "a 9 MB export to a client that does not read")
	rs := startServer(t, t.TempDir(), "--access-log=false", "--request-timeout", "5s")
	healthzWithin(t, rs, 10*time.Second)
	note := strings.Repeat("x", 1<<20)
	for i := 0; i < 9; i++ {
		body := fmt.Sprintf("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:big%d\r\nFN:Big %d\r\nN:Big;;;;\r\nNOTE:%s\r\nEND:VCARD\r\n", i, i, note)
		resp, _ := davDo(t, rs, "admin", rs.password, "PUT", fmt.Sprintf("/dav/addressbooks/admin/contacts/big%d.vcf", i),
			map[string]string{"Content-Type": "text/vcard"}, body)
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("PUT big%d: %d", i, resp.StatusCode)
		}
	}
	req, _ := http.NewRequest("GET", rs.url+"/", nil)
	req.SetBasicAuth("admin", rs.password)
	conn, err := net.Dial("tcp", hostOf(t, rs))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.(*net.TCPConn).SetReadBuffer(4096)
	io.WriteString(conn, "GET /dav/addressbooks/admin/contacts/ HTTP/1.1\r\nHost: x\r\nAuthorization: "+req.Header.Get("Authorization")+"\r\n\r\n")
	time.Sleep(15 * time.Second) // not reading
	conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	n, _ := io.Copy(io.Discard, conn)
	if n >= 9<<20 {
		t.Fatalf("the whole %d-byte export reached a client that did not read for 15 s", n)
	}
	t.Logf("the non-reader got %d bytes before the cut", n)
}
