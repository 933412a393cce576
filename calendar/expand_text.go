package calendar

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-ical"
)

// Expanding to text. Every instance of one component differs from the others only in
// its DTSTART, DTEND (or DUE) and RECURRENCE-ID values, whose text has a fixed length
// for each value kind (DATE, floating, UTC). So each component is encoded once, with
// placeholders of that length in those three values, and every instance is that text
// with the placeholders replaced: the same bytes the encoder writes for Expand's
// components, without building and encoding a component per instance.

// Encoder writes a calendar (or, given a Calendar holding one component, that
// component) as iCalendar text.
type Encoder func(*ical.Calendar) string

// placeholder bytes, one per substituted value; a template is used only when each
// occurs exactly as often as expected, so a body that holds them takes the slow path.
const (
	slotStart = '\x01'
	slotEnd   = '\x02'
	slotRID   = '\x03'
)

// template is one component's text split around its substituted values.
type template struct {
	parts []string // len(slots)+1 pieces of text
	slots []byte   // slotStart, slotEnd or slotRID, in text order
	kinds [3]tval  // the value kind of each slot (indexed by slot-1)
}

// templateKey says which values an instance's text substitutes (instanceComponent's
// choices); the value kinds follow from comp.
type templateKey struct {
	comp                  *ical.Component
	recurring, start, end bool
	endName               string
}

// templates caches, per Object, the text pieces of its components. Encoders are
// assumed to be the same function for every call on one Object (a server has one).
type templates struct {
	mu   sync.Mutex
	head string // the VCALENDAR's BEGIN and properties
	comp map[templateKey]*template
}

// ExpandText returns encode(o.Expand(tr, floating)) (Expand's result as text), writing
// each instance from a per-component template; it falls back to encoding Expand's
// result when floating is not the location Parse used or a template cannot be made.
func (o *Object) ExpandText(tr TimeRange, floating *time.Location, encode Encoder) (string, error) {
	return o.ExpandTextContext(context.Background(), tr, floating, encode)
}

// ExpandTextContext is ExpandText, stopping with ctx's error when ctx ends.
func (o *Object) ExpandTextContext(ctx context.Context, tr TimeRange, floating *time.Location, encode Encoder) (string, error) {
	p := o.prepFor(floating)
	if p == nil || p.tmpl == nil {
		cal, err := o.ExpandContext(ctx, tr, floating)
		if err != nil {
			return "", err
		}
		return encode(cal), nil
	}
	head, ok := p.tmpl.calendarHead(o.Cal, encode)
	if !ok {
		return o.expandEncoded(ctx, tr, encode)
	}
	out := make([]byte, 0, len(head)+1024)
	out = append(out, head...)
	for _, s := range p.series {
		name := seriesName(s)
		lo, hi, err := s.window(p.z, &CompFilter{Name: name, TimeRange: &tr})
		if err != nil {
			return "", fmt.Errorf("%w: %v", ErrInvalidData, err)
		}
		// As expand: each instance rendered as it comes (here, appended to out),
		// then the series' instances put in start order.
		base := len(out)
		var ends []int
		var starts []time.Time
		usable := true
		err = s.each(ctx, lo, hi, func(inst *instance) (bool, error) {
			if !instanceOverlaps(inst, tr, p.z) {
				return false, nil
			}
			tp, err := p.tmpl.forInstance(inst, p.z, encode)
			if err != nil {
				return true, err
			}
			if tp == nil {
				usable = false
				return true, nil
			}
			out = tp.append(out, inst)
			ends, starts = append(ends, len(out)), append(starts, inst.start)
			return false, nil
		})
		if err != nil && !errors.Is(err, ErrTooManyInstances) { // truncated as Expand is
			return "", err
		}
		if !usable {
			return o.expandEncoded(ctx, tr, encode)
		}
		out = sortInstances(out, base, ends, starts)
	}
	for _, c := range o.Cal.Children {
		if c.Name != ical.CompTimezone && !timed(c.Name) {
			out = append(out, encode(&ical.Calendar{Component: c})...)
		}
	}
	out = append(out, "END:"+ical.CompCalendar+"\r\n"...)
	return string(out), nil
}

// sortInstances puts the instance texts in out[base:] (the i-th ending at ends[i]) in
// the stable order of their starts, as expand orders its components.
func sortInstances(out []byte, base int, ends []int, starts []time.Time) []byte {
	if sort.SliceIsSorted(starts, func(a, b int) bool { return starts[a].Before(starts[b]) }) {
		return out
	}
	idx := make([]int, len(ends))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return starts[idx[a]].Before(starts[idx[b]]) })
	seg := append([]byte(nil), out[base:]...)
	out = out[:base]
	for _, i := range idx {
		from := base
		if i > 0 {
			from = ends[i-1]
		}
		out = append(out, seg[from-base:ends[i]-base]...)
	}
	return out
}

