package calendar

import (
	"fmt"

	"github.com/emersion/go-ical"
)

// Export merges calendar objects into one VCALENDAR for a collection GET: VERSION:2.0 and
// PRODID prodID, every VTIMEZONE once (the first by TZID), then all other components in
// input order. Components are shared with the inputs, not copied. No input gives a
// VCALENDAR without components.
func Export(cals []*ical.Calendar, prodID string) (*ical.Calendar, error) {
	if prodID == "" {
		return nil, fmt.Errorf("%w: export needs a PRODID", ErrInvalidData)
	}
	out := ical.NewCalendar()
	out.Props.SetText(ical.PropVersion, "2.0")
	out.Props.SetText(ical.PropProductID, prodID)
	seen := map[string]bool{}
	var tzs, comps []*ical.Component
	for _, cal := range cals {
		if cal == nil || cal.Component == nil {
			continue
		}
		if p := cal.Props.Get(ical.PropCalendarScale); p != nil && out.Props.Get(ical.PropCalendarScale) == nil {
			out.Props.Set(p)
		}
		for _, c := range cal.Children {
			if c.Name != ical.CompTimezone {
				comps = append(comps, c)
				continue
			}
			tzid := ""
			if p := c.Props.Get(ical.PropTimezoneID); p != nil {
				tzid = p.Value
			}
			if !seen[tzid] {
				seen[tzid] = true
				tzs = append(tzs, c)
			}
		}
	}
	out.Children = append(tzs, comps...)
	return out, nil
}
