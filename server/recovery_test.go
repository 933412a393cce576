package server

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/pimvault/pimvault/account"
	"github.com/pimvault/pimvault/storage"
	"github.com/pimvault/pimvault/syncproto"
)

const (
	testBook   = "/dav/addressbooks/alice/contacts/"
	testDevice = "phone-1"
)

// dev is the header set of a pimvault device request.
func dev(id string, more ...string) map[string]string {
	h := map[string]string{HeaderDevice: id}
	for i := 0; i+1 < len(more); i += 2 {
		h[more[i]] = more[i+1]
	}
	return h
}

func syncReport(tok string) string {
	return `<D:sync-collection xmlns:D="DAV:"><D:sync-token>` + tok + `</D:sync-token><D:sync-level>1</D:sync-level><D:prop><D:getetag/></D:prop></D:sync-collection>`
}

// putCards stores cards uid→fn for alice and returns the store's head.
func putCards(t *testing.T, e *testEnv, uids ...string) {
	t.Helper()
	for _, uid := range uids {
		resp, body := e.do(t, "alice", "PUT", testBook+uid+".vcf", map[string]string{"Content-Type": "text/vcard"}, testCard(uid, "Name "+uid))
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("put %s: %d %s", uid, resp.StatusCode, body)
		}
	}
}

func recovering(t *testing.T, e *testEnv, user string) bool {
	t.Helper()
	st, err := e.store.PrincipalState(user)
	if err != nil {
		t.Fatal(err)
	}
	return st.Recovery.Recovering
}

func openRecovery(t *testing.T, e *testEnv, user string) {
	t.Helper()
	if _, err := e.store.OpenRecovery(context.Background(), user, "test", ""); err != nil {
		t.Fatal(err)
	}
}

func checkRecovering503(t *testing.T, what string, resp *http.Response, body string) {
	t.Helper()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("%s: got %d %s, want 503", what, resp.StatusCode, body)
	}
	ra, err := strconv.Atoi(resp.Header.Get("Retry-After"))
	if err != nil || ra < 60 || ra > 300 {
		t.Fatalf("%s: Retry-After %q, want an integer in [60, 300]", what, resp.Header.Get("Retry-After"))
	}
	if strings.Contains(body, "valid-sync-token") || strings.Contains(body, "multistatus") || strings.Contains(body, "BEGIN:VCARD") {
		t.Fatalf("%s: a 503 that carries data: %s", what, body)
	}
	if resp.Header.Get(HeaderEpoch) != "" || resp.Header.Get(HeaderRecovering) != "" {
		t.Fatalf("%s: a stock client got device headers", what)
	}
}