func (o *Object) expandEncoded(ctx context.Context, tr TimeRange, encode Encoder) (string, error) {
	cal, err := expand(ctx, o.Cal, o.prep.z, o.prep.series, tr)
	if err != nil {
		return "", err
	}
	return encode(cal), nil
}

// calendarHead is the text of the VCALENDAR before its components.
func (ts *templates) calendarHead(cal *ical.Calendar, encode Encoder) (string, bool) {
	ts.mu.Lock()
	head := ts.head
	ts.mu.Unlock()
	if head != "" {
		return head, true
	}
	text := encode(shallowCalendar(cal))
	head, ok := strings.CutSuffix(text, "END:"+ical.CompCalendar+"\r\n")
	if !ok || !strings.HasPrefix(head, "BEGIN:"+ical.CompCalendar+"\r\n") {
		return "", false
	}
	ts.mu.Lock()
	ts.head = head
	ts.mu.Unlock()
	return head, true
}

// forInstance returns the template of inst's component, making it from inst on first
// use; nil when the encoded text does not hold each placeholder exactly once.
func (ts *templates) forInstance(inst *instance, z *zones, encode Encoder) (*template, error) {
	t := inst.t
	key := templateKey{comp: inst.comp, recurring: inst.recurring}
	if inst.recurring {
		key.endName = ical.PropDateTimeEnd
		if inst.comp.Name == ical.CompToDo {
			key.endName = ical.PropDue
		}
		key.start = t.hasStart && inst.comp.Props.Get(ical.PropDateTimeStart) != nil
		key.end = inst.comp.Props.Get(key.endName) != nil && inst.hasEnd
	}
	ts.mu.Lock()
	tp, ok := ts.comp[key]
	ts.mu.Unlock()
	if ok {
		return tp, nil
	}
	c, err := instanceComponent(inst, z)
	if err != nil {
		return nil, err
	}
	tp = &template{}
	want := map[byte]int{}
	if inst.recurring {
		ridKind := t.start
		if t.hasRID {
			ridKind = t.rid
		}
		tp.kinds = [3]tval{t.start, t.end, ridKind}
		mark := func(name string, slot byte) {
			p := c.Props.Get(name)
			p.Value = strings.Repeat(string(slot), len(p.Value))
			want[slot] = len(p.Value)
		}
		if key.start {
			mark(ical.PropDateTimeStart, slotStart)
		}
		if key.end {
			mark(key.endName, slotEnd)
		}
		mark(ical.PropRecurrenceID, slotRID)
	}
	text := encode(&ical.Calendar{Component: c})
	for _, slot := range []byte{slotStart, slotEnd, slotRID} {
		n := want[slot]
		if strings.Count(text, string(slot)) != n || (n > 0 && !strings.Contains(text, strings.Repeat(string(slot), n))) {
			tp = nil // a placeholder byte in the body, or folded apart: not usable
			break
		}
	}
	for tp != nil {
		i := strings.IndexAny(text, "\x01\x02\x03")
		if i < 0 {
			tp.parts = append(tp.parts, text)
			break
		}
		slot := text[i]
		tp.parts, tp.slots = append(tp.parts, text[:i]), append(tp.slots, slot)
		text = text[i+want[slot]:]
	}
	ts.mu.Lock()
	if ts.comp == nil {
		ts.comp = map[templateKey]*template{}
	}
	ts.comp[key] = tp
	ts.mu.Unlock()
	return tp, nil
}

// append appends inst's text to out: the template with its values in the kinds
// setTime uses.
func (tp *template) append(out []byte, inst *instance) []byte {
	for i, slot := range tp.slots {
		out = append(out, tp.parts[i]...)
		var v time.Time
		switch slot {
		case slotStart:
			v = inst.start
		case slotEnd:
			v = inst.end
		default:
			v = inst.rid
		}
		kind := tp.kinds[slot-1]
		switch {
		case kind.date:
			out = wallOf(v).AppendFormat(out, "20060102")
		case kind.floating:
			out = wallOf(v).AppendFormat(out, "20060102T150405")
		default:
			out = v.UTC().AppendFormat(out, "20060102T150405Z")
		}
	}
	return append(out, tp.parts[len(tp.parts)-1]...)
}
