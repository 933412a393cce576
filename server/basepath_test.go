package server

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/pimvault/pimvault/account"
	"github.com/pimvault/pimvault/server/internal/dav"
	"github.com/pimvault/pimvault/storage"
)

// Under --base-path every href, Location and redirect carries the base path,
// the tree answers only there, and /.well-known/ stays at the root.
func TestBasePath(t *testing.T) {
	st, err := storage.Open(t.TempDir(), storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := account.AddUser(context.Background(), st, "alice", testPassword); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(New(st, Config{FailedLoginDelay: 10 * time.Millisecond, BasePath: "/pim"}, slog.New(slog.NewTextHandler(io.Discard, nil))).Handler())
	defer srv.Close()
	t.Cleanup(func() { _ = dav.SetBasePath("") })
	e := &testEnv{store: st, srv: srv}

	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.Get(srv.URL + "/.well-known/caldav")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != "/pim/dav/" {
		t.Errorf("well-known: %d %q, want 301 to /pim/dav/", resp.StatusCode, resp.Header.Get("Location"))
	}
	resp, body := e.do(t, "alice", "PROPFIND", "/pim/dav/", map[string]string{"Depth": "0"},
		`<D:propfind xmlns:D="DAV:"><D:prop><D:current-user-principal/></D:prop></D:propfind>`)
	if resp.StatusCode != http.StatusMultiStatus || !strings.Contains(body, "<D:href>/pim/dav/principals/alice/</D:href>") {
		t.Fatalf("current-user-principal: %d %s", resp.StatusCode, body)
	}
	resp, body = e.do(t, "alice", "PROPFIND", "/pim/dav/principals/alice/", map[string]string{"Depth": "0"},
		`<D:propfind xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop><C:calendar-home-set/></D:prop></D:propfind>`)
	if !strings.Contains(body, "<D:href>/pim/dav/calendars/alice/</D:href>") {
		t.Errorf("calendar-home-set: %d %s", resp.StatusCode, body)
	}
	resp, _ = e.do(t, "alice", "MKCALENDAR", "/pim/dav/calendars/alice/office/", nil, "")
	if resp.StatusCode != http.StatusCreated || resp.Header.Get("Location") != "/pim/dav/calendars/alice/office/" {
		t.Errorf("MKCALENDAR: %d Location %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp, body := e.do(t, "alice", "PUT", "/pim/dav/calendars/alice/office/a.ics", map[string]string{"Content-Type": "text/calendar"},
		vcal(vevent("a", "20260101T100000Z", "20260101T110000Z"))); resp.StatusCode != http.StatusCreated {
		t.Fatalf("PUT: %d %s", resp.StatusCode, body)
	}
	resp, body = e.do(t, "alice", "REPORT", "/pim/dav/calendars/alice/office/", nil,
		`<D:sync-collection xmlns:D="DAV:"><D:sync-token/><D:sync-level>1</D:sync-level><D:prop><D:getetag/></D:prop></D:sync-collection>`)
	if resp.StatusCode != http.StatusMultiStatus || !strings.Contains(body, "<D:href>/pim/dav/calendars/alice/office/a.ics</D:href>") {
		t.Errorf("sync-collection: %d %s", resp.StatusCode, body)
	}
	// A Destination names the URL, base path included.
	resp, body = e.do(t, "alice", "MOVE", "/pim/dav/calendars/alice/office/a.ics",
		map[string]string{"Destination": srv.URL + "/pim/dav/calendars/alice/office/b.ics"}, "")
	if resp.StatusCode != http.StatusCreated {
		t.Errorf("MOVE: %d %s", resp.StatusCode, body)
	}
	if resp, _ := e.do(t, "alice", "GET", "/pim/dav/calendars/alice/office/b.ics", nil, ""); resp.StatusCode != http.StatusOK {
		t.Errorf("GET after MOVE: %d", resp.StatusCode)
	}
	// Outside the base path there is no tree; the API is under it too.
	if resp, _ := e.do(t, "alice", "PROPFIND", "/dav/calendars/alice/", map[string]string{"Depth": "0"}, ""); resp.StatusCode != http.StatusNotFound {
		t.Errorf("PROPFIND outside the base path: %d, want 404", resp.StatusCode)
	}
	if resp, body := e.do(t, "alice", "GET", "/pim/api/app-passwords", nil, ""); resp.StatusCode != http.StatusOK {
		t.Errorf("API under the base path: %d %s", resp.StatusCode, body)
	}
	if resp, _ := e.do(t, "", "GET", "/healthz", nil, ""); resp.StatusCode != http.StatusOK {
		t.Errorf("healthz at the root: %d", resp.StatusCode)
	}
	for _, bad := range []string{"pim", "/pim/", "/a/../b", "/a b", "//x"} {
		if CheckBasePath(bad) == nil {
			t.Errorf("CheckBasePath(%q) accepted it", bad)
		}
	}
}
