package schedule

import (
	"bytes"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/emersion/go-ical"
)

// cloneComp copies a component deeply.
func cloneComp(c *ical.Component) *ical.Component {
	out := &ical.Component{Name: c.Name, Props: ical.Props{}}
	for name, ps := range c.Props {
		cp := make([]ical.Prop, len(ps))
		for i, p := range ps {
			cp[i] = ical.Prop{Name: p.Name, Value: p.Value, Params: ical.Params{}}
			for k, v := range p.Params {
				cp[i].Params[k] = append([]string(nil), v...)
			}
		}
		out.Props[name] = cp
	}
	for _, ch := range c.Children {
		out.Children = append(out.Children, cloneComp(ch))
	}
	return out
}

// newCalendar returns an empty VCALENDAR with cal's VERSION, PRODID and
// CALSCALE and its time zones.
func newCalendar(cal *ical.Calendar) *ical.Calendar {
	out := ical.NewCalendar()
	for _, name := range []string{ical.PropVersion, ical.PropProductID, ical.PropCalendarScale} {
		if p := cal.Props.Get(name); p != nil {
			out.Props.Set(&ical.Prop{Name: name, Params: ical.Params{}, Value: p.Value})
		}
	}
	if out.Props.Get(ical.PropVersion) == nil {
		out.Props.SetText(ical.PropVersion, "2.0")
	}
	if out.Props.Get(ical.PropProductID) == nil {
		out.Props.SetText(ical.PropProductID, "-//pimvault//pimvault//EN")
	}
	for _, c := range cal.Children {
		if c.Name == ical.CompTimezone {
			out.Children = append(out.Children, cloneComp(c))
		}
	}
	return out
}

// stripSchedulingParams removes what only the organizer's copy carries:
// SCHEDULE-STATUS and SCHEDULE-FORCE-SEND on ATTENDEE and ORGANIZER.
func stripSchedulingParams(c *ical.Component) {
	for _, name := range []string{ical.PropAttendee, ical.PropOrganizer} {
		for i := range c.Props[name] {
			c.Props[name][i].Params.Del(paramStatus)
			c.Props[name][i].Params.Del(paramForceSend)
		}
	}
}

// View is attendee addr's copy of cal (RFC 6638 §3.2.2.1, RFC 5546 §3.2.2):
// the components that list addr, without alarms and the organizer's
// scheduling parameters, addr's PARTSTAT made explicit; an override that
// does not list addr while the master does becomes an EXDATE of the master.
// It is nil when no component lists addr.
func View(cal *ical.Calendar, addr string) *ical.Calendar {
	if cal == nil {
		return nil
	}
	cs := comps(cal)
	out := newCalendar(cal)
	var master *ical.Component
	inMaster := false
	if m := byRID(cs, ""); m != nil {
		inMaster = attendeeProp(m, addr) != nil
		// The master first, so that overrides can add EXDATEs to its copy.
		cs = append([]*ical.Component{m}, slices.DeleteFunc(slices.Clone(cs), func(c *ical.Component) bool { return c == m })...)
	}
	n := 0
	for _, c := range cs {
		if attendeeProp(c, addr) == nil {
			if rid(c) != "" && inMaster && master != nil {
				r := c.Props.Get(ical.PropRecurrenceID)
				ex := ical.Prop{Name: ical.PropExceptionDates, Params: ical.Params{}, Value: r.Value}
				for _, k := range []string{ical.ParamTimezoneID, ical.ParamValue} {
					if v := r.Params.Get(k); v != "" {
						ex.Params.Set(k, v)
					}
				}
				master.Props.Add(&ex)
			}
			continue
		}
		cc := cloneComp(c)
		cc.Children = slicesDeleteAlarms(cc.Children)
		stripSchedulingParams(cc)
		if p := attendeeProp(cc, addr); p.Params.Get(paramPartStat) == "" {
			p.Params.Set(paramPartStat, "NEEDS-ACTION")
		}
		if rid(c) == "" {
			master = cc
		}
		out.Children = append(out.Children, cc)
		n++
	}
	if n == 0 {
		return nil
	}
	return out
}

