package main

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-vcard"
)

// The rig of the real-client tests (carddav_clients_test.go,
// caldav_clients_test.go): the real binary serving on loopback, vdirsyncer
// pairing one of its collections with a local folder, khard and khal
// reading that folder, all in a throw-away HOME. The gates these tests pass
// first (skipIfShort, requireTools) are in harness_test.go.

// vdirRig is one vdirsyncer pair between the server's default address book
// and a local folder, plus a khard configuration reading that folder.
type vdirRig struct {
	t        *testing.T
	rs       *runningServer
	user     string
	password string
	data     string // the server's data directory
	book     string // URL path of the address book on the server
	dir      string // temp root: configs, status, home
	vdir     string // the local collection folder vdirsyncer writes
	env      []string
	hc       *http.Client
}

const vdirUser = "admin" // the account serve creates on first start

func newVdirRig(t *testing.T) *vdirRig {
	t.Helper()
	data := t.TempDir()
	rs := startServer(t, data)
	if rs.password == "" {
		t.Fatalf("first start printed no password:\n%s", rs.stderr.String())
	}
	dir := t.TempDir()
	r := &vdirRig{
		t: t, rs: rs, user: vdirUser, password: rs.password, data: data,
		book: "/dav/addressbooks/" + vdirUser + "/contacts/",
		dir:  dir,
		// collections = ["from a", "from b"] maps the server's "contacts"
		// onto <path>/contacts; made here so discover asks nothing.
		vdir: filepath.Join(dir, "local", "contacts"),
		hc:   &http.Client{Timeout: 20 * time.Second},
	}
	home := filepath.Join(dir, "home")
	for _, d := range []string{r.vdir, home, filepath.Join(dir, "status")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	// Nothing may touch the real home directory or its configurations.
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if k == "HOME" || strings.HasPrefix(k, "XDG_") || strings.HasPrefix(k, "VDIRSYNCER_") || strings.HasPrefix(k, "KHARD_") {
			continue
		}
		r.env = append(r.env, kv)
	}
	r.env = append(r.env, "HOME="+home,
		"XDG_CONFIG_HOME="+filepath.Join(home, ".config"),
		"XDG_DATA_HOME="+filepath.Join(home, ".local", "share"),
		"XDG_CACHE_HOME="+filepath.Join(home, ".cache"),
		"XDG_STATE_HOME="+filepath.Join(home, ".local", "state"),
		"PYTHONIOENCODING=utf-8", "PYTHONDONTWRITEBYTECODE=1")
	r.writeKhardConfig()
	return r
}

func (r *vdirRig) vdirsyncerConfig() string { return filepath.Join(r.dir, "vdirsyncer.conf") }
func (r *vdirRig) khardConfig() string      { return filepath.Join(r.dir, "khard.conf") }

// writeVdirsyncerConfig writes the pair with the given conflict_resolution
// (null, "a wins" or "b wins"; a is the local folder, b the server).
func (r *vdirRig) writeVdirsyncerConfig(conflict string) {
	r.t.Helper()
	conf := fmt.Sprintf(`[general]
status_path = %q

[pair pv]
a = "pv_local"
b = "pv_remote"
collections = ["from a", "from b"]
conflict_resolution = %s

[storage pv_local]
type = "filesystem"
path = %q
fileext = ".vcf"

[storage pv_remote]
type = "carddav"
url = %q
username = %q
password = %q
`, filepath.Join(r.dir, "status")+"/", conflict, filepath.Dir(r.vdir)+"/", r.rs.url+"/", r.user, r.password)
	if err := os.WriteFile(r.vdirsyncerConfig(), []byte(conf), 0o600); err != nil {
		r.t.Fatal(err)
	}
}

func (r *vdirRig) writeKhardConfig() {
	r.t.Helper()
	conf := fmt.Sprintf(`[addressbooks]
[[pimvault]]
path = %s/

[general]
debug = no
default_action = list
editor = /bin/false
merge_editor = /bin/false

[contact table]
display = formatted_name
sort = formatted_name
show_uids = yes

[vcard]
skip_unparsable = no
`, r.vdir)
	if err := os.WriteFile(r.khardConfig(), []byte(conf), 0o600); err != nil {
		r.t.Fatal(err)
	}
}

