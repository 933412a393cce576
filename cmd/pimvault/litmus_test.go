package main

import (
	"bytes"
	"context"
	"net/http"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// litmus (Debian package litmus, the WebDAV server test suite from the
// neon project) against the real binary's generic WebDAV area,
// /dav/files/<user>/. The basic, copymove, props and http suites must pass
// completely. locks is not run: pimvault does not implement locking and says
// so (DAV: 1, 3 — no class 2), and litmus then skips it.

// litmusSuites are the suites that must pass.
var litmusSuites = []string{"basic", "copymove", "props", "http"}

// litmusExpectedWarnings are the warnings litmus may print, with why.
var litmusExpectedWarnings = map[string]string{
	// basic/options: OPTIONS advertises DAV: 1, 3 and no class 2, because
	// pimvault has no LOCK/UNLOCK. That is deliberate (CardDAV and CalDAV
	// clients do not need locks), so the warning is the expected answer.
	"server does not claim Class 2 compliance": "no locking (DAV class 2) on purpose",
}

var (
	litmusSummary = regexp.MustCompile("<- summary for `([a-z0-9]+)': of ([0-9]+) tests run: ([0-9]+) passed, ([0-9]+) failed")
	litmusWarning = regexp.MustCompile(`WARNING: ([^\n]*)`)
)

func TestLitmus(t *testing.T) {
	skipIfShort(t, "the real-client test (litmus suites against the files area)")
	requireTools(t, "litmus")
	data := t.TempDir()
	rs := startServer(t, data)
	// The account is added through the running server's admin socket with a
	// known password, so the test does not depend on catching the password
	// the first start prints.
	const password = "litmus-test-password"
	if res := pimvaultStdin(t, password+"\n", "user", "add", "lit", "--password-stdin", "--data", data); res.code != 0 {
		t.Fatalf("pimvault user add: %s", res)
	}
	rs.password = password
	base := rs.url + "/dav/files/lit/"

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "litmus", base, "lit", rs.password)
	cmd.Dir = t.TempDir() // litmus writes debug.log and child.log there
	cmd.Env = []string{"TESTS=" + strings.Join(litmusSuites, " "), "HOME=" + cmd.Dir, "PATH=/usr/bin:/bin"}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	runErr := cmd.Run()
	text := out.String()
	if ctx.Err() != nil {
		t.Fatalf("litmus did not finish within 10 minutes:\n%s", text)
	}

	seen := map[string]bool{}
	for _, m := range litmusSummary.FindAllStringSubmatch(text, -1) {
		suite, run, passed, failed := m[1], m[2], m[3], m[4]
		seen[suite] = true
		if failed != "0" || run != passed {
			t.Errorf("litmus %s: %s tests run, %s passed, %s failed; want all passed", suite, run, passed, failed)
		}
		if n, _ := strconv.Atoi(run); n < 4 {
			t.Errorf("litmus %s ran only %d tests", suite, n)
		}
	}
	for _, suite := range litmusSuites {
		if !seen[suite] {
			t.Errorf("litmus printed no summary for suite %s", suite)
		}
	}
	for _, m := range litmusWarning.FindAllStringSubmatch(text, -1) {
		if _, ok := litmusExpectedWarnings[strings.TrimSpace(m[1])]; !ok {
			t.Errorf("litmus warning not explained: %q", m[1])
		}
	}
	if runErr != nil {
		t.Errorf("litmus exited with %v", runErr)
	}
	if t.Failed() {
		t.Fatalf("litmus output:\n%s\n--- server log:\n%s", text, rs.stderr.String())
	}
	t.Logf("litmus summaries:\n%s", strings.Join(litmusSummary.FindAllString(text, -1), "\n"))

	// The files area is not shown to CardDAV clients: the address book home
	// lists only address books.
	req, _ := http.NewRequest("PROPFIND", rs.url+"/dav/addressbooks/lit/", nil)
	req.Header.Set("Depth", "1")
	req.SetBasicAuth("lit", rs.password)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var listing bytes.Buffer
	listing.ReadFrom(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusMultiStatus || strings.Contains(listing.String(), "files") {
		t.Errorf("address book home after litmus: %d\n%s", resp.StatusCode, listing.String())
	}

	// Everything litmus did was journalled: store.db equals a replay.
	rs.stop(t)
	expectVerifyOK(t, data)
}
