package server

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pimvault/pimvault/server/internal/dav"
	"github.com/pimvault/pimvault/storage"
)

const filesRoot = "/dav/files/alice/"

func (e *testEnv) status(t *testing.T, method, path string, hdr map[string]string, body string, want int) string {
	t.Helper()
	resp, b := e.do(t, "alice", method, path, hdr, body)
	if resp.StatusCode != want {
		t.Fatalf("%s %s: status %d, want %d\n%s", method, path, resp.StatusCode, want, b)
	}
	return b
}

// TestFilesTree: nested collections, resources of any type, and the
// statuses RFC 4918 names for the usual mistakes.
func TestFilesTree(t *testing.T) {
	e := newTestEnv(t)
	e.status(t, "MKCOL", filesRoot+"a/", nil, "", http.StatusCreated)
	e.status(t, "MKCOL", filesRoot+"a/b/", nil, "", http.StatusCreated)
	e.status(t, "MKCOL", filesRoot+"a/b/", nil, "", http.StatusMethodNotAllowed)
	e.status(t, "MKCOL", filesRoot+"x/y/", nil, "", http.StatusConflict)
	e.status(t, "MKCOL", filesRoot+"a/c/", map[string]string{"Content-Type": "text/xml"}, "<x/>", http.StatusUnsupportedMediaType)
	e.status(t, "PUT", filesRoot+"a/b/100%25.bin", map[string]string{"Content-Type": "image/png"}, "\x89PNG\x00", http.StatusCreated)
	e.status(t, "PUT", filesRoot+"a/b/caf%C3%A9.txt", nil, "utf-8 name", http.StatusCreated)
	e.status(t, "PUT", filesRoot+"nope/f", nil, "x", http.StatusConflict)
	e.status(t, "PUT", filesRoot+"a/b", nil, "x", http.StatusMethodNotAllowed) // a collection has that name
	e.status(t, "MKCOL", filesRoot+"a/b/100%25.bin/", nil, "", http.StatusMethodNotAllowed)

	resp, body := e.do(t, "alice", "GET", filesRoot+"a/b/100%25.bin", nil, "")
	if resp.StatusCode != 200 || body != "\x89PNG\x00" || resp.Header.Get("Content-Type") != "image/png" || resp.Header.Get("ETag") == "" {
		t.Fatalf("GET: %d %q %v", resp.StatusCode, body, resp.Header)
	}
	e.status(t, "GET", filesRoot+"a/b/100%25.bin", map[string]string{"If-None-Match": `"zz", ` + resp.Header.Get("ETag")}, "", http.StatusNotModified)

	list := e.status(t, "PROPFIND", filesRoot+"a/", map[string]string{"Depth": "1"}, "", http.StatusMultiStatus)
	if got := hrefs(list); !slices.Equal(got, []string{filesRoot + "a/", filesRoot + "a/b/"}) {
		t.Fatalf("PROPFIND a/ Depth 1 hrefs %v", got)
	}
	list = e.status(t, "PROPFIND", filesRoot+"a/b/", map[string]string{"Depth": "1"}, "", http.StatusMultiStatus)
	if got := hrefs(list); !slices.Equal(got, []string{filesRoot + "a/b/", filesRoot + "a/b/100%25.bin", filesRoot + "a/b/caf%C3%A9.txt"}) {
		t.Fatalf("PROPFIND a/b/ Depth 1 hrefs %v", got)
	}
	if !strings.Contains(list, "<D:getcontenttype>image/png</D:getcontenttype>") {
		t.Fatalf("content type not served:\n%s", list)
	}

	frag, _ := http.NewRequest("DELETE", e.srv.URL, nil)
	frag.URL = &url.URL{Scheme: "http", Host: frag.URL.Host, Opaque: filesRoot + "a/#frag"}
	frag.SetBasicAuth("alice", testPassword)
	if resp, err := http.DefaultClient.Do(frag); err != nil || resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("DELETE with a fragment: %v %v, want 400", resp, err)
	}
	e.status(t, "DELETE", filesRoot+"zz", nil, "", http.StatusNotFound)
	e.status(t, "DELETE", filesRoot, nil, "", http.StatusForbidden)

	// Another user sees nothing of it; CardDAV clients do not see the area.
	if resp, _ := e.do(t, "bob", "PROPFIND", filesRoot+"a/", map[string]string{"Depth": "0"}, ""); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("bob PROPFIND alice's files: %d, want 404", resp.StatusCode)
	}
	if resp, _ := e.do(t, "bob", "GET", filesRoot+"a/b/100%25.bin", nil, ""); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("bob GET alice's file: %d, want 404", resp.StatusCode)
	}
	for _, dest := range []string{"/dav/files/bob/stolen", e.srv.URL + "/dav/files/bob/stolen", "/dav/addressbooks/alice/contacts/x.vcf", "/dav/files/alice/../bob/x"} {
		e.status(t, "COPY", filesRoot+"a/b/100%25.bin", map[string]string{"Destination": dest}, "", http.StatusBadGateway)
	}
	if resp, _ := e.do(t, "bob", "PROPFIND", "/dav/files/bob/", map[string]string{"Depth": "1"}, ""); resp.StatusCode != http.StatusMultiStatus {
		t.Fatalf("bob's files root: %d", resp.StatusCode)
	} else if got := e.treeOfAs(t, "bob", "/dav/files/bob/"); len(got) != 0 {
		t.Fatalf("bob's files area after alice's COPY attempts: %v", got)
	}
	home := e.status(t, "PROPFIND", "/dav/addressbooks/alice/", map[string]string{"Depth": "1"}, "", http.StatusMultiStatus)
	if strings.Contains(home, "files") {
		t.Fatalf("the address book home lists the files area:\n%s", home)
	}
	e.status(t, "MKCOL", "/dav/addressbooks/alice/files:a/", nil, "", http.StatusNotFound) // reserved storage name

	e.status(t, "DELETE", filesRoot+"a/", nil, "", http.StatusNoContent)
	e.status(t, "PROPFIND", filesRoot+"a/b/", map[string]string{"Depth": "0"}, "", http.StatusNotFound)
	e.status(t, "MKCOL", filesRoot+"a/", nil, "", http.StatusCreated)
	if got := hrefs(e.status(t, "PROPFIND", filesRoot+"a/", map[string]string{"Depth": "1"}, "", http.StatusMultiStatus)); len(got) != 1 {
		t.Fatalf("a re-created collection shows old members: %v", got)
	}
}

