package schedule

import (
	"fmt"
	"strings"
	"time"

	"github.com/emersion/go-ical"
)

// partStats an attendee may answer with (RFC 5545 §3.2.12).
var partStats = map[string]bool{"NEEDS-ACTION": true, "ACCEPTED": true, "DECLINED": true, "TENTATIVE": true,
	"DELEGATED": true, "COMPLETED": true, "IN-PROCESS": true}

// ReplyMessage returns the REPLY an attendee's change of their copy sends to
// the organizer (RFC 6638 §3.2.2.3, RFC 5546 §3.2.3), or nil: one component
// per instance whose PARTSTAT of attendee changed from old to cur (an
// instance without its own component in old compares with old's master).
// cur nil is the attendee deleting their copy: every instance of old is
// DECLINED (RFC 6638 §3.2.2.2), except those the organizer cancelled
// (STATUS:CANCELLED): deleting a cancelled meeting answers nothing. An ORGANIZER with SCHEDULE-AGENT other than
// SERVER gets nothing.
func ReplyMessage(old, cur *ical.Calendar, attendee string, now time.Time) (*Message, error) {
	base := cur
	if cur == nil {
		base = old
	}
	info, err := Inspect(base)
	if err != nil {
		return nil, err
	}
	if info.Organizer == "" || info.Agent != "SERVER" {
		return nil, nil
	}
	reply := newCalendar(base)
	reply.Props.SetText(ical.PropMethod, MethodReply)
	ocs := comps(old)
	for _, c := range comps(base) {
		if attendeeProp(c, attendee) == nil {
			continue
		}
		ps := partStat(c, attendee)
		if cur == nil {
			if ps == "DECLINED" || cancelled(c) {
				continue // declined already, or no meeting left to decline
			}
			ps = "DECLINED"
		} else {
			was := ""
			if o := byRID(ocs, rid(c)); o != nil {
				was = partStat(o, attendee)
			} else if m := byRID(ocs, ""); m != nil {
				was = partStat(m, attendee)
			}
			if was == "" {
				was = "NEEDS-ACTION"
			}
			if ps == was {
				continue
			}
		}
		reply.Children = append(reply.Children, replyComp(c, attendee, ps, now))
	}
	if cur != nil {
		reply.Children = append(reply.Children, declinedByExdate(old, cur, attendee, now)...)
	}
	if len(comps(reply)) == 0 {
		return nil, nil
	}
	return &Message{Method: MethodReply, Recipient: info.Organizer, Cal: reply}, nil
}

// declinedByExdate returns the REPLY components for the instances the
// attendee removed from their copy by adding EXDATEs: each one declined
// (an attendee's client deletes one meeting of a series that way), except
// where old already said DECLINED.
func declinedByExdate(old, cur *ical.Calendar, attendee string, now time.Time) []*ical.Component {
	m := byRID(comps(cur), "")
	if m == nil || attendeeProp(m, attendee) == nil {
		return nil
	}
	var out []*ical.Component
	for _, r := range removedInstances(old, cur) {
		if o := byRID(comps(old), r.Value); o != nil && partStat(o, attendee) == "DECLINED" {
			continue
		}
		inst := ical.NewComponent(m.Name)
		for _, n := range []string{ical.PropUID, ical.PropOrganizer, ical.PropSequence, ical.PropAttendee} {
			inst.Props[n] = m.Props[n]
		}
		rid := r
		inst.Props.Set(&rid)
		start := ical.Prop{Name: ical.PropDateTimeStart, Params: r.Params, Value: r.Value}
		inst.Props.Set(&start)
		out = append(out, replyComp(inst, attendee, "DECLINED", now))
	}
	return out
}

// replyComp is the component of a REPLY for instance c (RFC 5546 §3.2.3):
// UID, DTSTAMP, ORGANIZER, the one ATTENDEE with its PARTSTAT, and
// RECURRENCE-ID, SEQUENCE and DTSTART when c has them.
func replyComp(c *ical.Component, attendee, ps string, now time.Time) *ical.Component {
	out := ical.NewComponent(c.Name)
	for _, n := range []string{ical.PropUID, ical.PropOrganizer, ical.PropRecurrenceID, ical.PropSequence, ical.PropDateTimeStart} {
		if p := c.Props.Get(n); p != nil {
			cp := cloneComp(&ical.Component{Props: ical.Props{n: {*p}}})
			out.Props[n] = cp.Props[n]
		}
	}
	a := cloneComp(&ical.Component{Props: ical.Props{ical.PropAttendee: {*attendeeProp(c, attendee)}}}).Props[ical.PropAttendee]
	a[0].Params.Del(paramStatus)
	a[0].Params.Del(paramForceSend)
	a[0].Params.Del("RSVP")
	a[0].Params.Set(paramPartStat, ps)
	out.Props[ical.PropAttendee] = a
	out.Props.SetDateTime(ical.PropDateTimeStamp, now.UTC())
	return out
}