// TestRecoveryGateStockClient: every DAV request of a stock client of a
// RECOVERING principal is 503 with Retry-After in [60, 300], nothing else
// (not 404, not a listing), and changes nothing; OPTIONS still answers;
// another principal is served as usual.
func TestRecoveryGateStockClient(t *testing.T) {
	e := newTestEnv(t)
	putCards(t, e, "a", "b")
	openRecovery(t, e, "alice")
	head := e.store.Head()
	vcf := map[string]string{"Content-Type": "text/vcard"}
	reqs := []struct {
		method, path string
		hdr          map[string]string
		body         string
	}{
		{"PROPFIND", testBook, map[string]string{"Depth": "1"}, ""},
		{"PROPFIND", "/", map[string]string{"Depth": "0"}, ""},
		{"PROPFIND", "/dav/principals/alice/", map[string]string{"Depth": "0"}, ""},
		{"REPORT", testBook, nil, syncReport("")},
		{"REPORT", testBook, nil, syncReport("data:,pv1-00000000deadbeef-3")},
		{"GET", testBook + "a.vcf", nil, ""},
		{"GET", testBook + "missing.vcf", nil, ""},
		{"GET", "/dav/addressbooks/bob/contacts/x.vcf", nil, ""},
		{"HEAD", testBook + "a.vcf", nil, ""},
		{"PUT", testBook + "c.vcf", vcf, testCard("c", "C")},
		{"PUT", testBook + "a.vcf", vcf, testCard("a", "changed")},
		{"DELETE", testBook + "a.vcf", nil, ""},
		{"DELETE", testBook, nil, ""},
		{"MKCOL", "/dav/addressbooks/alice/new/", nil, ""},
		{"PROPPATCH", testBook, nil, `<D:propertyupdate xmlns:D="DAV:"><D:set><D:prop><D:displayname>x</D:displayname></D:prop></D:set></D:propertyupdate>`},
		{"MOVE", testBook + "a.vcf", map[string]string{"Destination": testBook + "z.vcf"}, ""},
		{"LOCK", testBook, nil, ""},
	}
	for _, rq := range reqs {
		resp, body := e.do(t, "alice", rq.method, rq.path, rq.hdr, rq.body)
		checkRecovering503(t, rq.method+" "+rq.path, resp, body)
	}
	// A malformed device id is a stock client.
	resp, body := e.do(t, "alice", "PROPFIND", testBook, dev("bad id!"), "")
	checkRecovering503(t, "malformed device id", resp, body)
	if got := e.store.Head(); got != head {
		t.Fatalf("stock requests during recovery changed the store: head %d → %d", head, got)
	}
	if resp, _ := e.do(t, "alice", "OPTIONS", testBook, nil, ""); resp.StatusCode != http.StatusOK {
		t.Fatalf("OPTIONS during recovery: %d, want 200", resp.StatusCode)
	}
	if resp, body := e.do(t, "bob", "PROPFIND", "/dav/addressbooks/bob/contacts/", map[string]string{"Depth": "1"}, ""); resp.StatusCode != http.StatusMultiStatus {
		t.Fatalf("bob is not recovering but got %d %s", resp.StatusCode, body)
	}
	if _, err := e.store.CloseRecovery(context.Background(), "alice", "test"); err != nil {
		t.Fatal(err)
	}
	if resp, body := e.do(t, "alice", "GET", testBook+"a.vcf", nil, ""); resp.StatusCode != http.StatusOK || !strings.Contains(body, "UID:a") {
		t.Fatalf("after close: %d %s", resp.StatusCode, body)
	}
}

// TestRecoveryDeviceServed: a device is served during recovery, with the
// epoch and recovering headers, and is registered.
func TestRecoveryDeviceServed(t *testing.T) {
	e := newTestEnv(t)
	putCards(t, e, "a", "b")
	epoch := epochOf(t, e)
	resp, _ := e.do(t, "alice", "PROPFIND", testBook, dev(testDevice, "Depth", "1"), "")
	if resp.StatusCode != http.StatusMultiStatus || resp.Header.Get(HeaderEpoch) != epoch || resp.Header.Get(HeaderRecovering) != "" {
		t.Fatalf("normal device request: %d epoch %q recovering %q, want 207 %q \"\"", resp.StatusCode,
			resp.Header.Get(HeaderEpoch), resp.Header.Get(HeaderRecovering), epoch)
	}
	if resp, _ := e.do(t, "alice", "PROPFIND", testBook, map[string]string{"Depth": "1"}, ""); resp.Header.Get(HeaderEpoch) != "" {
		t.Fatal("a stock client got X-Pimvault-Epoch")
	}
	if resp, _ := e.do(t, "", "PROPFIND", testBook, dev(testDevice), ""); resp.StatusCode != http.StatusUnauthorized || resp.Header.Get(HeaderEpoch) != epoch {
		t.Fatalf("unauthenticated device request: %d epoch %q", resp.StatusCode, resp.Header.Get(HeaderEpoch))
	}
	openRecovery(t, e, "alice")
	for _, rq := range []struct{ method, path, body string }{
		{"PROPFIND", testBook, ""},
		{"GET", testBook + "a.vcf", ""},
		{"REPORT", testBook, syncReport("")},
		{"REPORT", testBook, `<C:addressbook-multiget xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:prop><D:getetag/></D:prop><D:href>` + testBook + `a.vcf</D:href></C:addressbook-multiget>`},
	} {
		resp, body := e.do(t, "alice", rq.method, rq.path, dev(testDevice, "Depth", "1"), rq.body)
		if resp.StatusCode/100 != 2 || resp.Header.Get(HeaderEpoch) != epoch || resp.Header.Get(HeaderRecovering) != "1" {
			t.Fatalf("device %s %s during recovery: %d epoch %q recovering %q %s", rq.method, rq.path, resp.StatusCode,
				resp.Header.Get(HeaderEpoch), resp.Header.Get(HeaderRecovering), body)
		}
	}
	resp, _ = e.do(t, "alice", "PUT", testBook+"c.vcf", dev(testDevice, "Content-Type", "text/vcard", "If-None-Match", "*"), testCard("c", "C"))
	if resp.StatusCode != http.StatusCreated || resp.Header.Get(HeaderRecovering) != "1" {
		t.Fatalf("device upload during recovery: %d", resp.StatusCode)
	}
	st, err := e.store.PrincipalState("alice")
	if err != nil {
		t.Fatal(err)
	}
	if d, ok := st.Devices[testDevice]; !ok || d.LastSeen.IsZero() {
		t.Fatalf("device not registered: %+v", st.Devices)
	}
	if len(st.Devices) != 1 {
		t.Fatalf("devices %+v, want only %s (malformed ids are stock clients)", st.Devices, testDevice)
	}
}