var hrefRE = regexp.MustCompile(`<D:response[^>]*><D:href>([^<]*)</D:href>`)

func hrefs(ms string) []string {
	var out []string
	for _, m := range hrefRE.FindAllStringSubmatch(ms, -1) {
		out = append(out, m[1])
	}
	return out
}

const propSetBody = `<?xml version="1.0" encoding="utf-8"?>
<D:propertyupdate xmlns:D="DAV:" xmlns:Z="http://example.com/ns"><D:set><D:prop>
<Z:colour xml:lang="en">red <Z:b xml:lang="en-GB">really</Z:b></Z:colour><Z:name>ж😀</Z:name></D:prop></D:set></D:propertyupdate>`

// TestFilesDeadProps: dead properties of resources follow them through
// PUT, MOVE and COPY, and go away with DELETE.
func TestFilesDeadProps(t *testing.T) {
	e := newTestEnv(t)
	e.status(t, "PUT", filesRoot+"r", nil, "body", http.StatusCreated)
	e.status(t, "PROPPATCH", filesRoot+"r", nil, propSetBody, http.StatusMultiStatus)
	get := func(path string) string {
		return e.status(t, "PROPFIND", path, map[string]string{"Depth": "0"}, `<D:propfind xmlns:D="DAV:"><D:prop><Z:colour xmlns:Z="http://example.com/ns"/><Z:name xmlns:Z="http://example.com/ns"/></D:prop></D:propfind>`, http.StatusMultiStatus)
	}
	wantProps := func(path string, want bool) {
		t.Helper()
		got := get(path)
		has := strings.Contains(got, `<N0:colour xml:lang="en">red <b xmlns="http://example.com/ns" xml:lang="en-GB">really</b></N0:colour>`) &&
			strings.Contains(got, "ж😀")
		if has != want {
			t.Fatalf("%s: dead props present=%v, want %v\n%s", path, has, want, got)
		}
	}
	wantProps(filesRoot+"r", true)
	e.status(t, "PUT", filesRoot+"r", nil, "new body", http.StatusNoContent)
	wantProps(filesRoot+"r", true)
	e.status(t, "PROPPATCH", filesRoot+"r", nil, `<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><D:getetag>x</D:getetag></D:prop></D:set></D:propertyupdate>`, http.StatusMultiStatus)
	e.status(t, "COPY", filesRoot+"r", map[string]string{"Destination": e.srv.URL + filesRoot + "c"}, "", http.StatusCreated)
	wantProps(filesRoot+"c", true)
	e.status(t, "PUT", filesRoot+"plain", nil, "p", http.StatusCreated)
	e.status(t, "COPY", filesRoot+"plain", map[string]string{"Destination": filesRoot + "c"}, "", http.StatusNoContent)
	wantProps(filesRoot+"c", false) // the copy has exactly the source's properties
	e.status(t, "COPY", filesRoot+"plain", map[string]string{"Destination": filesRoot + "c", "Overwrite": "F"}, "", http.StatusPreconditionFailed)
	e.status(t, "MOVE", filesRoot+"r", map[string]string{"Destination": filesRoot + "m"}, "", http.StatusCreated)
	wantProps(filesRoot+"m", true)
	e.status(t, "PROPFIND", filesRoot+"r", map[string]string{"Depth": "0"}, "", http.StatusNotFound)
	e.status(t, "DELETE", filesRoot+"m", nil, "", http.StatusNoContent)
	e.status(t, "PUT", filesRoot+"m", nil, "again", http.StatusCreated)
	wantProps(filesRoot+"m", false)
	e.status(t, "PROPFIND", filesRoot, map[string]string{"Depth": "0"}, `<D:propfind xmlns:D="DAV:"><D:prop><x:y xmlns:x=""/></D:prop></D:propfind>`, http.StatusBadRequest)
}