// toolRun is what one run of a client program did.
type toolRun struct {
	code           int
	stdout, stderr string
}

func (r *vdirRig) run(name string, args ...string) toolRun {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env, cmd.Dir = r.env, r.dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr // stdin is /dev/null: a prompt fails, never hangs
	err := cmd.Run()
	res := toolRun{stdout: stdout.String(), stderr: stderr.String()}
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil:
		r.t.Fatalf("%s %s did not finish within a minute:\n%s%s", name, strings.Join(args, " "), res.stdout, res.stderr)
	case errors.As(err, &ee):
		res.code = ee.ExitCode()
	case err != nil:
		r.t.Fatalf("%s %s: %v", name, strings.Join(args, " "), err)
	}
	return res
}

// vdirsyncer runs `vdirsyncer -vdebug -c CONFIG args...`; with wantOK it
// fails the test, printing the client's debug log (every request and
// response) and the server's log, unless it exits 0.
func (r *vdirRig) vdirsyncer(step string, wantOK bool, args ...string) toolRun {
	r.t.Helper()
	res := r.run("vdirsyncer", append([]string{"-vdebug", "-c", r.vdirsyncerConfig()}, args...)...)
	if wantOK && res.code != 0 {
		r.t.Fatalf("%s: vdirsyncer %s exited %d, want 0\n--- vdirsyncer output:\n%s%s\n--- server log:\n%s",
			step, strings.Join(args, " "), res.code, res.stdout, res.stderr, r.rs.stderr.String())
	}
	return res
}

// sync runs a vdirsyncer sync that must succeed.
func (r *vdirRig) sync(step string) toolRun { return r.vdirsyncer(step, true, "sync") }

// card is a minimal vCard with CRLF line endings.
func card(version, uid, fn string, extra ...string) string {
	lines := []string{"BEGIN:VCARD", "VERSION:" + version, "UID:" + uid, "FN:" + fn}
	if version == "3.0" {
		lines = append(lines, "N:"+fn+";;;;")
	}
	lines = append(lines, extra...)
	lines = append(lines, "END:VCARD")
	return strings.Join(lines, "\r\n") + "\r\n"
}

// vcardItem is one contact on one side.
type vcardItem struct {
	name string // server: href; local: file name
	etag string // server only
	uid  string
	fn   string
	body string
}

func parseItem(t *testing.T, where, name, body string) vcardItem {
	t.Helper()
	c, err := vcard.NewDecoder(strings.NewReader(body)).Decode()
	if err != nil {
		t.Fatalf("%s: %s is not a vCard: %v\n%s", where, name, err, body)
	}
	it := vcardItem{name: name, uid: c.Value(vcard.FieldUID), fn: c.PreferredValue(vcard.FieldFormattedName), body: body}
	if it.uid == "" {
		t.Fatalf("%s: %s has no UID:\n%s", where, name, body)
	}
	return it
}

func (r *vdirRig) request(method, p, body string, hdr ...string) *http.Response {
	r.t.Helper()
	req, err := http.NewRequest(method, r.rs.url+p, strings.NewReader(body))
	if err != nil {
		r.t.Fatal(err)
	}
	req.SetBasicAuth(r.user, r.password)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := r.hc.Do(req)
	if err != nil {
		r.t.Fatalf("%s %s: %v", method, p, err)
	}
	return resp
}

// serverPut stores body under the address book; ifMatch is an ETag, "*" for
// create-only, or "".
func (r *vdirRig) serverPut(name, body, ifMatch string) {
	r.t.Helper()
	hdr := []string{"Content-Type", "text/vcard; charset=utf-8"}
	want := http.StatusNoContent
	if ifMatch == "*" {
		hdr, want = append(hdr, "If-None-Match", "*"), http.StatusCreated
	} else if ifMatch != "" {
		hdr = append(hdr, "If-Match", ifMatch)
	}
	resp := r.request(http.MethodPut, r.book+name, body, hdr...)
	msg, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != want || resp.Header.Get("ETag") == "" {
		r.t.Fatalf("PUT %s%s: got %s ETag %q, want %d with an ETag\n%s", r.book, name, resp.Status, resp.Header.Get("ETag"), want, msg)
	}
}