// TestRecoveryDeviceSeenWritesRarely: many requests of one device write its
// last-seen once.
func TestRecoveryDeviceSeenWritesRarely(t *testing.T) {
	e := newTestEnv(t)
	e.do(t, "alice", "PROPFIND", testBook, dev(testDevice), "")
	head := e.store.Head()
	for i := 0; i < 20; i++ {
		e.do(t, "alice", "PROPFIND", testBook, dev(testDevice), "")
	}
	if got := e.store.Head(); got != head {
		t.Fatalf("20 requests of a known device wrote %d records, want 0", got-head)
	}
}

// TestRecoverySyncTokens is syncproto.Decide's decision table over HTTP,
// for a stock client and a device, each on a fresh store.
func TestRecoverySyncTokens(t *testing.T) {
	type want struct {
		status     int
		contains   string
		recovering bool
	}
	cases := []struct {
		name   string
		token  func(epoch string, head, last uint64) string
		stock  want
		device want
	}{
		{"no token", func(string, uint64, uint64) string { return "" },
			want{207, "a.vcf", false}, want{207, "a.vcf", false}},
		{"current at last change", func(e string, _, last uint64) string { return tokenOf(e, last) },
			want{207, "<D:sync-token>", false}, want{207, "<D:sync-token>", false}},
		{"current too old", func(e string, _, _ uint64) string { return tokenOf(e, 1) },
			want{403, "valid-sync-token", false}, want{403, "valid-sync-token", false}},
		{"malformed", func(string, uint64, uint64) string { return "data:,pv1-XYZ-1" },
			want{403, "valid-sync-token", false}, want{403, "valid-sync-token", false}},
		{"forged scheme", func(e string, _, last uint64) string { return "http://pv1-" + e + "-" + strconv.FormatUint(last, 10) },
			want{403, "valid-sync-token", false}, want{403, "valid-sync-token", false}},
		{"past this collection's last change (another collection's)", func(e string, head, last uint64) string { return tokenOf(e, head) },
			want{403, "valid-sync-token", false}, want{403, "valid-sync-token", false}},
		{"ahead of head", func(e string, head, _ uint64) string { return tokenOf(e, head+1) },
			want{503, "", true}, want{409, "", true}},
		{"huge seq", func(e string, _, _ uint64) string { return tokenOf(e, 1<<63) },
			want{503, "", true}, want{409, "", true}},
		{"unknown epoch", func(string, uint64, uint64) string { return tokenOf("00000000deadbeef", 3) },
			want{503, "", true}, want{409, "", true}},
	}
	for _, tc := range cases {
		for _, client := range []string{"stock", "device"} {
			t.Run(tc.name+"/"+client, func(t *testing.T) {
				e := newTestEnv(t)
				putCards(t, e, "a", "b")
				// bob writes last, so alice's collection is behind the head.
				e.do(t, "bob", "PUT", "/dav/addressbooks/bob/contacts/x.vcf", map[string]string{"Content-Type": "text/vcard"}, testCard("x", "X"))
				if client == "device" {
					e.do(t, "alice", "PROPFIND", testBook, dev(testDevice), "") // its first request writes last-seen
				}
				c, err := e.store.Collection("alice", "contacts")
				if err != nil {
					t.Fatal(err)
				}
				epoch := epochOf(t, e)
				w, hdr := tc.stock, map[string]string(nil)
				if client == "device" {
					w, hdr = tc.device, dev(testDevice)
				}
				resp, body := e.do(t, "alice", "REPORT", testBook, hdr, syncReport(tc.token(epoch, e.store.Head(), c.LastSeq)))
				if resp.StatusCode != w.status || !strings.Contains(body, w.contains) {
					t.Fatalf("got %d %s, want %d with %q", resp.StatusCode, body, w.status, w.contains)
				}
				if got := recovering(t, e, "alice"); got != w.recovering {
					t.Fatalf("recovering = %v, want %v", got, w.recovering)
				}
				if w.status == 503 {
					checkRecovering503(t, "sync", resp, body)
				}
				if client == "device" && (resp.Header.Get(HeaderEpoch) == "" || (w.recovering && resp.Header.Get(HeaderRecovering) != "1")) {
					t.Fatalf("device headers: epoch %q recovering %q", resp.Header.Get(HeaderEpoch), resp.Header.Get(HeaderRecovering))
				}
				if recovering(t, e, "bob") {
					t.Fatal("bob became recovering because of alice's token")
				}
				for _, uid := range []string{"a", "b"} {
					if _, err := e.store.Get("alice", "contacts", uid+".vcf"); err != nil {
						t.Fatalf("%s lost: %v", uid, err)
					}
				}
			})
		}
	}
}

