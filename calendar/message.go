package calendar

import (
	"fmt"
	"strings"

	"github.com/emersion/go-ical"
)

// ParseMessage decodes and checks an iTIP message (RFC 5546 §3): exactly one
// VCALENDAR with VERSION:2.0, a METHOD, and at least one component besides
// VTIMEZONE, all of one type and one UID; nesting and parameter text bounded as
// in Parse. It does not apply the calendar object resource rules (a message
// carries METHOD, and a free-busy request no UID is required to match a stored
// object). Errors wrap ErrInvalidData.
func ParseMessage(body []byte) (*ical.Calendar, error) {
	cal, err := decode(body)
	if err != nil {
		return nil, err
	}
	if cal.Name != ical.CompCalendar {
		return nil, fmt.Errorf("%w: not a VCALENDAR", ErrInvalidData)
	}
	if v := cal.Props.Get(ical.PropVersion); v == nil || v.Value != "2.0" {
		return nil, fmt.Errorf("%w: VERSION:2.0 missing", ErrInvalidData)
	}
	m := cal.Props.Get(ical.PropMethod)
	if m == nil || strings.TrimSpace(m.Value) == "" {
		return nil, fmt.Errorf("%w: an iTIP message needs a METHOD", ErrInvalidData)
	}
	comp, uid := "", ""
	for i, c := range cal.Children {
		if c.Name == ical.CompTimezone {
			continue
		}
		u := ""
		if p := c.Props.Get(ical.PropUID); p != nil {
			u = p.Value
		}
		if comp == "" {
			comp, uid = c.Name, u
			continue
		}
		if c.Name != comp || u != uid {
			return nil, fmt.Errorf("%w: component %d is %s UID %q, the first is %s UID %q", ErrInvalidData, i, c.Name, u, comp, uid)
		}
	}
	if comp == "" {
		return nil, fmt.Errorf("%w: the message holds no component", ErrInvalidData)
	}
	return cal, nil
}