func slicesDeleteAlarms(cs []*ical.Component) []*ical.Component {
	var out []*ical.Component
	for _, c := range cs {
		if c.Name != ical.CompAlarm {
			out = append(out, c)
		}
	}
	return out
}

// canon is a text of c that two equal views share: properties sorted,
// DTSTAMP and the scheduling parameters left out.
func canon(cal *ical.Calendar) string {
	if cal == nil {
		return ""
	}
	var b strings.Builder
	var walk func(c *ical.Component)
	walk = func(c *ical.Component) {
		b.WriteString("BEGIN:" + c.Name + "\n")
		names := make([]string, 0, len(c.Props))
		for n := range c.Props {
			if n != ical.PropDateTimeStamp {
				names = append(names, n)
			}
		}
		sort.Strings(names)
		for _, n := range names {
			var lines []string
			for _, p := range c.Props[n] {
				var pk []string
				for k, v := range p.Params {
					if k != paramStatus && k != paramForceSend {
						pk = append(pk, k+"="+strings.Join(v, ","))
					}
				}
				sort.Strings(pk)
				lines = append(lines, n+";"+strings.Join(pk, ";")+":"+p.Value)
			}
			sort.Strings(lines)
			b.WriteString(strings.Join(lines, "\n") + "\n")
		}
		for _, ch := range c.Children {
			walk(ch)
		}
		b.WriteString("END:" + c.Name + "\n")
	}
	walk(cal.Component)
	return b.String()
}

// MergeCopy prepares an update of attendee addr's existing copy old with the
// organizer's new view: where an instance's timing did not change, addr's
// PARTSTAT from old stays (the organizer's client may not have seen the
// answer yet), and addr's own alarms from old are kept. view is changed.
func MergeCopy(old, view *ical.Calendar, addr string) {
	if old == nil || view == nil {
		return
	}
	ocs := comps(old)
	for _, c := range comps(view) {
		o := byRID(ocs, rid(c))
		if o == nil {
			continue
		}
		if timing(o) == timing(c) {
			if ps, p := partStat(o, addr), attendeeProp(c, addr); ps != "" && p != nil {
				p.Params.Set(paramPartStat, ps)
			}
		}
		for _, ch := range o.Children {
			if ch.Name == ical.CompAlarm {
				c.Children = append(c.Children, cloneComp(ch))
			}
		}
	}
}

// MarkCancelled sets STATUS:CANCELLED on every component of cal (an
// attendee's copy of a cancelled event: kept, marked, never deleted).
func MarkCancelled(cal *ical.Calendar) {
	for _, c := range comps(cal) {
		c.Props.SetText(ical.PropStatus, "CANCELLED")
	}
}

// message wraps components in a VCALENDAR with METHOD and a fresh DTSTAMP.
func message(method string, cal *ical.Calendar, now time.Time) *ical.Calendar {
	out := newCalendar(cal)
	out.Props.SetText(ical.PropMethod, method)
	for _, c := range cal.Children {
		if c.Name == ical.CompTimezone {
			continue
		}
		cc := cloneComp(c)
		cc.Props.SetDateTime(ical.PropDateTimeStamp, now.UTC())
		out.Children = append(out.Children, cc)
	}
	return out
}

