package server

import (
	"net/http"
	"testing"
)

// TestPutIfNoneMatchETagList: If-None-Match with an ETag list on a vCard PUT
// is checked inside the write (412 when the current ETag is listed), and a
// malformed list is a 400 that changes nothing.
func TestPutIfNoneMatchETagList(t *testing.T) {
	e := newTestEnv(t)
	const obj = "/dav/addressbooks/alice/contacts/x.vcf"
	resp, _ := e.do(t, "alice", "PUT", obj, map[string]string{"Content-Type": "text/vcard"}, testCard("x", "One"))
	etag := resp.Header.Get("ETag")
	if resp.StatusCode != http.StatusCreated || etag == "" {
		t.Fatalf("PUT: %d etag %q", resp.StatusCode, etag)
	}
	tests := []struct {
		name, inm string
		want      int
	}{
		{"current etag listed", `"aaa", ` + etag, http.StatusPreconditionFailed},
		{"weak form of the current etag", `W/` + etag, http.StatusPreconditionFailed},
		{"malformed list", `"aaa", bbb`, http.StatusBadRequest},
		{"other etags", `"aaa", "bbb"`, http.StatusNoContent},
	}
	for _, tc := range tests {
		head := e.store.Head()
		resp, body := e.do(t, "alice", "PUT", obj, map[string]string{"Content-Type": "text/vcard", "If-None-Match": tc.inm}, testCard("x", tc.name))
		if resp.StatusCode != tc.want {
			t.Errorf("%s: If-None-Match %s: %d, want %d\n%s", tc.name, tc.inm, resp.StatusCode, tc.want, body)
		}
		if changed := e.store.Head() != head; changed != (tc.want < 300) {
			t.Errorf("%s: store changed=%v", tc.name, changed)
		}
	}
}