func tokenOf(epoch string, seq uint64) string {
	return "data:,pv1-" + epoch + "-" + strconv.FormatUint(seq, 10)
}

// TestRecoveryFullHistoryToken: data:,pv1-<epoch>-0 lists every member and
// every tombstone, during recovery too.
func TestRecoveryFullHistoryToken(t *testing.T) {
	e := newTestEnv(t)
	putCards(t, e, "a", "b", "c")
	if resp, _ := e.do(t, "alice", "DELETE", testBook+"b.vcf", nil, ""); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("delete: %d", resp.StatusCode)
	}
	openRecovery(t, e, "alice")
	resp, body := e.do(t, "alice", "REPORT", testBook, dev(testDevice), syncReport(tokenOf(epochOf(t, e), 0)))
	if resp.StatusCode != http.StatusMultiStatus {
		t.Fatalf("full history: %d %s", resp.StatusCode, body)
	}
	if strings.Count(body, "<D:getetag>") != 2 || !strings.Contains(body, "a.vcf") || !strings.Contains(body, "c.vcf") {
		t.Fatalf("full history lacks the members: %s", body)
	}
	i := strings.Index(body, "b.vcf")
	if i < 0 || !strings.Contains(body[i:], "404") {
		t.Fatalf("full history lacks the tombstone of b.vcf: %s", body)
	}
	if !recovering(t, e, "alice") {
		t.Fatal("seq 0 closed or changed the recovery")
	}
}