// Encode serialises cal, giving components without DTSTAMP one (go-ical's
// encoder and RFC 5545 require it).
func Encode(cal *ical.Calendar, now time.Time) ([]byte, error) {
	for _, c := range comps(cal) {
		if c.Props.Get(ical.PropDateTimeStamp) == nil {
			c.Props.SetDateTime(ical.PropDateTimeStamp, now.UTC())
		}
	}
	var buf bytes.Buffer
	if err := ical.NewEncoder(&buf).Encode(cal); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// SetStatus records the outcome of this change's messages on the
// organizer's copy: SCHEDULE-STATUS on the ATTENDEE properties of the
// recipients in status, and no SCHEDULE-FORCE-SEND anywhere (RFC 6638
// §3.2.9, §7.2). It reports whether anything changed.
func SetStatus(cal *ical.Calendar, status map[string]string) bool {
	changed := false
	for _, c := range comps(cal) {
		for i := range c.Props[ical.PropAttendee] {
			p := &c.Props[ical.PropAttendee][i]
			if p.Params.Get(paramForceSend) != "" {
				p.Params.Del(paramForceSend)
				changed = true
			}
			if st, ok := status[Address(p.Value)]; ok && p.Params.Get(paramStatus) != st {
				p.Params.Set(paramStatus, st)
				changed = true
			}
		}
	}
	return changed
}

// KeepAnswers carries into the organizer's new version cur the answers the
// server holds in old for the other attendees: where an instance's timing
// did not change, each attendee (not one of own) keeps old's PARTSTAT
// whatever cur says, with old's RSVP and SCHEDULE-STATUS. Only an attendee answers for
// themselves (RFC 6638 §3.2.1: the organizer sets no other user's PARTSTAT),
// and an organizer's client that has not yet read a reply, or still shows an
// answer the server has since reset, does not change it. It reports whether
// cur changed.
func KeepAnswers(old, cur *ical.Calendar, own func(string) bool) bool {
	if old == nil || cur == nil {
		return false
	}
	changed := false
	ocs := comps(old)
	for _, c := range comps(cur) {
		o := byRID(ocs, rid(c))
		if o == nil || timing(o) != timing(c) {
			continue
		}
		for i := range c.Props[ical.PropAttendee] {
			p := &c.Props[ical.PropAttendee][i]
			a := Address(p.Value)
			op := attendeeProp(o, a)
			if own(a) || op == nil {
				continue
			}
			ps := partStat(o, a)
			if partStat(c, a) == ps {
				continue
			}
			p.Params.Set(paramPartStat, ps)
			changed = true
			for _, k := range []string{"RSVP", paramStatus} {
				if v := op.Params.Get(k); v != p.Params.Get(k) {
					if v == "" {
						p.Params.Del(k)
					} else {
						p.Params.Set(k, v)
					}
					changed = true
				}
			}
		}
	}
	return changed
}

// ApplyCancel applies a CANCEL to an attendee's copy (RFC 5546 §3.2.5): a
// message for the whole object (a component without RECURRENCE-ID) marks
// every component cancelled; one for instances only excludes those
// instances (EXDATE on the master, their overrides removed), leaving the
// rest of the series. A copy that would be left with nothing is marked
// cancelled instead.
func ApplyCancel(copyCal, msg *ical.Calendar) {
	cancelled := map[string]*ical.Prop{}
	for _, c := range comps(msg) {
		p := c.Props.Get(ical.PropRecurrenceID)
		if p == nil {
			MarkCancelled(copyCal)
			return
		}
		cancelled[strings.TrimSpace(p.Value)] = p
	}
	master := byRID(comps(copyCal), "")
	left := 0
	for _, c := range comps(copyCal) {
		if _, gone := cancelled[rid(c)]; !gone {
			left++
		}
	}
	if left == 0 {
		MarkCancelled(copyCal)
		return
	}
	excluded := exdates(master)
	for val, r := range cancelled {
		if _, done := excluded[strings.ToUpper(val)]; master != nil && !done {
			ex := ical.Prop{Name: ical.PropExceptionDates, Params: ical.Params{}, Value: r.Value}
			for _, k := range []string{ical.ParamTimezoneID, ical.ParamValue} {
				if v := r.Params.Get(k); v != "" {
					ex.Params.Set(k, v)
				}
			}
			master.Props.Add(&ex)
		}
		copyCal.Children = slices.DeleteFunc(copyCal.Children, func(c *ical.Component) bool {
			return (c.Name == ical.CompEvent || c.Name == ical.CompToDo) && c != master && rid(c) == val
		})
	}
}

// SettleStatus sets SCHEDULE-STATUS to status for the attendee addr where
// it is StatusPending (a queued message's outcome, RFC 6638 §3.2.9); a
// status a later change set stays. It reports whether cal changed.
func SettleStatus(cal *ical.Calendar, addr, status string) bool {
	addr = Address(addr)
	changed := false
	for _, c := range comps(cal) {
		for i := range c.Props[ical.PropAttendee] {
			p := &c.Props[ical.PropAttendee][i]
			if Address(p.Value) == addr && p.Params.Get(paramStatus) == StatusPending {
				p.Params.Set(paramStatus, status)
				changed = true
			}
		}
	}
	return changed
}
