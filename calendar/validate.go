package calendar

import (
	"fmt"
	"strings"

	"github.com/emersion/go-ical"
)

// validateCalendar checks the VCALENDAR level of RFC 4791 §4.1 and fills obj's UID and
// Component.
func validateCalendar(cal *ical.Calendar, obj *Object) error {
	// A missing VERSION or PRODID is completed by Parse (a client library that
	// wraps a bare VEVENT sends neither); a VERSION other than 2.0 is another format.
	if p := cal.Props.Get(ical.PropVersion); p != nil && strings.TrimSpace(p.Value) != "2.0" {
		return fmt.Errorf("%w: VCALENDAR needs VERSION:2.0, not %q (vCalendar 1.0 is not iCalendar)", ErrInvalidData, p.Value)
	}
	if p := cal.Props.Get(ical.PropProductID); p != nil && p.Value == "" {
		return fmt.Errorf("%w: VCALENDAR has an empty PRODID", ErrInvalidData)
	}
	// A METHOD (an iTIP message saved as it arrived, an Outlook export's
	// METHOD:PUBLISH) is removed by Parse: RFC 4791 §4.1 forbids it in a stored
	// object, and the client's intent, to keep the event, is clear.
	for _, c := range cal.Children {
		switch c.Name {
		case ical.CompTimezone:
			continue
		case ical.CompEvent, ical.CompToDo, ical.CompJournal, ical.CompFreeBusy:
		default:
			return fmt.Errorf("%w: component %s is not allowed in a calendar object resource", ErrInvalidObject, c.Name)
		}
		if obj.Component == "" {
			obj.Component = c.Name
		} else if obj.Component != c.Name {
			return fmt.Errorf("%w: both %s and %s in one resource", ErrInvalidObject, obj.Component, c.Name)
		}
		uids := c.Props.Values(ical.PropUID)
		if len(uids) != 1 || uids[0].Value == "" {
			return fmt.Errorf("%w: %s needs exactly one UID", ErrInvalidObject, c.Name)
		}
		if obj.UID == "" {
			obj.UID = uids[0].Value
		} else if obj.UID != uids[0].Value {
			return fmt.Errorf("%w: two UIDs (%q, %q) in one resource", ErrInvalidObject, obj.UID, uids[0].Value)
		}
	}
	if obj.Component == "" {
		return fmt.Errorf("%w: no VEVENT, VTODO, VJOURNAL or VFREEBUSY", ErrInvalidObject)
	}
	return nil
}

// checkTZIDs resolves every TZID parameter of c and its descendants.
func checkTZIDs(z *zones, c *ical.Component) error {
	for _, props := range c.Props {
		for i := range props {
			if _, ok := props[i].Params[ical.PropTimezoneID]; ok {
				if _, err := z.propLoc(&props[i]); err != nil {
					return fmt.Errorf("%s: %v", c.Name, err)
				}
			}
		}
	}
	for _, ch := range c.Children {
		if ch.Name == ical.CompTimezone {
			continue
		}
		if err := checkTZIDs(z, ch); err != nil {
			return err
		}
	}
	return nil
}

// checkComponent validates one VEVENT/VTODO/VJOURNAL/VFREEBUSY beyond what go-ical's
// encoder checks: DTSTART where RFC 5545 requires it, value types, time relations,
// RECURRENCE-ID, FREEBUSY periods and alarms.
func checkComponent(z *zones, c *ical.Component) error {
	t, err := z.timing(c)
	if err != nil {
		return err
	}
	if c.Name == ical.CompEvent && !t.hasStart {
		return fmt.Errorf("DTSTART is required (RFC 5545 §3.6.1, no METHOD)")
	}
	if err := t.validate(); err != nil {
		return err
	}
	for _, p := range c.Props.Values(ical.PropRecurrenceRule) {
		if !t.hasStart {
			return fmt.Errorf("RRULE without DTSTART")
		}
		opt, err := parseRule(p.Value, t.start)
		if err != nil {
			return err
		}
		if err := checkRuleFrom(&opt); err != nil {
			return fmt.Errorf("RRULE %q: %v", p.Value, err)
		}
	}
	for _, name := range []string{ical.PropExceptionDates, ical.PropRecurrenceDates} {
		for i := range c.Props.Values(name) {
			if _, _, err := z.propTimes(&c.Props.Values(name)[i]); err != nil {
				return err
			}
		}
	}
	if p := c.Props.Get(ical.PropRecurrenceID); p != nil {
		if r := p.Params.Get("RANGE"); r != "" && r != "THISANDFUTURE" {
			return fmt.Errorf("RECURRENCE-ID: RANGE=%s is not allowed", r)
		}
	}
	for i := range c.Props.Values(ical.PropFreeBusy) {
		if _, err := z.freeBusyPeriods(&c.Props.Values(ical.PropFreeBusy)[i]); err != nil {
			return err
		}
	}
	for _, ch := range c.Children {
		if ch.Name != ical.CompAlarm {
			if c.Name == ical.CompEvent || c.Name == ical.CompToDo {
				return fmt.Errorf("%s inside %s (only VALARM is allowed)", ch.Name, c.Name)
			}
			return fmt.Errorf("%s inside %s", ch.Name, c.Name)
		}
		if err := checkAlarm(z, ch); err != nil {
			return err
		}
	}
	return nil
}

func checkAlarm(z *zones, a *ical.Component) error {
	if len(a.Children) > 0 {
		return fmt.Errorf("VALARM: nested %s", a.Children[0].Name)
	}
	if a.Props.Get(ical.PropAction) == nil {
		return fmt.Errorf("VALARM: ACTION is required")
	}
	if len(a.Props.Values(ical.PropTrigger)) != 1 {
		return fmt.Errorf("VALARM: exactly one TRIGGER is required")
	}
	_, err := z.alarmOf(a)
	return err
}