// filesTree makes src/ {f1, sub/ {f2, deep/ {f3}}} with a dead property on
// sub/ and on f2.
func filesTree(t *testing.T, e *testEnv) {
	for _, c := range []string{"src/", "src/sub/", "src/sub/deep/"} {
		e.status(t, "MKCOL", filesRoot+c, nil, "", http.StatusCreated)
	}
	for _, f := range []string{"src/f1", "src/sub/f2", "src/sub/deep/f3"} {
		e.status(t, "PUT", filesRoot+f, nil, "content of "+f, http.StatusCreated)
	}
	e.status(t, "PROPPATCH", filesRoot+"src/sub/", nil, propSetBody, http.StatusMultiStatus)
	e.status(t, "PROPPATCH", filesRoot+"src/sub/f2", nil, propSetBody, http.StatusMultiStatus)
}

// treeOf lists every href below path in alice's files area, sorted.
func (e *testEnv) treeOf(t *testing.T, path string) []string {
	t.Helper()
	return e.treeOfAs(t, "alice", path)
}

func (e *testEnv) treeOfAs(t *testing.T, user, path string) []string {
	t.Helper()
	resp, b := e.do(t, user, "PROPFIND", path, map[string]string{"Depth": "1"}, "")
	if resp.StatusCode == http.StatusNotFound {
		return nil
	}
	var out []string
	for i, h := range hrefs(b) {
		if i == 0 {
			continue
		}
		out = append(out, strings.TrimPrefix(h, "/dav/files/"+user+"/"))
		if strings.HasSuffix(h, "/") {
			out = append(out, e.treeOfAs(t, user, h)...)
		}
	}
	slices.Sort(out)
	return out
}

