package server

import (
	"bytes"
	"encoding/xml"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/pimvault/pimvault/calendar"
	"github.com/pimvault/pimvault/server/internal/dav"
	"github.com/pimvault/pimvault/storage"
)

// TestQueryResponseMatchesObjectResponse: the direct writer of calendar-query
// responses writes the same bytes as objectResponse, for every shape of
// request it takes and the ones it hands over.
func TestQueryResponseMatchesObjectResponse(t *testing.T) {
	s := New(nil, Config{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	p := dav.Path{Kind: dav.ResCollection, Home: dav.HomeCalendars, User: "alice", Collection: "calendar"}
	bodies := []string{
		vcal(vevent("single", "20260610T080000Z", "20260610T090000Z", "DESCRIPTION:a <b> & c")),
		vcal(vevent("weekly", "20260601T080000Z", "20260601T090000Z", "RRULE:FREQ=WEEKLY;COUNT=5")),
		strings.ReplaceAll(vcal(vevent("zoned", "20260610T080000", "20260610T090000")), "DTSTART:", "DTSTART;TZID=Europe/Berlin:"),
		vcal(vevent("bad", "20260610T080000Z", "20260610T090000Z", "RRULE:FREQ=SECONDLY;COUNT=20000")),
	}
	month := calendar.TimeRange{Start: time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC), End: time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)}
	etag, data := dav.NameGetETag, nameCalendarData
	reqs := []struct {
		name  string
		names []xml.Name
		cd    *calendarDataReq
	}{
		{"etag", []xml.Name{etag}, nil},
		{"etag and data", []xml.Name{etag, data}, &calendarDataReq{}},
		{"data and etag", []xml.Name{data, etag}, &calendarDataReq{}},
		{"expand", []xml.Name{etag, data}, &calendarDataReq{expand: &month, cache: calendar.NewCache(10)}},
		{"expand without cache", []xml.Name{etag, data}, &calendarDataReq{expand: &month}},
		{"limit", []xml.Name{data}, &calendarDataReq{limit: &month}},
		{"partial", []xml.Name{data}, &calendarDataReq{comp: &compSelXML{Name: "VCALENDAR", Props: []propSelXML{{Name: "VERSION"}}}}},
		{"data twice", []xml.Name{data, data}, &calendarDataReq{}},
		{"none", nil, nil},
	}
	for i, body := range bodies {
		o := storage.Object{Name: "o.ics", ETag: "etag-" + string(rune('a'+i)), Body: []byte(body), Meta: storage.ObjectMeta{Component: "VEVENT", Span: &storage.Span{Start: 1780300800, End: 1780304400}}}
		for _, rq := range reqs {
			rp := reportProps{names: rq.names, calendarData: rq.cd, floating: time.UTC}
			var renderErr error
			rp.calendarErr = &renderErr
			want, got := dav.NewMultistatus(nil, nil, rp.names), dav.NewMultistatus(nil, nil, rp.names)
			s.objectResponse(want, p, o, rp)
			s.queryResponse(got, p, o, rp)
			if got.String() != want.String() {
				t.Errorf("body %d, %s:\ngot  %s\nwant %s", i, rq.name, got.String(), want.String())
			}
		}
	}
	var b bytes.Buffer
	writeEscapedBytes(&b, []byte("a\r\n<&>\"'"))
	writeEscaped(&b, "x&y")
	if want := dav.XMLEscape("a\r\n<&>\"'") + dav.XMLEscape("x&y"); b.String() != want {
		t.Errorf("escaped: got %q, want %q", b.String(), want)
	}
}
