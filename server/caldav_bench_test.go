package server

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pimvault/pimvault/account"
	"github.com/pimvault/pimvault/storage"
)

// benchCalendar is a calendar of n events over 2026 (every tenth weekly for
// 20 weeks, with an EXDATE and a moved instance, as cmd/pvload's calendar
// scenario makes them), served in-process, for profiling the report path.
func benchCalendar(b *testing.B, n int) (srv *httptest.Server, cal string) {
	b.Helper()
	st, err := storage.Open(b.TempDir(), storage.Options{})
	if err != nil {
		b.Fatal(err)
	}
	if err := account.AddUser(context.Background(), st, "alice", testPassword); err != nil {
		b.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv = httptest.NewServer(New(st, Config{FailedLoginDelay: time.Millisecond}, log).Handler())
	b.Cleanup(func() { srv.Close(); st.Close() })
	cal = "/dav/calendars/alice/calendar/"
	do := func(method, path string, hdr map[string]string, body string) (int, string) {
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		req.SetBasicAuth("alice", testPassword)
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(out)
	}
	var wg sync.WaitGroup
	work := make(chan int)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				day := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, i*37%365).Add(time.Duration(7+i%10) * time.Hour)
				start, end := day.Format(icalUTC), day.Add(time.Hour).Format(icalUTC)
				uid := fmt.Sprintf("ev-%d", i)
				extra := []string{fmt.Sprintf("LOCATION:Room %d", i%50), fmt.Sprintf("DESCRIPTION:Generated for the calendar benchmark\\, event %d.", i)}
				comps := []string{vevent(uid, start, end, extra...)}
				if i%10 == 0 { // as pvload's: the third instance excluded, the fifth moved
					moved := day.AddDate(0, 0, 28)
					extra = append(extra, "RRULE:FREQ=WEEKLY;COUNT=20", "EXDATE:"+day.AddDate(0, 0, 14).Format(icalUTC))
					comps = []string{vevent(uid, start, end, extra...),
						vevent(uid, moved.Add(2*time.Hour).Format(icalUTC), moved.Add(3*time.Hour).Format(icalUTC), "RECURRENCE-ID:"+moved.Format(icalUTC))}
				}
				if code, body := do("PUT", cal+uid+".ics", map[string]string{"Content-Type": "text/calendar"}, vcal(comps...)); code != http.StatusCreated {
					b.Errorf("PUT %s: %d %s", uid, code, body)
				}
			}
		}()
	}
	for i := 0; i < n; i++ {
		work <- i
	}
	close(work)
	wg.Wait()
	return srv, cal
}

// BenchmarkCalendarQueryMonth times a one-month calendar-query over 10,000
// events, without and with expand (targets: p50 under 10 and 25 ms).
func BenchmarkCalendarQueryMonth(b *testing.B) {
	srv, cal := benchCalendar(b, 10000)
	filter := `<C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT"><C:time-range start="20260601T000000Z" end="20260701T000000Z"/></C:comp-filter></C:comp-filter></C:filter>`
	for _, bc := range []struct{ name, prop string }{
		{"etag", `<D:getetag/>`},
		{"data", `<D:getetag/><C:calendar-data/>`},
		{"expand", `<D:getetag/><C:calendar-data><C:expand start="20260601T000000Z" end="20260701T000000Z"/></C:calendar-data>`},
	} {
		body := `<C:calendar-query ` + calQueryNS + `><D:prop>` + bc.prop + `</D:prop>` + filter + `</C:calendar-query>`
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				req, _ := http.NewRequest("REPORT", srv.URL+cal, strings.NewReader(body))
				req.SetBasicAuth("alice", testPassword)
				req.Header.Set("Depth", "1")
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				n, _ := io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusMultiStatus || n < 1000 {
					b.Fatalf("REPORT: %d, %d bytes", resp.StatusCode, n)
				}
			}
		})
	}
}
