package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// procKB reads a "VmXXX: N kB" line of /proc/PID/status.
func procKB(t *testing.T, pid int, key string) int {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Skipf("no /proc/%d/status (%v): the memory bound is read from Linux's /proc", pid, err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, key+":"); ok {
			n, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			if err != nil {
				t.Fatalf("%s: %q", key, line)
			}
			return n
		}
	}
	t.Fatalf("no %s in /proc/%d/status", key, pid)
	return 0
}

// TestPropfindMemoryBound: a 50 KB PROPFIND asking 5,000 properties in a
// 20,000-character namespace made the server build a 100 MB answer (RSS 12
// → 401 MB). It is refused now, and the largest request under the caps (a
// Depth 1 listing of 1,000 properties in that namespace over 300 contacts,
// a 5 MB answer) streams: the child server's peak RSS (VmHWM) grows by a
// few MiB, not by the size of the answer.
func TestPropfindMemoryBound(t *testing.T) {
	dir := t.TempDir()
	rs := startServer(t, dir, "--user", "carol")
	const book = "/dav/addressbooks/carol/contacts/"
	for i := range 300 {
		uid := fmt.Sprintf("c%03d", i)
		for try := 0; ; try++ {
			resp, _ := davDo(t, rs, "carol", rs.password, "PUT", book+uid+".vcf", map[string]string{"Content-Type": "text/vcard"}, vcardBody(uid, "Contact "+uid, ""))
			if resp.StatusCode == http.StatusCreated {
				break
			}
			if (resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode != http.StatusServiceUnavailable) || try == 50 {
				t.Fatalf("PUT %s: %d", uid, resp.StatusCode)
			}
			time.Sleep(100 * time.Millisecond) // admission asked to come back
		}
	}
	pid := rs.cmd.Process.Pid
	// Writing 5 to clear_refs resets VmHWM to the current RSS (Linux 4.0+),
	// so the peak below is the requests' own; without it the peak since the
	// start counts, which only makes the check stricter.
	os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0)
	before := procKB(t, pid, "VmRSS")
	ns := "urn:" + strings.Repeat("n", 20000)
	propfind := func(n int) string {
		var b strings.Builder
		b.WriteString(`<D:propfind xmlns:D="DAV:" xmlns:Z="` + ns + `"><D:prop>`)
		for i := range n {
			fmt.Fprintf(&b, "<Z:p%d/>", i)
		}
		b.WriteString("</D:prop></D:propfind>")
		return b.String()
	}
	big := propfind(5000)
	if len(big) < 50000 {
		t.Fatalf("the hostile body is %d bytes, want about 50 KB", len(big))
	}
	for _, depth := range []string{"0", "1"} {
		resp, body := davDo(t, rs, "carol", rs.password, "PROPFIND", book, map[string]string{"Depth": depth}, big)
		if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(body, "max-properties") {
			t.Fatalf("5,000 properties, Depth %s: %d %.200s, want 413 max-properties", depth, resp.StatusCode, body)
		}
	}
	// The largest answer the caps allow, read slowly to the end.
	req, _ := http.NewRequest("PROPFIND", rs.url+book, strings.NewReader(propfind(1000)))
	req.SetBasicAuth("carol", rs.password)
	req.Header.Set("Depth", "1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	n, err := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusMultiStatus || n < 300*1000*8 {
		t.Fatalf("1,000 properties, Depth 1: %d, %d bytes, %v", resp.StatusCode, n, err)
	}
	hwm := procKB(t, pid, "VmHWM")
	limit := 48 << 10 // KiB over the RSS before the requests
	if raceEnabled() {
		limit *= 4 // the race detector's shadow memory
	}
	t.Logf("VmRSS before %d KiB, VmHWM after %d KiB, answer %d bytes", before, hwm, n)
	if hwm-before > limit {
		t.Fatalf("peak RSS grew by %d KiB (from %d to %d), want at most %d: the answer is held in memory", hwm-before, before, hwm, limit)
	}
}