// TestRecoveryDone: the report endpoint, and the automatic close once every
// recently seen device has reported.
func TestRecoveryDone(t *testing.T) {
	e := newTestEnv(t)
	e.do(t, "alice", "PROPFIND", testBook, dev("phone"), "")
	e.do(t, "alice", "PROPFIND", testBook, dev("laptop"), "")
	head := e.store.Head()
	if resp, _ := e.do(t, "alice", "POST", "/api/recovery/done", dev("phone"), ""); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("done outside recovery: %d", resp.StatusCode)
	}
	if e.store.Head() != head {
		t.Fatal("done outside recovery changed the store")
	}
	if resp, _ := e.do(t, "alice", "POST", "/api/recovery/done", nil, ""); resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("done without a device id: %d, want 400", resp.StatusCode)
	}
	if resp, _ := e.do(t, "alice", "GET", "/api/recovery/done", dev("phone"), ""); resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("GET done: %d, want 405", resp.StatusCode)
	}
	if resp, _ := e.do(t, "", "POST", "/api/recovery/done", dev("phone"), ""); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("done without credentials: %d, want 401", resp.StatusCode)
	}
	openRecovery(t, e, "alice")
	resp, _ := e.do(t, "alice", "POST", "/api/recovery/done", dev("phone"), "")
	if resp.StatusCode != http.StatusNoContent || !recovering(t, e, "alice") || resp.Header.Get(HeaderRecovering) != "1" {
		t.Fatalf("one of two devices reported: %d recovering %v", resp.StatusCode, recovering(t, e, "alice"))
	}
	st, _ := e.store.PrincipalState("alice")
	if w := storage.DevicesWaiting(st, DefaultRecoveryDeviceWindow, st.Recovery.Since); len(w) != 1 || w[0] != "laptop" {
		t.Fatalf("waiting for %v, want [laptop]", w)
	}
	resp, _ = e.do(t, "alice", "POST", "/api/recovery/done", dev("laptop"), "")
	if resp.StatusCode != http.StatusNoContent || recovering(t, e, "alice") || resp.Header.Get(HeaderRecovering) != "" {
		t.Fatalf("both devices reported: %d, still recovering %v", resp.StatusCode, recovering(t, e, "alice"))
	}
	if resp, _ := e.do(t, "alice", "PROPFIND", testBook, map[string]string{"Depth": "1"}, ""); resp.StatusCode != http.StatusMultiStatus {
		t.Fatalf("stock client after automatic close: %d", resp.StatusCode)
	}
}

// TestRecoveryAcceptedAfterClose: once closed, the token that opened the
// recovery gets DAV:valid-sync-token, not RECOVERING again.
func TestRecoveryAcceptedAfterClose(t *testing.T) {
	e := newTestEnv(t)
	putCards(t, e, "a")
	lost := tokenOf("00000000deadbeef", 3)
	if resp, _ := e.do(t, "alice", "REPORT", testBook, nil, syncReport(lost)); resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("lost token: %d", resp.StatusCode)
	}
	if _, err := e.store.CloseRecovery(context.Background(), "alice", "test"); err != nil {
		t.Fatal(err)
	}
	if resp, body := e.do(t, "alice", "REPORT", testBook, nil, syncReport(lost)); resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "valid-sync-token") {
		t.Fatalf("accepted token after close: %d %s", resp.StatusCode, body)
	}
	if recovering(t, e, "alice") {
		t.Fatal("an accepted epoch reopened the recovery")
	}
	// A device that comes late with that token still reconciles (409), and
	// the recovery stays closed.
	resp, _ := e.do(t, "alice", "REPORT", testBook, dev("late-phone"), syncReport(lost))
	if resp.StatusCode != http.StatusConflict || resp.Header.Get(HeaderRecovering) != "" || resp.Header.Get(HeaderEpoch) != epochOf(t, e) {
		t.Fatalf("late device with an accepted epoch: %d recovering %q epoch %q, want 409 without X-Pimvault-Recovering",
			resp.StatusCode, resp.Header.Get(HeaderRecovering), resp.Header.Get(HeaderEpoch))
	}
	if recovering(t, e, "alice") {
		t.Fatal("a late device reopened the recovery")
	}
	if resp, _ := e.do(t, "alice", "REPORT", testBook, nil, syncReport(tokenOf("00000000cafecafe", 3))); resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("another unknown epoch after close: %d, want 503", resp.StatusCode)
	}
}

