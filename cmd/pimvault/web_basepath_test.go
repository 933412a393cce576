package main

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

var linkAttr = regexp.MustCompile(`(?:href|action|src)="([^"]*)"`)

// Under serve --base-path /pim every link, form action, redirect and cookie
// of the web pages carries the base path, and every link a page shows leads
// to a page that exists.
func TestWebPagesUnderBasePath(t *testing.T) {
	dir := t.TempDir()
	rs := startServer(t, dir, "--base-path", "/pim")
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(path string) (*http.Response, string) {
		t.Helper()
		resp, err := c.Get(rs.url + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
		return resp, string(b)
	}
	links := func(page, body string) []string {
		t.Helper()
		var out []string
		for _, m := range linkAttr.FindAllStringSubmatch(body, -1) {
			l := strings.ReplaceAll(m[1], "&amp;", "&")
			if strings.HasPrefix(l, "#") {
				continue
			}
			if !strings.HasPrefix(l, "/pim/web/") {
				t.Errorf("%s links to %q, outside /pim/web/", page, l)
				continue
			}
			out = append(out, l)
		}
		return out
	}

	resp, body := get("/pim/")
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || loc != "/pim/web/" {
		t.Fatalf("GET /pim/: %d to %q", resp.StatusCode, loc)
	}
	if resp, _ = get("/pim/web/"); resp.Header.Get("Location") != "/pim/web/signin" {
		t.Fatalf("GET /pim/web/ signed out: %d to %q, want the sign-in page", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, body = get("/pim/web/signin")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /pim/web/signin: %d\n%s", resp.StatusCode, body)
	}
	links("the sign-in page", body)
	for _, ck := range resp.Header.Values("Set-Cookie") {
		if !strings.Contains(ck, "Path=/pim/web/") {
			t.Errorf("sign-in cookie without the base path: %s", ck)
		}
	}
	m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no CSRF token on the sign-in page:\n%s", body)
	}
	resp, err = c.PostForm(rs.url+"/pim/web/signin", url.Values{"csrf": {m[1]}, "user": {"admin"}, "password": {rs.password}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || loc != "/pim/web/collections" {
		t.Fatalf("sign-in: %d to %q", resp.StatusCode, loc)
	}

	// Every page reachable from the signed-in pages, one link deep, answers.
	seen := map[string]bool{}
	queue := []string{"/pim/web/collections", "/pim/web/devices", "/pim/web/admin"}
	for len(queue) > 0 && len(seen) < 60 {
		page := queue[0]
		queue = queue[1:]
		if seen[page] {
			continue
		}
		seen[page] = true
		resp, body := get(page)
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s: %d", page, resp.StatusCode)
			continue
		}
		for _, l := range links(page, body) {
			if strings.Contains(body, `action="`+l+`"`) || seen[l] || strings.Contains(l, "/export") || strings.Contains(l, "/backups/") {
				continue // forms are posted below; downloads are not pages
			}
			queue = append(queue, l)
		}
	}
	if len(seen) < 6 {
		t.Fatalf("only %d pages visited: %v", len(seen), seen)
	}
	// A form under the base path works: add a collection, redirected under it.
	_, body = get("/pim/web/collections")
	m = regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(body)
	if m == nil {
		t.Fatal("no CSRF token on the collections page")
	}
	resp, err = c.PostForm(rs.url+"/pim/web/devices/app-passwords", url.Values{"csrf": {m[1]}, "label": {"laptop"}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), `id="new-token"`) {
		t.Fatalf("adding an app password under /pim: %d\n%s", resp.StatusCode, b)
	}
	links("the new app password's page", string(b))
	if resp, _ := get("/web/signin"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /web/signin without the base path: %d, want 404", resp.StatusCode)
	}
}
