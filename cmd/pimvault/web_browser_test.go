package main

// The web pages in a real browser: Debian's chromium, headless, driven by
// chromedp, against the real binary. One browser serves every test of the
// package (each test gets its own browser context: no shared cookies); it
// is started by the first test that needs it and stopped after the last.
// A failed step saves a screenshot into a temporary directory of its own
// (kept after the test, unlike t.TempDir) and names it in the failure. With PIMVAULT_WEB_SCREENSHOTS=DIR the flows also
// save the main pages at desktop and phone widths into DIR (the pictures
// in docs/screenshots).

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// stepTimeout bounds one browser step.
var stepTimeout = 45 * time.Second

var browser struct {
	once   sync.Once
	ctx    context.Context
	cancel func()
	err    error
}

// chromiumPath finds Debian's chromium.
func chromiumPath() string {
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// closeBrowser stops the shared browser (TestMain calls it after the tests).
func closeBrowser() {
	if browser.cancel != nil {
		browser.cancel()
	}
}

// newTab starts the shared browser if needed and returns a tab in a fresh
// browser context, closed when the test ends.
func newTab(t *testing.T) context.Context {
	t.Helper()
	skipIfShort(t, "the browser tests of the web pages (headless chromium)")
	path := chromiumPath()
	if path == "" {
		requireClient(t, "chromium not installed: apt-get install -y chromium; .ci/run installs it", "")
	}
	browser.once.Do(func() {
		opts := append(chromedp.DefaultExecAllocatorOptions[:],
			chromedp.ExecPath(path),
			chromedp.DisableGPU,
			chromedp.Flag("renderer-process-limit", "2"),
			chromedp.Flag("js-flags", "--max-old-space-size=256"),
			chromedp.WindowSize(1280, 900),
		)
		if os.Geteuid() == 0 {
			opts = append(opts, chromedp.NoSandbox) // chromium refuses to run as root with its sandbox
		}
		actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
		bctx, bcancel := chromedp.NewContext(actx)
		browser.ctx = bctx
		browser.cancel = func() { bcancel(); acancel() }
		browser.err = chromedp.Do(bctx) // starts the browser
	})
	if browser.err != nil {
		t.Fatalf("start chromium (%s): %v", path, browser.err)
	}
	tab, cancel := chromedp.NewContext(browser.ctx, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	if err := chromedp.Do(tab); err != nil {
		t.Fatalf("open a tab: %v", err)
	}
	return tab
}

// step runs browser actions with a deadline; on failure it saves a
// screenshot and fails the test naming it.
func step(t *testing.T, tab context.Context, name string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	value(t, tab, name, chromedp.Steps(actions...))
}

// value runs one browser action that gives a value, as step does.
func value[T any](t *testing.T, tab context.Context, name string, a chromedp.Action[T]) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(tab, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		sctx, scancel := context.WithTimeout(tab, 15*time.Second)
		defer scancel()
		loc, _ := chromedp.Run(sctx, chromedp.Location())
		png, serr := chromedp.Run(sctx, chromedp.CaptureScreenshot())
		shot := fmt.Sprintf("(no screenshot: %v)", serr)
		if len(png) > 0 {
			// Not t.TempDir(): the testing package removes that when the
			// test ends, and the picture is for after.
			if dir, err := os.MkdirTemp("", "pimvault-browser-"+regexp.MustCompile(`[^A-Za-z0-9]+`).ReplaceAllString(t.Name(), "-")+"-"); err == nil {
				path := filepath.Join(dir, regexp.MustCompile(`[^a-z0-9]+`).ReplaceAllString(strings.ToLower(name), "-")+".png")
				if os.WriteFile(path, png, 0o644) == nil {
					shot = "screenshot: " + path
				}
			}
		}
		t.Fatalf("browser step %q failed at %s: %v\n%s", name, loc, err, shot)
	}
	return v
}

// docShots saves the current page at desktop and phone widths into
// $PIMVAULT_WEB_SCREENSHOTS, when it is set.
func docShots(t *testing.T, tab context.Context, name string) {
	t.Helper()
	dir := os.Getenv("PIMVAULT_WEB_SCREENSHOTS")
	if dir == "" {
		return
	}
	for _, size := range []struct {
		suffix string
		w, h   int64
	}{{"desktop", 1280, 900}, {"phone", 390, 844}} {
		step(t, tab, "resize for "+name, chromedp.EmulateViewport(size.w, size.h), chromedp.Sleep(200*time.Millisecond))
		png := value(t, tab, "screenshot "+name, chromedp.CaptureScreenshot())
		if err := os.WriteFile(filepath.Join(dir, name+"-"+size.suffix+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	step(t, tab, "reset viewport", chromedp.EmulateViewport(1280, 900))
}

// browserSignIn opens GET / and signs in through the form.
func browserSignIn(t *testing.T, tab context.Context, base, user, pw string) {
	t.Helper()
	step(t, tab, "open the sign-in page", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.ID("user")))
	loc := value(t, tab, "location", chromedp.Location())
	if !strings.HasSuffix(loc, "/web/signin") {
		t.Fatalf("GET / led to %s, want the sign-in page", loc)
	}
	docShots(t, tab, "signin")
	step(t, tab, "sign in",
		chromedp.SendKeys(chromedp.ID("user"), user),
		chromedp.SendKeys(chromedp.ID("password"), pw),
		chromedp.Click(chromedp.CSS(`form[action="/web/signin"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`form.signout`)))
	loc = value(t, tab, "location", chromedp.Location())
	if !strings.HasSuffix(loc, "/web/collections") {
		t.Fatalf("after sign-in the browser is at %s", loc)
	}
}

// evalInt evaluates a JavaScript expression in the page (DevTools, not a
// page script: the pages' CSP forbids those).
func evalInt(t *testing.T, tab context.Context, what, expr string) int {
	t.Helper()
	return value(t, tab, what, chromedp.Evaluate[int](expr))
}

func TestBrowserCalendarMonth(t *testing.T) {
	tab := newTab(t)
	dir := t.TempDir()
	rs := startServer(t, dir)
	browserSignIn(t, tab, rs.url, "admin", rs.password)

	step(t, tab, "create a calendar",
		chromedp.Click(chromedp.CSS(`input[name=kind][value=calendar]`)),
		chromedp.SendKeys(chromedp.ID("display"), "Team"),
		chromedp.Click(chromedp.CSS(`form[action="/web/collections"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`.notice`)))
	loc := value(t, tab, "location", chromedp.Location())
	if !strings.Contains(loc, "/web/c/team") {
		t.Fatalf("after creating the calendar the browser is at %s", loc)
	}

	// Events PUT over CalDAV: a weekly one from Monday 1 March 2027, and a
	// one-off on the 17th.
	put := func(name, uid, start, rule, summary string) {
		t.Helper()
		body := "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//pimvault//test//EN\r\nBEGIN:VEVENT\r\nUID:" + uid +
			"\r\nDTSTAMP:20270101T000000Z\r\nDTSTART:" + start + "\r\nDURATION:PT30M\r\n" + rule + "SUMMARY:" + summary + "\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
		resp, b := davDo(t, rs, "admin", rs.password, "PUT", "/dav/calendars/admin/team/"+name, map[string]string{"Content-Type": "text/calendar"}, body)
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("PUT %s: %d %s", name, resp.StatusCode, b)
		}
	}
	put("standup.ics", "standup", "20270301T090000Z", "RRULE:FREQ=WEEKLY\r\n", "Standup")
	put("dentist.ics", "dentist", "20270317T140000Z", "", "Dentist")

	daysWith := func(text string) []string {
		t.Helper()
		return value(t, tab, "find "+text, chromedp.Evaluate[[]string](`Array.from(document.querySelectorAll("li.day")).filter(d => d.textContent.includes(`+"`"+text+"`"+`)).map(d => d.dataset.date)`))
	}
	// Every Monday of the grid from the first on, and nothing else.
	expectMondays := func(month string) {
		t.Helper()
		first := value(t, tab, "grid of "+month, chromedp.Evaluate[string](`document.querySelector("li.day").dataset.date`))
		last := value(t, tab, "grid of "+month, chromedp.Evaluate[string](`Array.from(document.querySelectorAll("li.day")).pop().dataset.date`))
		from, _ := time.Parse("2006-01-02", first)
		to, _ := time.Parse("2006-01-02", last)
		start := time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC)
		var want []string
		for d := from; !d.After(to); d = d.AddDate(0, 0, 1) {
			if d.Weekday() == time.Monday && !d.Before(start) {
				want = append(want, d.Format("2006-01-02"))
			}
		}
		got := daysWith("Standup")
		if strings.Join(got, " ") != strings.Join(want, " ") || len(want) < 4 {
			t.Fatalf("%s: the weekly event is on %v, want every Monday from 1 March: %v", month, got, want)
		}
	}
	step(t, tab, "open March 2027", chromedp.Navigate(rs.url+"/web/c/team?month=2027-03&tz=UTC"), chromedp.WaitVisible(chromedp.CSS(`ol.month`)))
	expectMondays("March 2027")
	if got := daysWith("Dentist"); strings.Join(got, " ") != "2027-03-17" {
		t.Fatalf("the one-off event is on %v, want 2027-03-17", got)
	}
	if n := evalInt(t, tab, "time shown", `document.querySelectorAll("li.day[data-date='2027-03-17'] time").length`); n != 1 {
		t.Fatalf("the one-off event shows %d times of day, want 1", n)
	}
	docShots(t, tab, "month")
	step(t, tab, "next month", chromedp.Click(chromedp.CSS(`a[rel=next]`)), chromedp.WaitVisible(chromedp.CSS(`ol.month`)))
	loc = value(t, tab, "location", chromedp.Location())
	if !strings.Contains(loc, "month=2027-04") {
		t.Fatalf("Next led to %s", loc)
	}
	expectMondays("April 2027")
	if got := daysWith("Dentist"); len(got) != 0 {
		t.Fatalf("the one-off event shows in April on %v", got)
	}
	step(t, tab, "collections", chromedp.Navigate(rs.url+"/web/collections"), chromedp.WaitVisible(chromedp.CSS(`h1`)))
	docShots(t, tab, "collections")
}

// syncCollection runs a sync-collection REPORT and returns the answer.
func syncCollection(t *testing.T, rs *runningServer, user, pw, path, token string) string {
	t.Helper()
	body := `<?xml version="1.0" encoding="utf-8"?><D:sync-collection xmlns:D="DAV:"><D:sync-token>` + token +
		`</D:sync-token><D:sync-level>1</D:sync-level><D:prop><D:getetag/></D:prop></D:sync-collection>`
	resp, b := davDo(t, rs, user, pw, "REPORT", path, map[string]string{"Content-Type": "application/xml", "Depth": "1"}, body)
	if resp.StatusCode != http.StatusMultiStatus {
		t.Fatalf("sync-collection (token %q): %d %s", token, resp.StatusCode, b)
	}
	return b
}

var (
	syncTokenRE = regexp.MustCompile(`<D:sync-token>([^<]+)</D:sync-token>`)
	responseRE  = regexp.MustCompile(`(?s)<D:response>(.*?)</D:response>`)
	hrefRE      = regexp.MustCompile(`<D:href>([^<]+)</D:href>`)
)

func TestBrowserUndoDeletedContacts(t *testing.T) {
	tab := newTab(t)
	dir := t.TempDir()
	rs := startServer(t, dir)
	const book = "/dav/addressbooks/admin/contacts/"
	for i := 1; i <= 20; i++ {
		putContact(t, rs, "admin", rs.password, "contacts", fmt.Sprintf("c%02d.vcf", i), testVCard(fmt.Sprintf("uid-%02d", i), fmt.Sprintf("Person %02d", i)))
	}
	// A second client syncs now and keeps its token.
	m := syncTokenRE.FindStringSubmatch(syncCollection(t, rs, "admin", rs.password, book, ""))
	if m == nil {
		t.Fatal("no sync-token in the initial listing")
	}
	oldToken := m[1]
	// A buggy client deletes all 20 over CardDAV.
	for i := 1; i <= 20; i++ {
		if resp, b := davDo(t, rs, "admin", rs.password, "DELETE", book+fmt.Sprintf("c%02d.vcf", i), nil, ""); resp.StatusCode != http.StatusNoContent {
			t.Fatalf("DELETE: %d %s", resp.StatusCode, b)
		}
	}

	browserSignIn(t, tab, rs.url, "admin", rs.password)
	step(t, tab, "contacts page is empty", chromedp.Navigate(rs.url+"/web/c/contacts"), chromedp.WaitVisible(chromedp.CSS(`form.search`)))
	if n := evalInt(t, tab, "count contacts", `document.querySelectorAll("table.contacts tbody tr").length`); n != 0 {
		t.Fatalf("%d contacts listed after the deletes", n)
	}
	step(t, tab, "open the history", chromedp.Click(chromedp.CSS(`a[href="/web/history?collection=contacts"]`)), chromedp.WaitVisible(chromedp.CSS(`table.history`)))
	docShots(t, tab, "history")
	// The oldest of the 20 deletes is the 20th row (newest first); undo
	// from there.
	if n := evalInt(t, tab, "count delete rows", `Array.from(document.querySelectorAll("table.history tbody tr")).filter(r => r.cells[1].textContent.trim() == "delete").length`); n != 20 {
		t.Fatalf("the history lists %d deletes, want 20", n)
	}
	step(t, tab, "undo from the oldest delete",
		chromedp.Evaluate[chromedp.Void](`Array.from(document.querySelectorAll("table.history tbody tr")).filter(r => r.cells[1].textContent.trim() == "delete").pop().querySelector("button").focus(), null`),
		chromedp.KeyEvent("\r"),
		chromedp.WaitVisible(chromedp.ID("back")))
	back := evalInt(t, tab, "count what comes back", `document.querySelectorAll("#back + ul.items li").length`)
	gone := evalInt(t, tab, "count what goes", `document.querySelectorAll("#gone + ul.items li").length`)
	backText := value(t, tab, "read the preview", chromedp.Text(chromedp.CSS(`#back + ul.items`)))
	if back != 20 || gone != 0 || !strings.Contains(backText, "c01.vcf") || !strings.Contains(backText, "c20.vcf") || !strings.Contains(backText, "re-add") {
		t.Fatalf("preview: %d come back, %d go, want 20 and 0:\n%s", back, gone, backText)
	}
	// The preview changed nothing.
	if resp, _ := davDo(t, rs, "admin", rs.password, "GET", book+"c01.vcf", nil, ""); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("after the preview c01.vcf answers %d, want 404", resp.StatusCode)
	}
	docShots(t, tab, "undo-preview")
	step(t, tab, "apply", chromedp.Click(chromedp.CSS(`form[action$="/undo/apply"] button`)), chromedp.WaitVisible(chromedp.ID("undone")))
	h1 := value(t, tab, "read the heading", chromedp.Text(chromedp.CSS(`h1`)))
	if h1 != "Undo: done" {
		t.Fatalf("after apply the page says %q", h1)
	}
	if n := evalInt(t, tab, "count what came back", `document.querySelectorAll("#back + ul.items li").length`); n != 20 {
		t.Fatalf("the result lists %d items back, want 20", n)
	}
	step(t, tab, "contacts are back", chromedp.Navigate(rs.url+"/web/c/contacts"), chromedp.WaitVisible(chromedp.CSS(`table.contacts`)))
	if n := evalInt(t, tab, "count contacts", `document.querySelectorAll("table.contacts tbody tr").length`); n != 20 {
		t.Fatalf("%d contacts listed after the undo, want 20", n)
	}
	docShots(t, tab, "contacts")

	// The second client syncs with its old token and sees all 20 return,
	// with the same UIDs.
	answer := syncCollection(t, rs, "admin", rs.password, book, oldToken)
	present := map[string]bool{}
	for _, r := range responseRE.FindAllStringSubmatch(answer, -1) {
		h := hrefRE.FindStringSubmatch(r[1])
		if h == nil {
			continue
		}
		if strings.Contains(r[1], "HTTP/1.1 404") {
			t.Errorf("sync with the old token reports %s deleted", h[1])
			continue
		}
		if strings.Contains(r[1], "getetag") {
			present[h[1]] = true
		}
	}
	if len(present) != 20 {
		t.Fatalf("sync with the old token shows %d items present, want 20:\n%s", len(present), answer)
	}
	for i := 1; i <= 20; i++ {
		resp, body := davDo(t, rs, "admin", rs.password, "GET", book+fmt.Sprintf("c%02d.vcf", i), nil, "")
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, fmt.Sprintf("UID:uid-%02d", i)) {
			t.Fatalf("c%02d.vcf after the undo: %d\n%s", i, resp.StatusCode, body)
		}
	}
}