// ApplyReply applies a REPLY from sender to the organizer's copy org (RFC
// 5546 §3.2.3): each of its components sets sender's PARTSTAT in the
// instance of the same RECURRENCE-ID, creating that override from the
// master when org has none. Only sender's own ATTENDEE property changes,
// and only where org lists sender (ErrNotAttendee otherwise, with org
// unchanged). It reports whether org changed.
func ApplyReply(org, reply *ical.Calendar, sender string) (bool, error) {
	type edit struct {
		c  *ical.Component
		ps string
	}
	var edits []edit
	var added []*ical.Component
	ocs := comps(org)
	for _, rc := range comps(reply) {
		as := rc.Props[ical.PropAttendee]
		if len(as) != 1 || Address(as[0].Value) != sender {
			return false, fmt.Errorf("%w: a reply carries exactly the sender's ATTENDEE", ErrNotAttendee)
		}
		ps := strings.ToUpper(as[0].Params.Get(paramPartStat))
		if !partStats[ps] {
			return false, fmt.Errorf("%w: PARTSTAT %q", ErrInvalid, ps)
		}
		r := rid(rc)
		target := byRID(ocs, r)
		if target == nil && r != "" {
			for _, a := range added {
				if rid(a) == r {
					target = a
				}
			}
		}
		if target == nil && r != "" {
			m := byRID(ocs, "")
			if m == nil || attendeeProp(m, sender) == nil {
				return false, fmt.Errorf("%w: no instance %s lists %s", ErrNotAttendee, r, sender)
			}
			o, err := overrideOf(m, rc.Props.Get(ical.PropRecurrenceID))
			if err != nil {
				return false, err
			}
			added = append(added, o)
			target = o
		}
		if target == nil || attendeeProp(target, sender) == nil {
			return false, fmt.Errorf("%w: %s is not invited to this instance", ErrNotAttendee, sender)
		}
		edits = append(edits, edit{target, ps})
	}
	changed := len(added) > 0
	org.Children = append(org.Children, added...)
	for _, e := range edits {
		p := attendeeProp(e.c, sender)
		if partStat(e.c, sender) != e.ps {
			changed = true
		}
		p.Params.Set(paramPartStat, e.ps)
		if p.Params.Get("RSVP") != "" {
			p.Params.Del("RSVP") // answered: no reply is expected any more
			changed = true
		}
		if p.Params.Get(paramStatus) != StatusSuccess {
			p.Params.Set(paramStatus, StatusSuccess)
			changed = true
		}
	}
	return changed, nil
}

// overrideOf makes the override of master's instance at recurrence id r
// (RFC 5545 §3.8.4.4): a copy of the master without its recurrence rules,
// starting at r, as long as the master.
func overrideOf(master *ical.Component, r *ical.Prop) (*ical.Component, error) {
	o := cloneComp(master)
	for _, n := range []string{ical.PropRecurrenceRule, ical.PropRecurrenceDates, ical.PropExceptionDates, "EXRULE"} {
		o.Props.Del(n)
	}
	dur, err := length(master)
	if err != nil {
		return nil, err
	}
	rp := cloneComp(&ical.Component{Props: ical.Props{"X": {*r}}}).Props["X"][0]
	rp.Name = ical.PropRecurrenceID
	o.Props.Set(&rp)
	start := rp
	start.Name = ical.PropDateTimeStart
	start.Params = ical.Params{}
	for k, v := range rp.Params {
		if k != "RANGE" {
			start.Params[k] = append([]string(nil), v...)
		}
	}
	o.Props.Set(&start)
	o.Props.Del(ical.PropDateTimeEnd)
	o.Props.Del(ical.PropDue)
	if dur != "" {
		o.Props.Set(&ical.Prop{Name: ical.PropDuration, Params: ical.Params{}, Value: dur})
	}
	return o, nil
}

// length is the master's duration as an iCalendar DURATION, "" when it has
// no end: its DURATION, or DTEND (DUE) minus DTSTART on the wall clock when
// both are in the same zone.
func length(m *ical.Component) (string, error) {
	if p := m.Props.Get(ical.PropDuration); p != nil {
		return p.Value, nil
	}
	end := m.Props.Get(ical.PropDateTimeEnd)
	if end == nil {
		end = m.Props.Get(ical.PropDue)
	}
	start := m.Props.Get(ical.PropDateTimeStart)
	if end == nil || start == nil {
		return "", nil
	}
	s, sDate, err1 := wall(start.Value)
	e, eDate, err2 := wall(end.Value)
	if err1 != nil || err2 != nil || sDate != eDate {
		return "", fmt.Errorf("%w: DTSTART and DTEND do not parse", ErrInvalid)
	}
	if start.Params.Get(ical.ParamTimezoneID) != end.Params.Get(ical.ParamTimezoneID) {
		st, err1 := start.DateTime(time.UTC)
		et, err2 := end.DateTime(time.UTC)
		if err1 != nil || err2 != nil {
			return "", fmt.Errorf("%w: DTSTART and DTEND in different zones", ErrInvalid)
		}
		s, e = st, et
	}
	d := e.Sub(s)
	if d < 0 {
		return "", fmt.Errorf("%w: DTEND before DTSTART", ErrInvalid)
	}
	if sDate {
		return fmt.Sprintf("P%dD", int(d.Hours()/24)), nil
	}
	return fmt.Sprintf("PT%dS", int64(d/time.Second)), nil
}

// wall parses a DATE or DATE-TIME value as a wall-clock time.
func wall(v string) (time.Time, bool, error) {
	v = strings.TrimSuffix(strings.TrimSpace(v), "Z")
	if len(v) == 8 {
		t, err := time.Parse("20060102", v)
		return t, true, err
	}
	t, err := time.Parse("20060102T150405", v)
	return t, false, err
}
