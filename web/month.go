package web

import (
	"context"
	"errors"
	"net/http"
	"sort"
	"time"

	"github.com/emersion/go-ical"

	"github.com/pimvault/pimvault/calendar"
	"github.com/pimvault/pimvault/storage"
)

// Month view bounds: the objects one month may read and the time it may
// take; each object's recurrence is bounded by the calendar package's own
// work budget (calendar.MaxWork, calendar.MaxInstances).
const (
	maxMonthObjects   = 5000
	maxMonthInstances = 20000
	monthTimeout      = 10 * time.Second
)

type dayCell struct {
	Date    time.Time
	Day     int
	InMonth bool
	Today   bool
	Events  []eventRow
}

type eventRow struct {
	Object  string
	Summary string
	Time    string // "" for an all-day event
	start   time.Time
}

// parseMonth reads ?month=YYYY-MM and ?tz=Area/City (default: this month,
// UTC).
func parseMonth(month, tz string, now time.Time) (time.Time, *time.Location, error) {
	loc := time.UTC
	if tz != "" {
		if len(tz) > 64 {
			return time.Time{}, nil, badRequest("time zone name longer than 64 bytes")
		}
		l, err := time.LoadLocation(tz)
		if err != nil {
			return time.Time{}, nil, badRequest("unknown time zone " + tz + " (use a name such as Europe/Berlin)")
		}
		loc = l
	}
	if month == "" {
		n := now.In(loc)
		return time.Date(n.Year(), n.Month(), 1, 0, 0, 0, 0, loc), loc, nil
	}
	t, err := time.ParseInLocation("2006-01", month, loc)
	if err != nil || t.Year() < 1900 || t.Year() > 9998 {
		return time.Time{}, nil, badRequest("month " + month + ": want YYYY-MM between 1900-01 and 9998-12")
	}
	return t, loc, nil
}

// month shows a calendar's month, recurrences expanded by the calendar
// package (the engine CalDAV's expand uses).
func (p *Pages) month(x *req, c storage.Collection) error {
	q := x.r.URL.Query()
	first, loc, err := parseMonth(q.Get("month"), q.Get("tz"), time.Now())
	if err != nil {
		return err
	}
	// The grid: whole weeks, Monday first, covering the month.
	gridStart := first.AddDate(0, 0, -((int(first.Weekday()) + 6) % 7))
	last := first.AddDate(0, 1, 0)
	gridEnd := last.AddDate(0, 0, (7-(int(last.Weekday())+6)%7)%7)
	ctx, cancel := context.WithTimeout(x.r.Context(), monthTimeout)
	defer cancel()
	events, partial, err := p.instances(ctx, x.user, c.Name, gridStart, gridEnd, loc)
	if err != nil {
		return err
	}
	byDay := map[string][]eventRow{}
	for _, e := range events {
		k := e.start.In(loc).Format("2006-01-02")
		byDay[k] = append(byDay[k], e)
	}
	today := time.Now().In(loc).Format("2006-01-02")
	var weeks [][]dayCell
	for d := gridStart; d.Before(gridEnd); d = d.AddDate(0, 0, 7) {
		var week []dayCell
		for i := 0; i < 7; i++ {
			day := d.AddDate(0, 0, i)
			k := day.Format("2006-01-02")
			evs := byDay[k]
			sort.SliceStable(evs, func(a, b int) bool { return evs[a].start.Before(evs[b].start) })
			week = append(week, dayCell{Date: day, Day: day.Day(), InMonth: day.Month() == first.Month(), Today: k == today, Events: evs})
		}
		weeks = append(weeks, week)
	}
	tz := q.Get("tz")
	return p.show(x, http.StatusOK, "month", view{Title: rowOf(c).Display, Nav: "collections", Data: map[string]any{
		"Col": rowOf(c), "Month": first.Format("January 2006"), "MonthParam": first.Format("2006-01"),
		"Prev": first.AddDate(0, -1, 0).Format("2006-01"), "Next": first.AddDate(0, 1, 0).Format("2006-01"),
		"TZ": tz, "Zone": loc.String(), "Weeks": weeks, "Partial": partial, "Count": len(events)}})
}

// instances returns the event instances that start in [start, end). partial
// is true when a bound cut the list short.
func (p *Pages) instances(ctx context.Context, user, col string, start, end time.Time, loc *time.Location) ([]eventRow, bool, error) {
	objs, err := p.store.OverlappingObjects(user, col, start.Unix(), end.Unix(), true)
	if err != nil {
		return nil, false, err
	}
	partial := false
	if len(objs) > maxMonthObjects {
		objs, partial = objs[:maxMonthObjects], true
	}
	tr := calendar.TimeRange{Start: start.UTC(), End: end.UTC()}
	var out []eventRow
	for _, o := range objs {
		if ctx.Err() != nil || len(out) >= maxMonthInstances {
			return out, true, nil
		}
		obj, err := p.cal.Object(o.ETag, o.Body, loc)
		if err != nil {
			partial = true
			continue
		}
		cal, err := obj.ExpandContext(ctx, tr, loc)
		if err != nil {
			if errors.Is(err, calendar.ErrTooManyInstances) || ctx.Err() != nil {
				partial = true
				continue
			}
			return nil, false, err
		}
		for _, comp := range cal.Children {
			if comp.Name != ical.CompEvent {
				continue
			}
			ev, ok := eventOf(comp, o.Name, loc)
			if ok && !ev.start.Before(start) && ev.start.Before(end) {
				out = append(out, ev)
			}
		}
	}
	return out, partial, nil
}

func eventOf(comp *ical.Component, object string, loc *time.Location) (eventRow, bool) {
	ds := comp.Props.Get(ical.PropDateTimeStart)
	if ds == nil {
		return eventRow{}, false
	}
	t, err := ds.DateTime(loc)
	if err != nil {
		return eventRow{}, false
	}
	ev := eventRow{Object: object, Summary: "(no title)", start: t}
	if s := comp.Props.Get(ical.PropSummary); s != nil && s.Value != "" {
		ev.Summary = unescapeText(s.Value)
	}
	if ds.ValueType() != ical.ValueDate {
		ev.Time = t.In(loc).Format("15:04")
	} else {
		ev.start = time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, loc)
	}
	return ev, true
}