func TestBrowserAdminClosesRecovery(t *testing.T) {
	tab := newTab(t)
	dir := t.TempDir()
	rs := startServer(t, dir)
	addUser(t, dir, "bob", "bob-password-1")
	// bob has a pimvault device, which the server records.
	const dev = "phone-of-bob"
	requireRecoveryProtocol(t, rs.url, "bob", "bob-password-1", dev)
	if res := pimvault(t, "recovery", "open", "--user", "bob", "--reason", "test: lost disk", "--data", dir); res.code != 0 {
		t.Fatalf("recovery open: %s", res)
	}
	if resp, _ := davDo(t, rs, "bob", "bob-password-1", "PROPFIND", "/dav/addressbooks/bob/", map[string]string{"Depth": "0"}, ""); resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("a stock client of a RECOVERING account: %d, want 503", resp.StatusCode)
	}

	browserSignIn(t, tab, rs.url, "admin", rs.password)
	step(t, tab, "open the admin page", chromedp.Click(chromedp.CSS(`a[href="/web/admin"]`)), chromedp.WaitVisible(chromedp.ID("recovering")))
	section := value(t, tab, "read the recovery", chromedp.Text(chromedp.CSS(`#recovering + section`)))
	if !strings.Contains(section, "bob") || !strings.Contains(section, "lost disk") || !strings.Contains(section, dev) || !strings.Contains(section, "waiting") {
		t.Fatalf("the admin page's recovery section lacks bob, the reason or the device:\n%s", section)
	}
	docShots(t, tab, "admin")
	step(t, tab, "close the recovery",
		chromedp.Click(chromedp.CSS(`form[action="/web/admin/recovery/bob/close"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`.notice`)))
	notice := value(t, tab, "read the notice", chromedp.Text(chromedp.CSS(`.notice`)))
	if !strings.Contains(notice, "Recovery closed") {
		t.Fatalf("after closing the page says %q", notice)
	}
	if n := evalInt(t, tab, "recoveries left", `document.querySelectorAll("#recovering + section").length`); n != 0 {
		t.Fatalf("%d recoveries still listed", n)
	}
	if res := pimvault(t, "recovery", "status", "--user", "bob", "--data", dir); !strings.Contains(res.stdout, "state: normal") {
		t.Fatalf("recovery status after the close:\n%s", res)
	}
	if resp, b := davDo(t, rs, "bob", "bob-password-1", "PROPFIND", "/dav/addressbooks/bob/", map[string]string{"Depth": "0"}, ""); resp.StatusCode != http.StatusMultiStatus {
		t.Fatalf("a stock client after the close: %d, want 207\n%s", resp.StatusCode, b)
	}
}
