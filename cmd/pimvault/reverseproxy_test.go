package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The real binary under --base-path /pim behind nginx (Debian's nginx-light,
// .ci/run installs it), which forwards /pim/ and /.well-known/ unchanged:
// discovery through /.well-known/, a vdirsyncer sync of the address book both
// ways, and sync-collection hrefs, all through the proxy.
func TestReverseProxyBasePath(t *testing.T) {
	skipIfShort(t, "the reverse-proxy test (nginx and vdirsyncer in front of the binary)")
	requireTools(t, "nginx", "vdirsyncer")
	data := t.TempDir()
	rs := startServer(t, data, "--base-path", "/pim")
	if rs.password == "" {
		t.Fatalf("first start printed no password:\n%s", rs.stderr.String())
	}
	upstream := strings.TrimPrefix(rs.url, "http://")
	proxy := startNginx(t, upstream)

	hc := &http.Client{Timeout: 20 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	do := func(method, path, body string, hdr ...string) (*http.Response, string) {
		t.Helper()
		req, err := http.NewRequest(method, proxy+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.SetBasicAuth("admin", rs.password)
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	for _, wk := range []string{"/.well-known/carddav", "/.well-known/caldav"} {
		resp, _ := do("PROPFIND", wk, "", "Depth", "0")
		if resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != "/pim/dav/" {
			t.Fatalf("%s through the proxy: %d Location %q", wk, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	resp, body := do("PROPFIND", "/pim/dav/", `<D:propfind xmlns:D="DAV:"><D:prop><D:current-user-principal/></D:prop></D:propfind>`, "Depth", "0")
	if resp.StatusCode != http.StatusMultiStatus || !strings.Contains(body, "<D:href>/pim/dav/principals/admin/</D:href>") {
		t.Fatalf("current-user-principal through the proxy: %d %s", resp.StatusCode, body)
	}
	if resp, body := do("PUT", "/pim/dav/addressbooks/admin/contacts/server.vcf", vcardBody("server", "From The Server", ""),
		"Content-Type", "text/vcard"); resp.StatusCode != http.StatusCreated {
		t.Fatalf("PUT through the proxy: %d %s", resp.StatusCode, body)
	}

	// vdirsyncer discovers through /.well-known/carddav at the proxy's root.
	dir := t.TempDir()
	local := filepath.Join(dir, "local")
	if err := os.MkdirAll(filepath.Join(local, "contacts"), 0o700); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "vdirsyncer.conf")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf(`[general]
status_path = %q

[pair pv]
a = "pv_local"
b = "pv_remote"
collections = ["from a", "from b"]
conflict_resolution = null

[storage pv_local]
type = "filesystem"
path = %q
fileext = ".vcf"

[storage pv_remote]
type = "carddav"
url = %q
username = "admin"
password = %q
`, filepath.Join(dir, "status")+"/", local+"/", proxy+"/", rs.password)), 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{"HOME=" + dir, "PATH=/usr/bin:/bin", "PYTHONIOENCODING=utf-8", "PYTHONDONTWRITEBYTECODE=1"}
	vdirsyncer := func(args ...string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "vdirsyncer", append([]string{"-c", conf}, args...)...)
		cmd.Env, cmd.Dir = env, dir
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			t.Fatalf("vdirsyncer %s: %v\n%s\n--- server log:\n%s", strings.Join(args, " "), err, out.String(), rs.stderr.String())
		}
	}
	vdirsyncer("discover", "pv")
	vdirsyncer("sync")
	got, _ := filepath.Glob(filepath.Join(local, "contacts", "*.vcf"))
	if len(got) != 1 {
		t.Fatalf("after the first sync the local folder holds %v, want the server's one contact", got)
	}
	if err := os.WriteFile(filepath.Join(local, "contacts", "local.vcf"), []byte(vcardBody("local", "From The Laptop", "")), 0o600); err != nil {
		t.Fatal(err)
	}
	vdirsyncer("sync")

	// sync-collection through the proxy: both members, hrefs under /pim/dav/.
	resp, body = do("REPORT", "/pim/dav/addressbooks/admin/contacts/",
		`<D:sync-collection xmlns:D="DAV:"><D:sync-token/><D:sync-level>1</D:sync-level><D:prop><D:getetag/></D:prop></D:sync-collection>`,
		"Content-Type", "application/xml")
	if resp.StatusCode != http.StatusMultiStatus {
		t.Fatalf("sync-collection: %d %s", resp.StatusCode, body)
	}
	hs := hrefsIn(body)
	if len(hs) != 2 {
		t.Fatalf("sync-collection lists %v, want the server's and the laptop's contact", hs)
	}
	for _, h := range hs {
		if !strings.HasPrefix(h, "/pim/dav/addressbooks/admin/contacts/") {
			t.Errorf("href %q is not under the base path", h)
		}
		if resp, _ := do("GET", h, ""); resp.StatusCode != http.StatusOK {
			t.Errorf("GET %s through the proxy: %d", h, resp.StatusCode)
		}
	}
}

// hrefsIn lists the DAV:href values of a multistatus.
func hrefsIn(body string) []string {
	var out []string
	for _, part := range strings.Split(body, "<D:href>")[1:] {
		out = append(out, part[:strings.Index(part, "</D:href>")])
	}
	return out
}

// startNginx runs nginx in the foreground, one process, forwarding /pim/ and
// /.well-known/ to upstream unchanged, and returns its URL.
func startNginx(t *testing.T, upstream string) string {
	t.Helper()
	dir := t.TempDir()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	conf := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(conf, []byte(fmt.Sprintf(`daemon off;
master_process off;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log info;
events { worker_connections 64; }
http {
	access_log off;
	client_body_temp_path %[1]s/body;
	proxy_temp_path %[1]s/proxy;
	fastcgi_temp_path %[1]s/fastcgi;
	uwsgi_temp_path %[1]s/uwsgi;
	scgi_temp_path %[1]s/scgi;
	client_max_body_size 20m;
	server {
		listen %[2]s;
		location /pim/ {
			proxy_pass http://%[3]s;
			proxy_set_header Host $http_host;
			proxy_set_header X-Forwarded-Proto $scheme;
			proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
		}
		location /.well-known/ {
			proxy_pass http://%[3]s;
			proxy_set_header Host $http_host;
		}
	}
}
`, dir, addr, upstream)), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("nginx", "-p", dir, "-c", conf)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return "http://" + addr
		}
	}
	errLog, _ := os.ReadFile(filepath.Join(dir, "error.log"))
	t.Fatalf("nginx did not listen on %s:\n%s\n%s", addr, out.String(), errLog)
	return ""
}