func TestFilesCollectionCopyMove(t *testing.T) {
	e := newTestEnv(t)
	filesTree(t, e)
	want := []string{"src/f1", "src/sub/", "src/sub/deep/", "src/sub/deep/f3", "src/sub/f2"}
	if got := e.treeOf(t, filesRoot+"src/"); !slices.Equal(got, want) {
		t.Fatalf("tree %v, want %v", got, want)
	}
	renamed := func(to string) []string {
		var out []string
		for _, w := range want {
			out = append(out, to+strings.TrimPrefix(w, "src/"))
		}
		return out
	}
	e.status(t, "COPY", filesRoot+"src/", map[string]string{"Destination": filesRoot + "cp/"}, "", http.StatusCreated)
	if got := e.treeOf(t, filesRoot+"cp/"); !slices.Equal(got, renamed("cp/")) {
		t.Fatalf("copy: %v", got)
	}
	if !strings.Contains(e.status(t, "PROPFIND", filesRoot+"cp/sub/f2", map[string]string{"Depth": "0"}, "", http.StatusMultiStatus), "ж😀") {
		t.Fatalf("copy lost a resource's dead property")
	}
	if !strings.Contains(e.status(t, "PROPFIND", filesRoot+"cp/sub/", map[string]string{"Depth": "0"}, "", http.StatusMultiStatus), "ж😀") {
		t.Fatalf("copy lost a collection's dead property")
	}
	e.status(t, "COPY", filesRoot+"src/", map[string]string{"Destination": filesRoot + "cp/", "Overwrite": "F"}, "", http.StatusPreconditionFailed)
	e.status(t, "COPY", filesRoot+"src/", map[string]string{"Destination": filesRoot + "shallow/", "Depth": "0"}, "", http.StatusCreated)
	if got := e.treeOf(t, filesRoot+"shallow/"); len(got) != 0 {
		t.Fatalf("Depth 0 copy has members %v", got)
	}
	e.status(t, "COPY", filesRoot+"src/", map[string]string{"Destination": filesRoot + "src/sub/in/"}, "", http.StatusForbidden)
	e.status(t, "COPY", filesRoot+"src/", map[string]string{"Destination": filesRoot + "none/x/"}, "", http.StatusConflict)
	e.status(t, "MOVE", filesRoot+"src/", map[string]string{"Destination": filesRoot + "cp/"}, "", http.StatusNoContent)
	if got := e.treeOf(t, filesRoot+"cp/"); !slices.Equal(got, renamed("cp/")) {
		t.Fatalf("after move over cp/: %v", got)
	}
	e.status(t, "PROPFIND", filesRoot+"src/", map[string]string{"Depth": "0"}, "", http.StatusNotFound)
	e.status(t, "MOVE", filesRoot+"cp/", map[string]string{"Destination": filesRoot + "shallow/m/", "Depth": "0"}, "", http.StatusBadRequest)
	e.status(t, "MOVE", filesRoot+"cp/", map[string]string{"Destination": filesRoot + "shallow/m/"}, "", http.StatusCreated)
	if got := e.treeOf(t, filesRoot); !slices.Equal(got, append([]string{"shallow/", "shallow/m/"}, renamed("shallow/m/")...)) {
		t.Fatalf("whole tree after moves: %v", got)
	}
}

// failingStore fails every Commit after the first n, as a crash would stop
// the writes of a multi-record request part-way.
type failingStore struct {
	*storage.Store
	n int
}

var errCrash = errors.New("simulated crash")

func (f *failingStore) Commit(ctx context.Context, c storage.Change) (storage.Result, error) {
	if f.n <= 0 {
		return storage.Result{}, errCrash
	}
	f.n--
	return f.Store.Commit(ctx, c)
}

