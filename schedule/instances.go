package schedule

import (
	"sort"
	"strings"
	"time"

	"github.com/emersion/go-ical"
)

// exdates returns the instances master c excludes, keyed by EXDATE value
// (each value of a list on its own), each as the RECURRENCE-ID that names
// the instance.
func exdates(c *ical.Component) map[string]ical.Prop {
	out := map[string]ical.Prop{}
	if c == nil {
		return out
	}
	for _, p := range c.Props[ical.PropExceptionDates] {
		for _, v := range strings.Split(p.Value, ",") {
			v = strings.ToUpper(strings.TrimSpace(v))
			if v == "" {
				continue
			}
			r := ical.Prop{Name: ical.PropRecurrenceID, Params: ical.Params{}, Value: v}
			for _, k := range []string{ical.ParamTimezoneID, ical.ParamValue} {
				if x := p.Params.Get(k); x != "" {
					r.Params.Set(k, x)
				}
			}
			out[v] = r
		}
	}
	return out
}

// removedInstances returns the instances of a series that cur excludes and
// old did not (new EXDATE values of the master), in order. Only for the
// same series (start, length and recurrence rule unchanged): where the
// series itself changed, a new EXDATE may name an instance old never had,
// and the REQUEST of the new series says it all.
func removedInstances(old, cur *ical.Calendar) []ical.Prop {
	om, cm := byRID(comps(old), ""), byRID(comps(cur), "")
	if om == nil || cm == nil || timing(om) != timing(cm) {
		return nil
	}
	was := exdates(om)
	var out []ical.Prop
	for v, r := range exdates(cm) {
		if _, ok := was[v]; !ok {
			out = append(out, r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Value < out[j].Value })
	return out
}

// instanceCancel is the CANCEL of instances rids for attendee addr (RFC
// 5546 §3.2.5): one component per instance, naming it by RECURRENCE-ID,
// with the series' UID, ORGANIZER, SEQUENCE and SUMMARY from view's master
// and addr's ATTENDEE. nil when view has no master listing addr.
func instanceCancel(view *ical.Calendar, addr string, rids []ical.Prop, now time.Time) *ical.Calendar {
	m := byRID(comps(view), "")
	if m == nil || attendeeProp(m, addr) == nil || len(rids) == 0 {
		return nil
	}
	out := newCalendar(view)
	for _, r := range rids {
		c := ical.NewComponent(m.Name)
		for _, n := range []string{ical.PropUID, ical.PropOrganizer, ical.PropSequence, ical.PropSummary} {
			if p := m.Props.Get(n); p != nil {
				c.Props[n] = cloneComp(&ical.Component{Props: ical.Props{n: {*p}}}).Props[n]
			}
		}
		c.Props[ical.PropAttendee] = cloneComp(&ical.Component{Props: ical.Props{ical.PropAttendee: {*attendeeProp(m, addr)}}}).Props[ical.PropAttendee]
		rid := cloneComp(&ical.Component{Props: ical.Props{ical.PropRecurrenceID: {r}}}).Props[ical.PropRecurrenceID][0]
		c.Props.Set(&rid)
		start := rid
		start.Name = ical.PropDateTimeStart
		start.Params = ical.Params{}
		for k, v := range rid.Params {
			start.Params[k] = append([]string(nil), v...)
		}
		c.Props.Set(&start)
		c.Props.SetText(ical.PropStatus, "CANCELLED")
		out.Children = append(out.Children, c)
	}
	return message(MethodCancel, out, now)
}
