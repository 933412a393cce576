package web

import (
	"strings"
	"testing"
	"time"
)

func TestSessionsExpireAndStayBounded(t *testing.T) {
	s := newSessions()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s.now = func() time.Time { return now }
	x := s.create("alice", "hash", "")
	if s.get(x.id) == nil {
		t.Fatal("a fresh session is not found")
	}
	now = now.Add(sessionIdle - time.Minute)
	if s.get(x.id) == nil {
		t.Fatal("a session used within the idle time ended")
	}
	now = now.Add(sessionIdle + time.Second)
	if s.get(x.id) != nil {
		t.Fatal("an idle session did not end")
	}
	// Kept busy, a session still ends at its lifetime.
	y := s.create("alice", "hash", "")
	for step := time.Duration(0); step < sessionLifetime; step += sessionIdle / 2 {
		now = now.Add(sessionIdle / 2)
		s.get(y.id)
	}
	now = now.Add(time.Minute)
	if s.get(y.id) != nil {
		t.Fatal("a session outlived its lifetime")
	}
	// The table never grows past maxSessions; the least recently used goes.
	first := s.create("bob", "hash", "")
	now = now.Add(time.Second)
	for i := 0; i < maxSessions+10; i++ {
		s.create("bob", "hash", "")
	}
	if n := s.count(); n > maxSessions {
		t.Fatalf("%d sessions kept, over %d", n, maxSessions)
	}
	if s.get(first.id) != nil {
		t.Fatal("the least recently used session survived a full table")
	}
	if tokenEqual("", "") || tokenEqual("a", "") || !tokenEqual(first.csrf, first.csrf) {
		t.Fatal("tokenEqual")
	}
}

func TestSummarize(t *testing.T) {
	body := "BEGIN:VCARD\r\nVERSION:4.0\r\nUID:1\r\nFN:Ada \r\n Lovelace\\, Countess\r\nitem1.EMAIL;TYPE=work:ada@example.org\r\nTEL:+44 1\r\nORG:Analytical;Engines\r\nEND:VCARD\r\n"
	c := summarize([]byte(body))
	if c.Name != "Ada Lovelace, Countess" || len(c.Emails) != 1 || c.Emails[0] != "ada@example.org" || c.Phones[0] != "+44 1" || c.Org != "Analytical, Engines" {
		t.Fatalf("summary: %+v", c)
	}
	if !c.matches("countess") || !c.matches("example.org") || c.matches("babbage") {
		t.Fatal("search")
	}
}

func TestParseMonth(t *testing.T) {
	now := time.Date(2027, 3, 15, 12, 0, 0, 0, time.UTC)
	first, loc, err := parseMonth("", "", now)
	if err != nil || !first.Equal(time.Date(2027, 3, 1, 0, 0, 0, 0, time.UTC)) || loc != time.UTC {
		t.Fatalf("default month: %v %v %v", first, loc, err)
	}
	first, loc, err = parseMonth("2026-12", "Europe/Berlin", now)
	if err != nil || first.Month() != time.December || loc.String() != "Europe/Berlin" {
		t.Fatalf("2026-12 Berlin: %v %v %v", first, loc, err)
	}
	for _, bad := range [][2]string{{"2026-13", ""}, {"1899-01", ""}, {"x", ""}, {"2026-01", "Mars/Olympus"}, {"2026-01", "../../etc/passwd"}} {
		if _, _, err := parseMonth(bad[0], bad[1], now); err == nil || statusOf(err) != 400 {
			t.Errorf("parseMonth(%q, %q): %v, want a 400", bad[0], bad[1], err)
		}
	}
}

func TestTemplatesParse(t *testing.T) {
	ts := parseTemplates(func() string { return "" })
	for _, name := range []string{"signin", "collections", "contacts", "month", "history", "undo", "devices", "transfer", "admin", "delete", "error"} {
		if ts[name] == nil {
			t.Errorf("no template %s", name)
		}
	}
	if !strings.Contains(contentSecurityPolicy, "default-src 'none'") || strings.Contains(contentSecurityPolicy, "script-src") || strings.Contains(contentSecurityPolicy, "unsafe") {
		t.Fatalf("the CSP must allow no script and nothing unsafe: %s", contentSecurityPolicy)
	}
}

func FuzzSummarize(f *testing.F) {
	f.Add([]byte("BEGIN:VCARD\r\nVERSION:3.0\r\nFN:A\\nB\r\nEMAIL:a@b\r\nEND:VCARD\r\n"))
	f.Add([]byte("FN\r\n:\r\n;;:\n \n\tX"))
	f.Fuzz(func(t *testing.T, body []byte) {
		c := summarize(body)
		if len(c.Emails) > 5 || len(c.Phones) > 5 {
			t.Fatalf("unbounded summary: %d emails, %d phones", len(c.Emails), len(c.Phones))
		}
		c.matches(strings.ToLower(string(body)))
	})
}

func FuzzParseMonth(f *testing.F) {
	f.Add("2026-12", "Europe/Berlin")
	f.Add("", "")
	f.Add("9999-12", "UTC")
	f.Fuzz(func(t *testing.T, month, tz string) {
		first, loc, err := parseMonth(month, tz, time.Now())
		if err != nil {
			if statusOf(err) != 400 {
				t.Fatalf("parseMonth(%q, %q): %v is not a 400", month, tz, err)
			}
			return
		}
		if first.Day() != 1 || first.Location() != loc || first.Year() < 1900 || first.Year() > 9998 {
			t.Fatalf("parseMonth(%q, %q) = %v", month, tz, first)
		}
	})
}
