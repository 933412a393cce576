package server

import (
	"context"
	"net/http"
	"net/textproto"
	"strings"
	"testing"
	"time"
)

// scriptedSender answers each Send with the next error of its script,
// after running the next hook (nil: none).
type scriptedSender struct {
	errs  []error
	hooks []func()
}

func (s *scriptedSender) Send(context.Context, string, []string, []byte) error {
	if h := s.hooks[0]; h != nil {
		h()
	}
	err := s.errs[0]
	s.errs, s.hooks = s.errs[1:], s.hooks[1:]
	return err
}

// TestMailSuperseded: while the relay is down, each edit of an event
// replaces the REQUEST still waiting for an attendee instead of adding one.
func TestMailSuperseded(t *testing.T) {
	e := newMailEnv(t)
	url := "/dav/calendars/alice/calendar/sup.ics"
	if resp, _ := e.do(t, "alice", "PUT", url, nil, event("sup", "mailto:alice@example.org", "ATTENDEE:mailto:zed@elsewhere.test", "ATTENDEE:mailto:yan@elsewhere.test")); resp.StatusCode != http.StatusCreated {
		t.Fatalf("PUT: %d", resp.StatusCode)
	}
	for _, summary := range []string{"One", "Two", "Three"} {
		_, cur := e.do(t, "alice", "GET", url, nil, "")
		if resp, _ := e.do(t, "alice", "PUT", url, nil, strings.Replace(cur, "SUMMARY:", "SUMMARY:"+summary, 1)); resp.StatusCode != http.StatusNoContent {
			t.Fatalf("PUT %s: %d", summary, resp.StatusCode)
		}
	}
	q, err := e.store.Outbox("alice")
	if err != nil || len(q) != 2 {
		t.Fatalf("outbox after four edits: %d entries (%v), want one per attendee", len(q), err)
	}
	for _, m := range q {
		if !strings.Contains(string(m.Message), "Subject: Invitation: ThreeTwoOnePlanning") {
			t.Errorf("the waiting message is not the latest: %.200s", m.Message)
		}
	}
}

// TestSettleLatestWins: a message queued while an earlier one for the same
// attendee is being sent decides the status: the earlier one is sent, the
// later one refused, and the copy says 5.1.
func TestSettleLatestWins(t *testing.T) {
	e := newMailEnv(t)
	ctx := context.Background()
	url := "/dav/calendars/alice/calendar/two.ics"
	body := event("two", "mailto:alice@example.org", "ATTENDEE:mailto:zed@elsewhere.test")
	if resp, _ := e.do(t, "alice", "PUT", url, nil, body); resp.StatusCode != http.StatusCreated {
		t.Fatalf("PUT: %d", resp.StatusCode)
	}
	edit := func() {
		_, cur := e.do(t, "alice", "GET", url, nil, "")
		if resp, _ := e.do(t, "alice", "PUT", url, nil, strings.Replace(cur, "SUMMARY:Planning", "SUMMARY:Moved", 1)); resp.StatusCode != http.StatusNoContent {
			t.Errorf("second PUT: %d", resp.StatusCode)
		}
	}
	e.queue.Mailer = &scriptedSender{errs: []error{nil, &textproto.Error{Code: 550, Msg: "no such user"}}, hooks: []func(){edit, nil}}
	if n, err := e.queue.RunOnce(ctx, time.Now(), false); err != nil || n != 1 {
		t.Fatalf("first pass: %d %v", n, err)
	}
	_, cur := e.do(t, "alice", "GET", url, nil, "")
	if l := attendeeLine(cur, "zed@elsewhere.test"); !strings.Contains(l, "SCHEDULE-STATUS=1.0") {
		t.Errorf("the earlier message's outcome overwrote the later one's pending status: %q", l)
	}
	if n, err := e.queue.RunOnce(ctx, time.Now(), false); err != nil || n != 1 {
		t.Fatalf("second pass: %d %v", n, err)
	}
	_, cur = e.do(t, "alice", "GET", url, nil, "")
	if l := attendeeLine(cur, "zed@elsewhere.test"); !strings.Contains(l, "SCHEDULE-STATUS=5.1") {
		t.Errorf("after sent then refused: %q, want 5.1", l)
	}
	if n, _ := e.store.OutboxLen("alice"); n != 0 {
		t.Errorf("%d left", n)
	}
}