func (r *vdirRig) serverDelete(href, etag string) {
	r.t.Helper()
	resp := r.request(http.MethodDelete, href, "", "If-Match", etag)
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent && resp.StatusCode != http.StatusOK {
		r.t.Fatalf("DELETE %s: got %s, want 204", href, resp.Status)
	}
}

// davMultistatus is the part of a PROPFIND answer the test reads.
type davMultistatus struct {
	Responses []struct {
		Href     string `xml:"DAV: href"`
		Propstat []struct {
			Status string `xml:"DAV: status"`
			Prop   struct {
				ETag         string `xml:"DAV: getetag"`
				ResourceType struct {
					Collection *struct{} `xml:"DAV: collection"`
				} `xml:"DAV: resourcetype"`
			} `xml:"DAV: prop"`
		} `xml:"DAV: propstat"`
	} `xml:"DAV: response"`
}

// serverItems lists the address book with PROPFIND Depth 1 and GETs every
// member; the GET's ETag must equal the listed one (vdirsyncer relies on it).
func (r *vdirRig) serverItems(step string) map[string]vcardItem {
	r.t.Helper()
	resp := r.request("PROPFIND", r.book, `<?xml version="1.0" encoding="utf-8"?><D:propfind xmlns:D="DAV:"><D:prop><D:resourcetype/><D:getetag/></D:prop></D:propfind>`,
		"Depth", "1", "Content-Type", "application/xml; charset=utf-8")
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusMultiStatus {
		r.t.Fatalf("%s: PROPFIND %s: got %s, want 207\n%s", step, r.book, resp.Status, raw)
	}
	var ms davMultistatus
	if err := xml.Unmarshal(raw, &ms); err != nil {
		r.t.Fatalf("%s: PROPFIND %s: %v\n%s", step, r.book, err, raw)
	}
	items := map[string]vcardItem{}
	for _, m := range ms.Responses {
		href, etag, coll := m.Href, "", false
		for _, ps := range m.Propstat {
			if strings.Contains(ps.Status, " 200 ") {
				etag = ps.Prop.ETag
				coll = ps.Prop.ResourceType.Collection != nil
			}
		}
		if coll {
			continue
		}
		g := r.request(http.MethodGet, href, "")
		body, _ := io.ReadAll(g.Body)
		g.Body.Close()
		if g.StatusCode != http.StatusOK {
			r.t.Fatalf("%s: GET %s (listed by PROPFIND): got %s, want 200", step, href, g.Status)
		}
		if got := g.Header.Get("ETag"); got != etag || etag == "" {
			r.t.Errorf("%s: GET %s: ETag %q, PROPFIND getetag %q; want the same non-empty value", step, href, got, etag)
		}
		it := parseItem(r.t, step+": server", href, string(body))
		it.etag = etag
		if prev, dup := items[it.uid]; dup {
			r.t.Fatalf("%s: server has UID %q twice: %s and %s", step, it.uid, prev.name, href)
		}
		items[it.uid] = it
	}
	return items
}

// localItems reads every .vcf file of the local folder.
func (r *vdirRig) localItems(step string) map[string]vcardItem {
	r.t.Helper()
	ents, err := os.ReadDir(r.vdir)
	if err != nil {
		r.t.Fatal(err)
	}
	items := map[string]vcardItem{}
	for _, e := range ents {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".vcf") {
			continue
		}
		body, err := os.ReadFile(filepath.Join(r.vdir, e.Name()))
		if err != nil {
			r.t.Fatal(err)
		}
		it := parseItem(r.t, step+": local", e.Name(), string(body))
		if prev, dup := items[it.uid]; dup {
			r.t.Fatalf("%s: local folder has UID %q twice: %s and %s", step, it.uid, prev.name, e.Name())
		}
		items[it.uid] = it
	}
	return items
}

