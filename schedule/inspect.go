package schedule

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/emersion/go-ical"
)

// Limits on what one change may schedule.
const (
	// MaxAttendees is the most ATTENDEE properties one component may hold
	// (advertised as CALDAV:max-attendees-per-instance).
	MaxAttendees = 100
	// MaxRecipients is the most recipients one change may message.
	MaxRecipients = 100
	// MaxComponents is the most components (master and overrides) of a
	// scheduling object.
	MaxComponents = 1000
)

// Errors; the server maps them to CalDAV preconditions.
var (
	// ErrTooManyAttendees: a limit above was passed; nothing is sent.
	ErrTooManyAttendees = errors.New("too many attendees to schedule")
	// ErrInvalid: not a valid scheduling message or reply.
	ErrInvalid = errors.New("invalid scheduling message")
	// ErrOrganizers: components with different organizers (RFC 6638
	// §3.2.4.1 same-organizer-in-all-components).
	ErrOrganizers = errors.New("components have different organizers")
	// ErrNotAttendee: a reply from an address the organizer did not invite.
	ErrNotAttendee = errors.New("the sender is not an attendee")
)

// Info is what scheduling needs to know of a calendar object.
type Info struct {
	UID       string
	Component string   // VEVENT or VTODO; "" when the object has neither
	Organizer string   // Address of the ORGANIZER; "" when none
	Agent     string   // the ORGANIZER's SCHEDULE-AGENT
	Attendees []string // every distinct attendee Address, in order of appearance
}

// IsScheduling reports whether the object is a scheduling object resource
// (RFC 6638 §3.1): it has an ORGANIZER and at least one ATTENDEE.
func (i Info) IsScheduling() bool { return i.Organizer != "" && len(i.Attendees) > 0 }

// comps returns the components of cal that scheduling acts on: its VEVENTs or
// VTODOs (a calendar object holds one type).
func comps(cal *ical.Calendar) []*ical.Component {
	if cal == nil {
		return nil
	}
	var out []*ical.Component
	for _, c := range cal.Children {
		if c.Name == ical.CompEvent || c.Name == ical.CompToDo {
			out = append(out, c)
		}
	}
	return out
}

// Inspect reads an object's organizer and attendees and checks the limits.
func Inspect(cal *ical.Calendar) (Info, error) {
	var info Info
	cs := comps(cal)
	if len(cs) > MaxComponents {
		return info, fmt.Errorf("%w: %d components, at most %d", ErrTooManyAttendees, len(cs), MaxComponents)
	}
	for i, c := range cs {
		info.Component = c.Name
		if p := c.Props.Get(ical.PropUID); p != nil {
			info.UID = p.Value
		}
		org := ""
		if p := c.Props.Get(ical.PropOrganizer); p != nil {
			org = Address(p.Value)
			info.Agent = agent(p)
		}
		if i > 0 && org != info.Organizer {
			return info, fmt.Errorf("%w (%q, %q)", ErrOrganizers, info.Organizer, org)
		}
		info.Organizer = org
		as := c.Props[ical.PropAttendee]
		if len(as) > MaxAttendees {
			return info, fmt.Errorf("%w: %d attendees in one component, at most %d", ErrTooManyAttendees, len(as), MaxAttendees)
		}
		for _, a := range as {
			if addr := Address(a.Value); addr != "" && !slices.Contains(info.Attendees, addr) {
				info.Attendees = append(info.Attendees, addr)
			}
		}
	}
	return info, nil
}

// rid is a component's RECURRENCE-ID value, "" for the master.
func rid(c *ical.Component) string {
	if p := c.Props.Get(ical.PropRecurrenceID); p != nil {
		return strings.TrimSpace(p.Value)
	}
	return ""
}

// byRID finds the component with recurrence id r.
func byRID(cs []*ical.Component, r string) *ical.Component {
	for _, c := range cs {
		if rid(c) == r {
			return c
		}
	}
	return nil
}

// attendeeProp returns c's ATTENDEE property for addr, or nil.
func attendeeProp(c *ical.Component, addr string) *ical.Prop {
	for i := range c.Props[ical.PropAttendee] {
		p := &c.Props[ical.PropAttendee][i]
		if Address(p.Value) == addr {
			return p
		}
	}
	return nil
}

// partStat is the PARTSTAT of addr in c, NEEDS-ACTION when unset, "" when
// addr is not an attendee of c.
func partStat(c *ical.Component, addr string) string {
	p := attendeeProp(c, addr)
	if p == nil {
		return ""
	}
	if v := strings.ToUpper(p.Params.Get(paramPartStat)); v != "" {
		return v
	}
	return "NEEDS-ACTION"
}

// serverAttendees returns the attendees of cal the server schedules: those
// whose SCHEDULE-AGENT is SERVER in every component, other than own ones.
func serverAttendees(cal *ical.Calendar, own func(string) bool) []string {
	var out []string
	skip := map[string]bool{}
	for _, c := range comps(cal) {
		for i := range c.Props[ical.PropAttendee] {
			p := &c.Props[ical.PropAttendee][i]
			a := Address(p.Value)
			if a == "" || own(a) {
				continue
			}
			if agent(p) != "SERVER" {
				skip[a] = true
			}
			if !slices.Contains(out, a) {
				out = append(out, a)
			}
		}
	}
	return slices.DeleteFunc(out, func(a string) bool { return skip[a] })
}

// HasMaster reports whether cal has a component without RECURRENCE-ID (the
// master of a series, or the one component of a single event).
func HasMaster(cal *ical.Calendar) bool { return byRID(comps(cal), "") != nil }

// allCancelled reports whether every component of cal is STATUS:CANCELLED.
func allCancelled(cal *ical.Calendar) bool {
	cs := comps(cal)
	for _, c := range cs {
		if !cancelled(c) {
			return false
		}
	}
	return len(cs) > 0
}

// cancelled reports whether component c has STATUS:CANCELLED.
func cancelled(c *ical.Component) bool {
	p := c.Props.Get(ical.PropStatus)
	return p != nil && strings.EqualFold(strings.TrimSpace(p.Value), "CANCELLED")
}