// TestRecoveryAheadIsPerAccount: a token of the current epoch ahead of the
// head makes that account RECOVERING, and only it: no store-wide epoch
// starts, another account syncs on. A client presenting forged tokens in a
// loop is held to the per-account limit: the journal does not grow with
// each one.
func TestRecoveryAheadIsPerAccount(t *testing.T) {
	e := newTestEnv(t)
	putCards(t, e, "a")
	old := epochOf(t, e)
	_, body := e.do(t, "bob", "REPORT", "/dav/addressbooks/bob/contacts/", nil, syncReport(""))
	bobTok := between(body, "<D:sync-token>", "</D:sync-token>")
	ahead := tokenOf(old, e.store.Head()+5)
	if resp, _ := e.do(t, "alice", "REPORT", testBook, nil, syncReport(ahead)); resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("ahead token: %d (Retry-After %q), want 503 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if epochOf(t, e) != old {
		t.Fatal("a token ahead of the head started a store-wide epoch")
	}
	if !recovering(t, e, "alice") || recovering(t, e, "bob") {
		t.Fatalf("alice recovering %v, bob %v; want only alice", recovering(t, e, "alice"), recovering(t, e, "bob"))
	}
	rs, err := e.store.RecoveryState("alice")
	if err != nil || !strings.Contains(rs.Reason, "sync token") {
		t.Fatalf("recovery status does not say why: %+v %v", rs, err)
	}
	if resp, body := e.do(t, "bob", "REPORT", "/dav/addressbooks/bob/contacts/", nil, syncReport(bobTok)); resp.StatusCode != http.StatusMultiStatus {
		t.Fatalf("bob's own token: %d %s", resp.StatusCode, body)
	}
	head := e.store.Head()
	for i := range 200 {
		forged := tokenOf("00000000dead"+strconv.Itoa(1000+i), 3)
		if resp, _ := e.do(t, "alice", "REPORT", testBook, nil, syncReport(forged)); resp.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("forged unknown-epoch token %d: %d, want 503", i, resp.StatusCode)
		}
		e.do(t, "alice", "REPORT", testBook, nil, syncReport(tokenOf(old, head+uint64(10+i))))
	}
	if grew := e.store.Head() - head; grew > lossBurst+1 {
		t.Fatalf("400 forged tokens wrote %d journal records, want at most %d", grew, lossBurst+1)
	}
	if epochOf(t, e) != old {
		t.Fatal("forged tokens started a store-wide epoch")
	}
}