// localFile finds the file vdirsyncer keeps for uid.
func (r *vdirRig) localFile(step, uid string) string {
	r.t.Helper()
	it, ok := r.localItems(step)[uid]
	if !ok {
		r.t.Fatalf("%s: no local file holds UID %q", step, uid)
	}
	return filepath.Join(r.vdir, it.name)
}

// writeLocal replaces a local file the way an editor that saves atomically
// does (a new inode, so vdirsyncer sees the change whatever the mtime
// resolution).
func (r *vdirRig) writeLocal(file, body string) {
	r.t.Helper()
	tmp := file + ".tmp-edit"
	if err := os.WriteFile(tmp, []byte(body), 0o600); err != nil {
		r.t.Fatal(err)
	}
	if err := os.Rename(tmp, file); err != nil {
		r.t.Fatal(err)
	}
}

func fnsOf(items map[string]vcardItem) map[string]string {
	m := map[string]string{}
	for uid, it := range items {
		m[uid] = it.fn
	}
	return m
}

func showFNs(m map[string]string) string {
	var uids []string
	for uid := range m {
		uids = append(uids, uid)
	}
	sort.Strings(uids)
	var b strings.Builder
	for _, uid := range uids {
		fmt.Fprintf(&b, "%s=%q ", uid, m[uid])
	}
	return strings.TrimSpace(b.String())
}

// converged checks that both sides hold exactly want (UID → FN) with
// byte-identical bodies, and returns both sides.
func (r *vdirRig) converged(step string, want map[string]string) (server, local map[string]vcardItem) {
	r.t.Helper()
	server, local = r.serverItems(step), r.localItems(step)
	if got := showFNs(fnsOf(server)); got != showFNs(want) {
		r.t.Errorf("%s: server contacts:\n got  %s\n want %s", step, got, showFNs(want))
	}
	if got := showFNs(fnsOf(local)); got != showFNs(want) {
		r.t.Errorf("%s: local contacts:\n got  %s\n want %s", step, got, showFNs(want))
	}
	for uid, s := range server {
		if l, ok := local[uid]; ok && l.body != s.body {
			r.t.Errorf("%s: %s differs between the sides:\n server %s:\n%s\n local %s:\n%s", step, uid, s.name, s.body, l.name, l.body)
		}
	}
	if r.t.Failed() {
		r.t.FailNow()
	}
	return server, local
}

// unchangedExcept checks that every item but skip is exactly as before on
// both sides (same body, same server href and ETag, same local file).
func (r *vdirRig) unchangedExcept(step, skip string, server0, local0, server1, local1 map[string]vcardItem) {
	r.t.Helper()
	for uid, a := range server0 {
		if uid == skip {
			continue
		}
		if b := server1[uid]; b != a {
			r.t.Errorf("%s: server item %s changed although only %s was in conflict:\n before %+v\n after  %+v", step, uid, skip, a, b)
		}
	}
	for uid, a := range local0 {
		if uid == skip {
			continue
		}
		if b := local1[uid]; b != a {
			r.t.Errorf("%s: local item %s changed although only %s was in conflict:\n before %+v\n after  %+v", step, uid, skip, a, b)
		}
	}
}

// resolved checks that a sync went through conflict resolution for uid (so
// the ETags on both sides really showed a change on each).
func (r *vdirRig) resolved(step string, res toolRun, uid string) {
	r.t.Helper()
	if want := "Doing conflict resolution for item " + uid; !strings.Contains(res.stdout+res.stderr, want) {
		r.t.Fatalf("%s: vdirsyncer output lacks %q: the edit on both sides was not seen as a conflict\n%s%s", step, want, res.stdout, res.stderr)
	}
}

// copies returns the "Copying"/"Deleting" lines of a vdirsyncer run: what it
// changed.
func copies(res toolRun) []string {
	var out []string
	for _, l := range strings.Split(res.stdout+res.stderr, "\n") {
		if strings.HasPrefix(l, "Copying ") || strings.HasPrefix(l, "Deleting ") {
			out = append(out, l)
		}
	}
	return out
}
