package server

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"
)

// With every slot and the queue taken, a request gets 503 with a
// Retry-After at once; the health check still answers; a queued request
// runs once the slot is free.
func TestAdmissionShedsLoadAtOnce(t *testing.T) {
	e := newSigninEnv(t, Config{MaxRequests: 1, MaxRequestsPerAccount: 1, MaxQueue: 1, QueueWait: 5 * time.Second}, "carol")
	srv := httptest.NewServer(e.h)
	defer srv.Close()
	if st := e.status(t, srv.URL, "PROPFIND", "/dav/", nil); st != http.StatusMultiStatus { // carol is signed in
		t.Fatalf("first sign-in: %d", st)
	}
	// A PUT whose body never ends holds the only slot.
	pr, pw := io.Pipe()
	defer pw.Close() // before srv.Close, which waits for the PUT, even when the test fails
	holder := make(chan int, 1)
	go func() {
		req, _ := http.NewRequest("PUT", srv.URL+"/dav/addressbooks/carol/contacts/x.vcf", pr)
		req.SetBasicAuth("carol", testPassword)
		req.Header.Set("Content-Type", "text/vcard")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			holder <- 0
			return
		}
		resp.Body.Close()
		holder <- resp.StatusCode
	}()
	pw.Write([]byte("BEGIN:VCARD\r\nVERSION:3.0\r\n"))
	waitGate(t, e, 1, 0)
	// One more waits in the queue.
	queued := make(chan int, 1)
	go func() {
		queued <- e.status(t, srv.URL, "PROPFIND", "/dav/", nil)
	}()
	waitGate(t, e, 1, 1)
	// The next is refused at once, with Retry-After.
	start := time.Now()
	req, _ := http.NewRequest("PROPFIND", srv.URL+"/dav/", nil)
	req.SetBasicAuth("carol", testPassword)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	ra, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
	if resp.StatusCode != http.StatusServiceUnavailable || ra < 1 || time.Since(start) > time.Second {
		t.Fatalf("over the queue: %d, Retry-After %q, after %v", resp.StatusCode, resp.Header.Get("Retry-After"), time.Since(start))
	}
	if st := e.status(t, srv.URL, "GET", "/healthz", nil); st != http.StatusOK {
		t.Fatalf("health check while full: %d", st)
	}
	pw.Write([]byte("UID:x\r\nFN:X\r\nN:X;;;;\r\nEND:VCARD\r\n"))
	pw.Close()
	if st := <-holder; st != http.StatusCreated {
		t.Fatalf("the slow PUT: %d", st)
	}
	if st := <-queued; st != http.StatusMultiStatus {
		t.Fatalf("the queued request: %d", st)
	}
	if s := e.srv.gate.Stats(); s.Running != 0 || s.Waiting != 0 {
		t.Fatalf("gate after the test: %+v", s)
	}
}

func waitGate(t *testing.T, e *signinEnv, running, waiting int) {
	t.Helper()
	for i := 0; i < 500; i++ {
		if s := e.srv.gate.Stats(); s.Running == running && s.Waiting == waiting {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("gate never reached %d running, %d waiting: %+v", running, waiting, e.srv.gate.Stats())
}

func (e *signinEnv) status(t *testing.T, base, method, path string, body io.Reader) int {
	req, _ := http.NewRequest(method, base+path, body)
	req.SetBasicAuth("carol", testPassword)
	req.Header.Set("Depth", "0")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Error(err)
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// A signed-in client's request goes before new sign-ins waiting in the
// queue.
func TestSignedInBeforeNewSignIns(t *testing.T) {
	e := newSigninEnv(t, Config{MaxRequests: 1, MaxQueue: 8, QueueWait: 5 * time.Second}, "carol", "dave")
	// The order requests get past the gate, recorded behind it.
	var mu sync.Mutex
	var order []string
	routes := e.srv.routes()
	srv := httptest.NewServer(e.srv.admission(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, _, _ := r.BasicAuth(); r.Method == "PROPFIND" {
			mu.Lock()
			order = append(order, u)
			mu.Unlock()
		}
		routes.ServeHTTP(w, r)
	})))
	defer srv.Close()
	if st := e.status(t, srv.URL, "PROPFIND", "/dav/", nil); st != http.StatusMultiStatus { // carol is now signed in
		t.Fatalf("first sign-in: %d", st)
	}
	pr, pw := io.Pipe()
	defer pw.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		e.status(t, srv.URL, "PUT", "/dav/addressbooks/carol/contacts/y.vcf", pr)
	}()
	pw.Write([]byte("BEGIN:VCARD\r\n"))
	waitGate(t, e, 1, 0)
	var wg sync.WaitGroup
	run := func(user string) {
		defer wg.Done()
		req, _ := http.NewRequest("PROPFIND", srv.URL+"/dav/", nil)
		req.SetBasicAuth(user, testPassword)
		req.Header.Set("Depth", "0")
		resp, err := http.DefaultClient.Do(req)
		if err != nil || resp.StatusCode != http.StatusMultiStatus {
			t.Errorf("%s: %v %v", user, resp, err)
			return
		}
		resp.Body.Close()
	}
	wg.Add(1)
	go run("dave") // a new sign-in, queued first
	waitGate(t, e, 1, 1)
	wg.Add(1)
	go run("carol") // signed in, queued second
	waitGate(t, e, 1, 2)
	pw.Write([]byte("VERSION:3.0\r\nUID:y\r\nFN:Y\r\nN:Y;;;;\r\nEND:VCARD\r\n"))
	pw.Close()
	<-done
	wg.Wait()
	if len(order) != 3 || order[1] != "carol" || order[2] != "dave" {
		t.Fatalf("order past the gate %v, want carol (signed in) before dave (new) after the first sign-in", order)
	}
}
