package calendar

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/emersion/go-ical"
)

// period is a busy interval [start, end) in UTC with its FBTYPE.
type period struct {
	start, end time.Time
	fbtype     string
}

// freeBusyPeriods parses a FREEBUSY property (RFC 5545 §3.8.2.6): UTC periods.
func (z *zones) freeBusyPeriods(p *ical.Prop) ([]period, error) {
	fbtype := strings.ToUpper(p.Params.Get("FBTYPE"))
	if fbtype == "" {
		fbtype = "BUSY"
	}
	var out []period
	for _, s := range strings.Split(p.Value, ",") {
		start, d, err := z.parsePeriod(strings.TrimSpace(s), time.UTC)
		if err != nil {
			return nil, fmt.Errorf("FREEBUSY: %v", err)
		}
		out = append(out, period{start: start.t.UTC(), end: d.add(start.t).UTC(), fbtype: fbtype})
	}
	return out, nil
}

// FreeBusy computes a VCALENDAR with one VFREEBUSY for tr (RFC 4791 §7.10): DTSTART and
// DTEND are tr, and FREEBUSY lists the busy periods in UTC, clipped to tr and coalesced per
// FBTYPE, from the VEVENT instances (skipping TRANSP:TRANSPARENT, STATUS:CANCELLED and
// zero-length ones; STATUS:TENTATIVE is BUSY-TENTATIVE) and the FREEBUSY properties of
// VFREEBUSY components (FBTYPE=FREE skipped). tr needs both bounds (ErrBadFilter). An
// event with more than MaxInstances instances in tr, or more than MaxWork recurrence
// work, is busy from the last instance counted to the end of tr (with that instance's
// FBTYPE): an overstatement, never a free slot that is not. Errors wrap ErrInvalidData.
func FreeBusy(cals []*ical.Calendar, tr TimeRange, floating *time.Location) (*ical.Calendar, error) {
	return FreeBusyContext(context.Background(), cals, tr, floating)
}

// FreeBusyContext is FreeBusy, stopping with ctx's error when ctx ends.
func FreeBusyContext(ctx context.Context, cals []*ical.Calendar, tr TimeRange, floating *time.Location) (*ical.Calendar, error) {
	if tr.Start.IsZero() || tr.End.IsZero() {
		return nil, fmt.Errorf("%w: free-busy needs a time range with start and end", ErrBadFilter)
	}
	if err := tr.validate(); err != nil {
		return nil, err
	}
	busy := map[string][]period{}
	add := func(p period) {
		s, e := maxTime(p.start, tr.Start).UTC(), minTime(p.end, tr.End).UTC()
		if s.Before(e) {
			busy[p.fbtype] = append(busy[p.fbtype], period{start: s, end: e, fbtype: p.fbtype})
		}
	}
	for _, cal := range cals {
		z, ss, err := prepare(cal, floating)
		if err != nil {
			return nil, err
		}
		for _, s := range ss {
			switch seriesName(s) {
			case ical.CompEvent:
				lo, hi, err := s.window(z, &CompFilter{Name: ical.CompEvent, TimeRange: &tr})
				if err != nil {
					return nil, fmt.Errorf("%w: %v", ErrInvalidData, err)
				}
				// lastBusy is the last instance of the rules that was busy, and its FBTYPE.
				var lastBusy time.Time
				lastType := ""
				err = s.each(ctx, lo, hi, func(inst *instance) (bool, error) {
					if fbtype, ok := eventBusyType(inst.comp); ok {
						if end, ok := effectiveEnd(inst); ok && inst.hasStart {
							add(period{start: inst.start, end: end, fbtype: fbtype})
							if _, override := s.byRID[inst.rid.Unix()]; !override && inst.recurring {
								lastBusy, lastType = maxTime(lastBusy, inst.start), fbtype
							}
						}
					}
					return false, nil
				})
				if errors.Is(err, ErrTooManyInstances) {
					// Too many instances to list: the rest of the range is taken as busy,
					// so that no one is booked over an event that might be there.
					if lastType != "" {
						add(period{start: lastBusy, end: tr.End, fbtype: lastType})
					}
					err = nil
				}
				if err != nil {
					return nil, err
				}
			case ical.CompFreeBusy:
				for _, c := range append([]*ical.Component{s.master}, overrideComps(s)...) {
					if c == nil {
						continue
					}
					for i := range c.Props.Values(ical.PropFreeBusy) {
						ps, err := z.freeBusyPeriods(&c.Props.Values(ical.PropFreeBusy)[i])
						if err != nil {
							return nil, fmt.Errorf("%w: %v", ErrInvalidData, err)
						}
						for _, p := range ps {
							if p.fbtype != "FREE" {
								add(p)
							}
						}
					}
				}
			}
		}
	}
	fb := ical.NewComponent(ical.CompFreeBusy)
	fb.Props.SetText(ical.PropUID, fmt.Sprintf("freebusy-%d-%d@pimvault", tr.Start.Unix(), tr.End.Unix()))
	fb.Props.SetDateTime(ical.PropDateTimeStamp, time.Now().UTC().Truncate(time.Second))
	fb.Props.SetDateTime(ical.PropDateTimeStart, tr.Start.UTC())
	fb.Props.SetDateTime(ical.PropDateTimeEnd, tr.End.UTC())
	var all []period
	for _, ps := range busy {
		all = append(all, coalesce(ps)...)
	}
	sort.Slice(all, func(i, j int) bool {
		if !all[i].start.Equal(all[j].start) {
			return all[i].start.Before(all[j].start)
		}
		return all[i].fbtype < all[j].fbtype
	})
	for _, p := range all {
		prop := ical.NewProp(ical.PropFreeBusy)
		if p.fbtype != "BUSY" {
			prop.Params.Set("FBTYPE", p.fbtype)
		}
		prop.Value = p.start.Format("20060102T150405Z") + "/" + p.end.Format("20060102T150405Z")
		fb.Props.Add(prop)
	}
	out := ical.NewCalendar()
	out.Props.SetText(ical.PropVersion, "2.0")
	out.Props.SetText(ical.PropProductID, "-//pimvault//calendar//EN")
	out.Children = []*ical.Component{fb}
	return out, nil
}

// eventBusyType is the FBTYPE an event instance contributes, if any.
func eventBusyType(c *ical.Component) (string, bool) {
	if p := c.Props.Get(ical.PropTransparency); p != nil && strings.EqualFold(strings.TrimSpace(p.Value), "TRANSPARENT") {
		return "", false
	}
	status := ""
	if p := c.Props.Get(ical.PropStatus); p != nil {
		status = strings.ToUpper(strings.TrimSpace(p.Value))
	}
	switch status {
	case "CANCELLED":
		return "", false
	case "TENTATIVE":
		return "BUSY-TENTATIVE", true
	}
	return "BUSY", true
}

func overrideComps(s *series) []*ical.Component {
	var out []*ical.Component
	for _, o := range s.overrides {
		out = append(out, o.comp)
	}
	return out
}

// coalesce merges overlapping and adjacent periods (all of one FBTYPE).
func coalesce(ps []period) []period {
	sort.Slice(ps, func(i, j int) bool { return ps[i].start.Before(ps[j].start) })
	var out []period
	for _, p := range ps {
		if n := len(out); n > 0 && !p.start.After(out[n-1].end) {
			out[n-1].end = maxTime(out[n-1].end, p.end)
			continue
		}
		out = append(out, p)
	}
	return out
}