// TestFilesMoveInterrupted: a collection MOVE stopped after any number of
// its records leaves the source whole (and maybe a partial copy); repeating
// it with Overwrite: T completes it, and the store verifies throughout.
func TestFilesMoveInterrupted(t *testing.T) {
	for stop := 0; stop < 12; stop++ {
		e := newTestEnv(t)
		filesTree(t, e)
		fs := &failingStore{Store: e.store, n: stop}
		log := slog.New(slog.NewTextHandler(io.Discard, nil))
		crashing := httptest.NewServer(New(fs, Config{FailedLoginDelay: time.Millisecond}, log).Handler())
		req, _ := http.NewRequest("MOVE", crashing.URL+filesRoot+"src/", nil)
		req.SetBasicAuth("alice", testPassword)
		req.Header.Set("Destination", filesRoot+"dst/")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		crashing.Close()
		done := resp.StatusCode == http.StatusCreated
		if !done && resp.StatusCode != http.StatusInternalServerError {
			t.Fatalf("stop after %d records: MOVE answered %d", stop, resp.StatusCode)
		}
		want := []string{"src/f1", "src/sub/", "src/sub/deep/", "src/sub/deep/f3", "src/sub/f2"}
		if !done && !slices.Equal(e.treeOf(t, filesRoot+"src/"), want) {
			t.Fatalf("stop after %d records: the source is not whole: %v", stop, e.treeOf(t, filesRoot+"src/"))
		}
		rep, err := e.store.Verify(context.Background())
		if err != nil || !rep.OK() {
			t.Fatalf("stop after %d records: verify: %v\n%v", stop, err, rep)
		}
		if !done {
			retry := http.StatusCreated
			if r, _ := e.do(t, "alice", "PROPFIND", filesRoot+"dst/", map[string]string{"Depth": "0"}, ""); r.StatusCode == http.StatusMultiStatus {
				retry = http.StatusNoContent // a partial copy is replaced
			}
			e.status(t, "MOVE", filesRoot+"src/", map[string]string{"Destination": filesRoot + "dst/"}, "", retry)
		}
		got := e.treeOf(t, filesRoot)
		wantAll := []string{"dst/", "dst/f1", "dst/sub/", "dst/sub/deep/", "dst/sub/deep/f3", "dst/sub/f2"}
		if !slices.Equal(got, wantAll) {
			t.Fatalf("stop after %d records: final tree %v, want %v", stop, got, wantAll)
		}
		if b := e.status(t, "GET", filesRoot+"dst/sub/deep/f3", nil, "", http.StatusOK); !bytes.Equal([]byte(b), []byte("content of src/sub/deep/f3")) {
			t.Fatalf("moved content %q", b)
		}
	}
}

// TestFilesPropLang: the xml:lang in scope on a dead property's element
// (its own or inherited from DAV:set) is kept and written back, in
// well-formed XML; address book properties are stored as before.
func TestFilesPropLang(t *testing.T) {
	e := newTestEnv(t)
	e.status(t, "PUT", filesRoot+"l", nil, "x", http.StatusCreated)
	e.status(t, "PROPPATCH", filesRoot+"l", nil, `<D:propertyupdate xmlns:D="DAV:" xmlns:Z="urn:z"><D:set xml:lang="de"><D:prop><Z:a>Hallo</Z:a><Z:b xml:lang="fr">Salut</Z:b><Z:c xml:lang="">none</Z:c></D:prop></D:set></D:propertyupdate>`, http.StatusMultiStatus)
	got := e.status(t, "PROPFIND", filesRoot+"l", map[string]string{"Depth": "0"}, "", http.StatusMultiStatus)
	for _, want := range []string{`<D:response xmlns:R0="urn:z">`, `<R0:a xml:lang="de">Hallo</R0:a>`, `<R0:b xml:lang="fr">Salut</R0:b>`, `<R0:c>none</R0:c>`} {
		if !strings.Contains(got, want) {
			t.Errorf("PROPFIND lacks %s:\n%s", want, got)
		}
	}
	if err := dav.CheckXML([]byte(got)); err != nil || strings.ContainsRune(got, 0) {
		t.Errorf("PROPFIND answer is not well-formed XML (%v):\n%q", err, got)
	}
	e.status(t, "PROPPATCH", "/dav/addressbooks/alice/contacts/", nil, `<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><D:displayname xml:lang="en">Mine</D:displayname></D:prop></D:set></D:propertyupdate>`, http.StatusMultiStatus)
	c, err := e.store.Collection("alice", "contacts")
	if err != nil || string(c.Props["{DAV:}displayname"]) != "Mine" {
		t.Fatalf("address book displayname stored as %q (%v), want Mine", c.Props["{DAV:}displayname"], err)
	}
}
