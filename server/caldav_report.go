package server

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/emersion/go-ical"

	"github.com/pimvault/pimvault/calendar"
	"github.com/pimvault/pimvault/server/internal/dav"
	"github.com/pimvault/pimvault/storage"
)

// calendarReport answers the CalDAV reports (RFC 4791 §7.8–§7.10) on a
// calendar collection; ok is false when root is not one of them.
func (s *Server) calendarReport(w http.ResponseWriter, r *http.Request, p dav.Path, c storage.Collection, root xml.Name, body []byte) (ok bool) {
	switch root {
	case reportCalQuery, reportCalMultiget, reportFreeBusy:
	default:
		return false
	}
	if c.Kind != dav.KindCalendar && !(c.Kind == kindInbox && root == reportCalMultiget) {
		s.writeError(w, r, dav.Forbidden(dav.NSDAV, "supported-report", "report %s is served on calendars only", dav.Clark(root)))
		return true
	}
	switch root {
	case reportCalQuery:
		// Time ranges and expand run recurrence rules: the heavy pool.
		s.withPool(w, r, s.pools.heavy, func() { s.calendarQuery(w, r, p, c, body) })
	case reportCalMultiget:
		s.multiget(w, r, p, body)
	case reportFreeBusy:
		s.withPool(w, r, s.pools.heavy, func() { s.freeBusyQuery(w, r, p, c, body) })
	}
	return true
}

// withCalendarData sets up rp to return calendar-data as body's DAV:prop
// asks (in calendar-multiget, calendar-query and sync-collection on a
// calendar).
func (s *Server) withCalendarData(ctx context.Context, rp *reportProps, p dav.Path, body []byte) error {
	if p.Home != dav.HomeCalendars {
		return nil
	}
	var req struct {
		Prop *struct {
			CalendarData *calendarDataXML `xml:"urn:ietf:params:xml:ns:caldav calendar-data"`
		} `xml:"DAV: prop"`
	}
	if err := xml.Unmarshal(body, &req); err != nil {
		return dav.BadRequest("report body: %v", err)
	}
	if req.Prop == nil || req.Prop.CalendarData == nil {
		return nil
	}
	cd, err := req.Prop.CalendarData.decode()
	if err != nil {
		return err
	}
	c, err := s.collection(p)
	if err != nil {
		return err
	}
	cd.cache, cd.ctx = s.calCache, ctx
	rp.calendarData, rp.floating = cd, floatingLocation(c)
	return nil
}

// renderCalendarData is the calendar-data property of o for rp; a failure
// (an object that does not parse, or expands to too many instances) leaves
// the property out, so it is reported as not found for that object, and is
// kept in rp.calendarErr when the caller asks for it.
func (s *Server) renderCalendarData(ps *dav.PropSet, o storage.Object, rp reportProps) {
	v, err := rp.calendarData.render(o, rp.floating)
	if err != nil {
		s.log.Warn("calendar-data not rendered", "object", o.Name, "err", err)
		if rp.calendarErr != nil && *rp.calendarErr == nil {
			*rp.calendarErr = queryError(o.Name, err)
		}
		return
	}
	ps.Add(nameCalendarData, dav.XMLEscape(v))
}

// queryLocation is where a query's floating times are read: the query's own
// CALDAV:timezone (RFC 4791 §9.8), else the calendar's.
func queryLocation(q *calendarQueryXML, c storage.Collection) (*time.Location, error) {
	if q.Timezone != nil {
		loc, err := checkCalendarTimezone(*q.Timezone)
		if err != nil {
			return nil, dav.Forbidden(dav.NSCalDAV, "valid-calendar-data", "CALDAV:timezone: %v", err)
		}
		return loc, nil
	}
	return floatingLocation(c), nil
}

// floatingSlack widens index look-ups: spans of floating times were computed
// in the calendar's time zone when the object was stored, and a query may
// read them in another (CALDAV:timezone, or a calendar-timezone changed
// since). UTC offsets span less than two days.
const floatingSlack = 2 * 24 * 60 * 60