// TestRecoveryDedupe: a device's If-None-Match: * re-upload of an object the
// server already holds (same UID and body) is deduplicated, over HTTP.
func TestRecoveryDedupe(t *testing.T) {
	e := newTestEnv(t)
	putCards(t, e, "a")
	orig, err := e.store.Get("alice", "contacts", "a.vcf")
	if err != nil {
		t.Fatal(err)
	}
	openRecovery(t, e, "alice")
	up := func(name, body string) (*http.Response, string) {
		return e.do(t, "alice", "PUT", testBook+name, dev(testDevice, "Content-Type", "text/vcard", "If-None-Match", "*"), body)
	}
	e.do(t, "alice", "PROPFIND", testBook, dev(testDevice), "") // register the device first
	head := e.store.Head()
	resp, body := up("other-name.vcf", testCard("a", "Name a"))
	if resp.StatusCode != http.StatusOK || resp.Header.Get("ETag") != `"`+orig.ETag+`"` || resp.Header.Get(HeaderExisting) != testBook+"a.vcf" {
		t.Fatalf("same body at another name: %d etag %q existing %q %s", resp.StatusCode, resp.Header.Get("ETag"), resp.Header.Get(HeaderExisting), body)
	}
	resp, _ = up("a.vcf", testCard("a", "Name a"))
	if resp.StatusCode != http.StatusOK || resp.Header.Get(HeaderExisting) != "" {
		t.Fatalf("same body at the same name: %d existing %q", resp.StatusCode, resp.Header.Get(HeaderExisting))
	}
	if e.store.Head() != head {
		t.Fatal("deduplicated uploads wrote records")
	}
	if _, err := e.store.Get("alice", "contacts", "other-name.vcf"); err == nil {
		t.Fatal("a duplicate was stored")
	}
	resp, body = up("other-name.vcf", testCard("a", "Another body"))
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "no-uid-conflict") {
		t.Fatalf("same uid, other body, other name: %d %s", resp.StatusCode, body)
	}
	resp, _ = up("a.vcf", testCard("a", "Another body"))
	if resp.StatusCode != http.StatusPreconditionFailed {
		t.Fatalf("same name, other body: %d, want 412", resp.StatusCode)
	}
	for _, bad := range []string{"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:no end\r\n", "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:no uid\r\nEND:VCARD\r\n", "not a vcard"} {
		resp, body = up("bad.vcf", bad)
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "valid-address-data") {
			t.Fatalf("invalid vCard upload: %d %s, want 403 with CARDDAV:valid-address-data", resp.StatusCode, body)
		}
	}
	if e.store.Head() != head {
		t.Fatal("refused uploads wrote records")
	}
	// A stock client's identical re-put keeps its old answer (no dedupe).
	if _, err := e.store.CloseRecovery(context.Background(), "alice", "test"); err != nil {
		t.Fatal(err)
	}
	resp, _ = e.do(t, "alice", "PUT", testBook+"a.vcf", map[string]string{"Content-Type": "text/vcard"}, testCard("a", "Name a"))
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("stock identical re-put: %d, want 204", resp.StatusCode)
	}
}

