package web

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/pimvault/pimvault/calendar"
	"github.com/pimvault/pimvault/storage"
)

// benchPage serves GET path to alice's session b.N times.
func benchPage(b *testing.B, p *Pages, x *session, path string) {
	b.Helper()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		r := httptest.NewRequest(http.MethodGet, path, nil)
		r.AddCookie(&http.Cookie{Name: sessionCookie, Value: x.id})
		w := httptest.NewRecorder()
		p.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			b.Fatalf("GET %s: %d", path, w.Code)
		}
	}
}

// BenchmarkContactsPage lists and searches an address book of 2,000
// contacts.
func BenchmarkContactsPage(b *testing.B) {
	p, x := testPages(b)
	ctx := context.Background()
	for i := 0; i < 2000; i++ {
		body := fmt.Sprintf("BEGIN:VCARD\r\nVERSION:3.0\r\nUID:u%d\r\nFN:Person %d\r\nEMAIL:p%d@example.org\r\nTEL:+1 555 %04d\r\nEND:VCARD\r\n", i, i, i, i)
		if _, err := p.store.Commit(ctx, storage.Change{Op: storage.OpPut, Principal: "alice", Collection: "contacts", Name: fmt.Sprintf("u%d.vcf", i),
			Body: []byte(body), Meta: storage.ObjectMeta{UID: fmt.Sprintf("u%d", i), Component: "VCARD"}}); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("list", func(b *testing.B) { benchPage(b, p, x, "/web/c/contacts") })
	b.Run("search", func(b *testing.B) { benchPage(b, p, x, "/web/c/contacts?q=person+199") })
}

// BenchmarkMonthView shows a month of a calendar holding 200 weekly and
// 200 daily recurring events, expanded by the calendar package.
func BenchmarkMonthView(b *testing.B) {
	p, x := testPages(b)
	ctx := context.Background()
	if _, err := p.store.Commit(ctx, storage.Change{Op: storage.OpCreateCollection, Principal: "alice", Collection: "cal", Kind: kindCalendar}); err != nil {
		b.Fatal(err)
	}
	for i := 0; i < 400; i++ {
		freq := "WEEKLY"
		if i%2 == 1 {
			freq = "DAILY"
		}
		body := fmt.Sprintf("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//b//b//EN\r\nBEGIN:VEVENT\r\nUID:e%d\r\nDTSTAMP:20260101T000000Z\r\nDTSTART:202601%02dT%02d0000Z\r\nDURATION:PT1H\r\nRRULE:FREQ=%s\r\nSUMMARY:Event %d\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n", i, 1+i%28, i%24, freq, i)
		obj, err := calendar.Parse([]byte(body), nil)
		if err != nil {
			b.Fatal(err)
		}
		start, end := obj.SpanUnix()
		if _, err := p.store.Commit(ctx, storage.Change{Op: storage.OpPut, Principal: "alice", Collection: "cal", Name: fmt.Sprintf("e%d.ics", i), Body: []byte(body),
			Meta: storage.ObjectMeta{UID: obj.UID, Component: obj.Component, Span: &storage.Span{Start: start, End: end}}}); err != nil {
			b.Fatal(err)
		}
	}
	benchPage(b, p, x, "/web/c/cal?month=2026-06")
}
