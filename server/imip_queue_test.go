package server

import (
	"context"
	"net/http"
	"net/textproto"
	"strings"
	"testing"
	"time"
)

// scriptedSender answers each Send with the next error of its script.
type scriptedSender struct{ errs []error }

func (s *scriptedSender) Send(context.Context, string, []string, []byte) error {
	err := s.errs[0]
	s.errs = s.errs[1:]
	return err
}

// TestSettleLatestWins: with two messages queued for one attendee of one
// event, the first one's outcome does not overwrite the status the second
// one decides: the first is sent, the second refused, the copy says 5.1.
func TestSettleLatestWins(t *testing.T) {
	e := newMailEnv(t)
	ctx := context.Background()
	url := "/dav/calendars/alice/calendar/two.ics"
	body := event("two", "mailto:alice@example.org", "ATTENDEE:mailto:zed@elsewhere.test")
	if resp, _ := e.do(t, "alice", "PUT", url, nil, body); resp.StatusCode != http.StatusCreated {
		t.Fatalf("PUT: %d", resp.StatusCode)
	}
	_, cur := e.do(t, "alice", "GET", url, nil, "")
	if resp, _ := e.do(t, "alice", "PUT", url, nil, strings.Replace(cur, "SUMMARY:Planning", "SUMMARY:Moved", 1)); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("second PUT: %d", resp.StatusCode)
	}
	if n, _ := e.store.OutboxLen("alice"); n != 2 {
		t.Fatalf("%d queued, want 2", n)
	}
	e.queue.Mailer = &scriptedSender{errs: []error{nil, &textproto.Error{Code: 550, Msg: "no such user"}}}
	if n, err := e.queue.RunOnce(ctx, time.Now(), false); err != nil || n != 2 {
		t.Fatalf("queue pass: %d %v", n, err)
	}
	_, cur = e.do(t, "alice", "GET", url, nil, "")
	if l := attendeeLine(cur, "zed@elsewhere.test"); !strings.Contains(l, "SCHEDULE-STATUS=5.1") {
		t.Errorf("after sent then refused: %q, want 5.1", l)
	}
	if n, _ := e.store.OutboxLen("alice"); n != 0 {
		t.Errorf("%d left", n)
	}
}