// TestRecoveryForeignTokens: another collection's token is refused
// (valid-sync-token): its binding names the other collection. An unbound
// pv1 token (older servers') past this collection's last change is refused
// too; at or below it, it cannot be told apart and is harmless: only this
// collection's own changes after it are listed, with no deletion of an
// existing member.
func TestRecoveryForeignTokens(t *testing.T) {
	e := newTestEnv(t)
	const work = "/dav/addressbooks/alice/office/"
	resp, body := e.do(t, "alice", "MKCOL", work, nil, `<D:mkcol xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:carddav"><D:set><D:prop><D:resourcetype><D:collection/><C:addressbook/></D:resourcetype></D:prop></D:set></D:mkcol>`)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("mkcol: %d %s", resp.StatusCode, body)
	}
	vcf := map[string]string{"Content-Type": "text/vcard"}
	e.do(t, "alice", "PUT", work+"w0.vcf", vcf, testCard("w0", "W0"))
	putCards(t, e, "a", "b")
	_, body = e.do(t, "alice", "REPORT", testBook, nil, syncReport(""))
	contactsTok := between(body, "<D:sync-token>", "</D:sync-token>")
	e.do(t, "alice", "PUT", work+"w1.vcf", vcf, testCard("w1", "W1"))
	_, body = e.do(t, "alice", "REPORT", work, nil, syncReport(""))
	workTok := between(body, "<D:sync-token>", "</D:sync-token>")
	if resp, body := e.do(t, "alice", "REPORT", testBook, nil, syncReport(workTok)); resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "valid-sync-token") {
		t.Fatalf("work's token at contacts: %d %s, want 403 valid-sync-token", resp.StatusCode, body)
	}
	if resp, body := e.do(t, "alice", "REPORT", work, nil, syncReport(contactsTok)); resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "valid-sync-token") {
		t.Fatalf("contacts' token at work: %d %s, want 403 valid-sync-token", resp.StatusCode, body)
	}
	unbound, err := syncproto.Parse(contactsTok)
	if err != nil || unbound.Bind == "" {
		t.Fatalf("contacts' token %q is not bound (%v)", contactsTok, err)
	}
	unbound.Bind = ""
	resp, body = e.do(t, "alice", "REPORT", work, nil, syncReport(syncproto.Format(unbound)))
	if resp.StatusCode != http.StatusMultiStatus || !strings.Contains(body, "w1.vcf") || strings.Contains(body, "404") {
		t.Fatalf("contacts' unbound token at work: %d %s, want 207 with w1 and no deletion", resp.StatusCode, body)
	}
	if _, err := e.store.Get("alice", "office", "w0.vcf"); err != nil {
		t.Fatalf("w0 lost: %v", err)
	}
	if recovering(t, e, "alice") {
		t.Fatal("another collection's token made alice RECOVERING")
	}
	// Sequence numbers at the edge of uint64.
	epoch := epochOf(t, e)
	if resp, _ := e.do(t, "alice", "REPORT", testBook, nil, syncReport("data:,pv1-"+epoch+"-18446744073709551616")); resp.StatusCode != http.StatusForbidden {
		t.Fatalf("overflowing seq: %d, want 403", resp.StatusCode)
	}
	if resp, _ := e.do(t, "alice", "REPORT", testBook, dev(testDevice), syncReport("data:,pv1-"+epoch+"-18446744073709551615")); resp.StatusCode != http.StatusConflict {
		t.Fatalf("max seq from a device: %d, want 409", resp.StatusCode)
	}
	for _, uid := range []string{"a", "b"} {
		if _, err := e.store.Get("alice", "contacts", uid+".vcf"); err != nil {
			t.Fatalf("%s lost: %v", uid, err)
		}
	}
}

// FuzzDeviceHeader: any X-Pimvault-Device value is either a valid device id,
// used as is, or treated as a stock client.
func FuzzDeviceHeader(f *testing.F) {
	for _, s := range []string{"phone-1", "", "a b", strings.Repeat("x", 64), strings.Repeat("x", 65), "é", "dev\x00", "../x", "A.b_c-9"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		r, _ := http.NewRequest("GET", "/", nil)
		r.Header[HeaderDevice] = []string{v}
		got := deviceOf(r)
		if got != "" && (got != v || storage.ValidateDeviceID(got) != nil) {
			t.Fatalf("deviceOf(%q) = %q", v, got)
		}
		if got == "" && storage.ValidateDeviceID(v) == nil {
			t.Fatalf("deviceOf(%q) rejected a valid id", v)
		}
	})
}

// TestRecoveryGateBeforeDefaults: the gate answers before the first login
// creates the default collections, so a stock client of a RECOVERING
// account changes nothing at all; a device's first request creates them.
func TestRecoveryGateBeforeDefaults(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	if err := account.AddUser(ctx, e.store, "carol", testPassword); err != nil {
		t.Fatal(err)
	}
	openRecovery(t, e, "carol")
	head := e.store.Head()
	resp, body := e.do(t, "carol", "PROPFIND", "/dav/addressbooks/carol/", map[string]string{"Depth": "1"}, "")
	checkRecovering503(t, "first stock request", resp, body)
	if cols, err := e.store.Collections("carol"); err != nil || len(cols) != 0 || e.store.Head() != head {
		t.Fatalf("a 503'd stock request created %d collections (err %v) or wrote records", len(cols), err)
	}
	resp, body = e.do(t, "carol", "PROPFIND", "/dav/addressbooks/carol/", dev(testDevice, "Depth", "1"), "")
	if resp.StatusCode != http.StatusMultiStatus || !strings.Contains(body, "/dav/addressbooks/carol/contacts/") {
		t.Fatalf("device's first request: %d %s", resp.StatusCode, body)
	}
}