// unixBounds converts a time range to the store's span bounds, widened by
// slack seconds on each side.
func unixBounds(tr calendar.TimeRange, slack int64) (start, end int64) {
	start, end = math.MinInt64, math.MaxInt64
	if !tr.Start.IsZero() {
		start = tr.Start.Unix() - slack
	}
	if !tr.End.IsZero() {
		end = tr.End.Unix() + slack
	}
	return start, end
}

// eachCandidate calls fn with each object that may match f, body included,
// in name order: from the time-span index when f has a top-level time-range
// (objects without any time are indexed over all time, so they are always
// returned; objects stored without a span are not, and PUT stores none so),
// else the objects of f's component type, else all. The candidates and
// their bodies are read in one read transaction.
// sized, when not nil, is told the number of candidates and the size of
// their bodies before fn is called (when they come from the index).
func (s *Server) eachCandidate(ctx context.Context, p dav.Path, c storage.Collection, f calendar.CompFilter, sized func(n int, bodies int64), fn func(storage.Object) error) error {
	if tr, ok := indexRange(f); ok {
		start, end := unixBounds(tr, floatingSlack)
		objs, err := s.store.OverlappingObjects(p.User, p.Collection, start, end, true)
		if err != nil {
			return err
		}
		if sized != nil {
			var bodies int64
			for _, o := range objs {
				bodies += int64(len(o.Body))
			}
			sized(len(objs), bodies)
		}
		return eachOf(ctx, objs, fn)
	}
	comp := componentOf(f)
	var names []string
	err := s.store.Objects(p.User, p.Collection, false, func(o storage.Object) error {
		if comp == "" || o.Meta.Component == comp {
			names = append(names, o.Name)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return s.eachObject(ctx, p, c, names, fn)
}

// eachOf calls fn with each object, stopping at the first error or when ctx
// is done.
func eachOf(ctx context.Context, objs []storage.Object, fn func(storage.Object) error) error {
	for _, o := range objs {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := fn(o); err != nil {
			return err
		}
	}
	return nil
}

// calendarQuery answers CALDAV:calendar-query (RFC 4791 §7.8): candidates
// from the store's indexes, each tested with calendar.Match.
func (s *Server) calendarQuery(w http.ResponseWriter, r *http.Request, p dav.Path, c storage.Collection, body []byte) {
	q, f, err := parseCalendarQuery(body)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	loc, err := queryLocation(q, c)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var list struct {
		Prop *dav.PropList `xml:"DAV: prop"`
	}
	if err := xml.Unmarshal(body, &list); err != nil {
		s.writeError(w, r, dav.BadRequest("calendar-query: %v", err))
		return
	}
	rp := newReportProps(list.Prop)
	if q.Prop != nil && q.Prop.CalendarData != nil {
		rp.calendarData, _ = q.Prop.CalendarData.decode() // checked by parseCalendarQuery
		rp.calendarData.cache, rp.calendarData.ctx = s.calCache, r.Context()
		rp.floating = loc
	}
	var renderErr error
	rp.calendarErr = &renderErr
	eventRange, eventsOnly := eventRangeOnly(f)
	ms := dav.NewMultistatus(r.Context(), w, rp.names)
	// Room for the whole answer up front, rather than doubling to it (the
	// copies were a good part of a month's query).
	sized := func(n int, bodies int64) {
		size := int64(n) * 320
		if rp.calendarData != nil {
			size += bodies * 3 / 2 // escaped CRs, and more with expand
		}
		ms.Grow(int(min(size, 64<<20)))
	}
	err = s.eachCandidate(r.Context(), p, c, f, sized, func(o storage.Object) error {
		if err := ms.Err(); err != nil {
			return err
		}
		ok, decided := false, false
		if eventsOnly {
			ok, decided = spanMatch(o, eventRange)
		}
		if !decided {
			if ok, err = s.matchObject(r.Context(), o, f, loc); err != nil {
				if errors.Is(err, calendar.ErrTooManyInstances) || r.Context().Err() != nil {
					return queryError(o.Name, err)
				}
				s.log.Warn("stored calendar object cannot be matched; left out", "user", p.User, "collection", p.Collection, "object", o.Name, "err", err)
				return nil
			}
		}
		if ok {
			s.queryResponse(ms, p, o, rp)
		}
		return renderErr
	})
	if err != nil {
		ms.Fail(s.log, r, err)
		return
	}
	ms.Finish(s.log, r)
}

// eachObject calls fn with each named object of the collection, body
// included (valid during the call only), in name order; names deleted since
// they were listed are skipped. When the names are a good part of the
// collection, one pass over all of it is cheaper than looking each name up;
// either way the objects are read in one read transaction.
func (s *Server) eachObject(ctx context.Context, p dav.Path, c storage.Collection, names []string, fn func(storage.Object) error) error {
	if int64(len(names))*4 >= c.Count {
		want := make(map[string]bool, len(names))
		for _, n := range names {
			want[n] = true
		}
		return s.store.Objects(p.User, p.Collection, true, func(o storage.Object) error {
			if !want[o.Name] {
				return nil
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			return fn(o)
		})
	}
	objs, err := s.store.GetObjects(p.User, p.Collection, names) // leaves out names deleted since they were listed
	if err != nil {
		return err
	}
	return eachOf(ctx, objs, fn)
}

// matchObject matches a stored object, parsed once through the cache. An
// object that Parse refuses now (it was stored under older, laxer rules) is
// still matched from its decoded text, rather than vanishing from queries.
func (s *Server) matchObject(ctx context.Context, o storage.Object, f calendar.CompFilter, loc *time.Location) (bool, error) {
	obj, err := s.calCache.Object(o.ETag, o.Body, loc)
	if err == nil {
		return obj.MatchContext(ctx, f, loc)
	}
	cal, derr := ical.NewDecoder(bytes.NewReader(o.Body)).Decode()
	if derr != nil {
		return false, fmt.Errorf("%v; %v", err, derr)
	}
	return calendar.MatchContext(ctx, cal, f, loc)
}

// queryError names the object a query failed on.
func queryError(name string, err error) error {
	if errors.Is(err, calendar.ErrTooManyInstances) {
		return dav.Forbidden(dav.NSCalDAV, "max-instances", "%s: more than %d instances in the time range; ask for a shorter range", name, calendar.MaxInstances)
	}
	return err
}

// freeBusyQuery answers free-busy-query with one VFREEBUSY for the range,
// computed by calendar.FreeBusy from the objects the span index returns.
func (s *Server) freeBusyQuery(w http.ResponseWriter, r *http.Request, p dav.Path, c storage.Collection, body []byte) {
	var q freeBusyQueryXML
	if err := xml.Unmarshal(body, &q); err != nil {
		s.writeError(w, r, dav.BadRequest("free-busy-query: %v", err))
		return
	}
	if q.TimeRange == nil {
		s.writeError(w, r, dav.BadRequest("free-busy-query needs a time-range"))
		return
	}
	tr, err := decodeTimeRange(q.TimeRange, "time-range", true)
	if err != nil {
		s.writeError(w, r, dav.BadRequest("%v", err))
		return
	}
	start, end := unixBounds(*tr, floatingSlack)
	objs, err := s.store.OverlappingObjects(p.User, p.Collection, start, end, true)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var cals []*ical.Calendar
	err = eachOf(r.Context(), objs, func(o storage.Object) error {
		if o.Meta.Component != "VEVENT" && o.Meta.Component != "VFREEBUSY" {
			return nil
		}
		if cal, err := ical.NewDecoder(bytes.NewReader(o.Body)).Decode(); err == nil {
			cals = append(cals, cal)
		}
		return nil
	})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	fb, err := calendar.FreeBusyContext(r.Context(), cals, *tr, floatingLocation(c))
	if err != nil {
		s.writeError(w, r, queryError("free-busy", err))
		return
	}
	out := encodeICal(fb)
	w.Header().Set("Content-Type", contentTypeFor(dav.KindCalendar))
	w.Header().Set("Content-Length", strconv.Itoa(len(out)))
	w.WriteHeader(http.StatusOK)
	io.WriteString(w, out)
}
