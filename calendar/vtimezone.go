package calendar

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-ical"
	"github.com/teambition/rrule-go"
)

// A VTIMEZONE whose TZID is not an IANA name (Outlook's "W. Europe Standard Time", a
// custom zone) is compiled into a *time.Location: its STANDARD and DAYLIGHT observances
// (RFC 5545 §3.6.5) are expanded into transitions up to vtzHorizon, written as TZif data
// and loaded with time.LoadLocationFromTZData. Compiled zones are cached by content.

const (
	vtzHorizonYear    = 2200 // transitions are generated up to here
	maxVTZTransitions = 2000 // per VTIMEZONE
	maxVTZCache       = 1024
)

var (
	vtzMu    sync.Mutex
	vtzCache = map[[32]byte]*time.Location{}
)

type transition struct {
	at     int64 // UTC seconds
	offset int   // seconds east of UTC after the transition
	dst    bool
	name   string
}

func compileVTimezone(c *ical.Component, tzid string) (*time.Location, error) {
	key := vtzKey(c)
	vtzMu.Lock()
	loc, ok := vtzCache[key]
	vtzMu.Unlock()
	if ok {
		return loc, nil
	}
	var trs []transition
	firstFrom, firstAt := 0, int64(0)
	for _, o := range c.Children {
		if o.Name != ical.CompTimezoneStandard && o.Name != ical.CompTimezoneDaylight {
			continue
		}
		ts, from, err := observanceTransitions(o)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", o.Name, err)
		}
		if len(ts) > 0 && (len(trs) == 0 || ts[0].at < firstAt) {
			firstAt, firstFrom = ts[0].at, from
		}
		trs = append(trs, ts...)
		if len(trs) > maxVTZTransitions {
			return nil, fmt.Errorf("more than %d transitions", maxVTZTransitions)
		}
	}
	if len(trs) == 0 {
		return nil, fmt.Errorf("no STANDARD or DAYLIGHT observance")
	}
	sort.SliceStable(trs, func(i, j int) bool { return trs[i].at < trs[j].at })
	data, err := tzif(trs, firstFrom)
	if err != nil {
		return nil, err
	}
	loc, err = time.LoadLocationFromTZData(tzid, data)
	if err != nil {
		return nil, err
	}
	vtzMu.Lock()
	if len(vtzCache) >= maxVTZCache {
		clear(vtzCache)
	}
	vtzCache[key] = loc
	vtzMu.Unlock()
	return loc, nil
}

// vtzKey hashes a VTIMEZONE's content (names, properties in a stable order).
func vtzKey(c *ical.Component) [32]byte {
	h := sha256.New()
	var walk func(c *ical.Component)
	walk = func(c *ical.Component) {
		fmt.Fprintf(h, "BEGIN:%s\n", c.Name)
		names := make([]string, 0, len(c.Props))
		for n := range c.Props {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			for _, p := range c.Props[n] {
				fmt.Fprintf(h, "%s;%v:%s\n", n, p.Params, p.Value)
			}
		}
		for _, ch := range c.Children {
			walk(ch)
		}
		fmt.Fprintf(h, "END:%s\n", c.Name)
	}
	walk(c)
	var k [32]byte
	copy(k[:], h.Sum(nil))
	return k
}

// observanceTransitions lists the onsets of one observance, as UTC instants.
func observanceTransitions(o *ical.Component) (trs []transition, from int, err error) {
	defer recoverRule(&err)
	return observanceOnsets(o)
}

func observanceOnsets(o *ical.Component) ([]transition, int, error) {
	from, err := utcOffsetProp(o, ical.PropTimezoneOffsetFrom)
	if err != nil {
		return nil, 0, err
	}
	to, err := utcOffsetProp(o, ical.PropTimezoneOffsetTo)
	if err != nil {
		return nil, 0, err
	}
	sp := o.Props.Get(ical.PropDateTimeStart)
	if sp == nil {
		return nil, 0, fmt.Errorf("no DTSTART")
	}
	// Onsets are local times in the offset in effect before them (TZOFFSETFROM); they
	// are generated as wall times in UTC and shifted.
	// An onset may predate the Gregorian calendar (some generators write 00010101): it
	// is clamped to 1583 (the offsets before the first onset come from TZOFFSETFROM).
	value := sp.Value
	if len(value) >= 4 && value[:4] < "1583" {
		value = "1583" + value[4:]
	}
	start, err := parseDateTime(value, false, time.UTC)
	if err != nil || start.date || strings.HasSuffix(value, "Z") {
		return nil, 0, fmt.Errorf("bad DTSTART %q", sp.Value)
	}
	name := ""
	if p := o.Props.Get(ical.PropTimezoneName); p != nil {
		name = p.Value
	}
	dst := o.Name == ical.CompTimezoneDaylight
	mk := func(wall time.Time) transition {
		return transition{at: wall.Unix() - int64(from), offset: to, dst: dst, name: name}
	}
	trs := []transition{mk(start.t)}
	horizon := time.Date(vtzHorizonYear, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, rp := range o.Props.Values(ical.PropRecurrenceRule) {
		v := strings.ToUpper(rp.Value)
		opt, err := rrule.StrToROptionInLocation(v, time.UTC)
		if err == nil {
			err = checkRule(v, opt)
		}
		if err != nil {
			return nil, 0, fmt.Errorf("RRULE: %v", err)
		}
		if !opt.Until.IsZero() && strings.HasSuffix(strings.ToUpper(rp.Value), "Z") {
			// UNTIL is UTC; compare it with wall times in the "from" offset.
			opt.Until = opt.Until.Add(time.Duration(from) * time.Second)
		}
		opt.Dtstart = start.t
		if opt.Until.IsZero() {
			opt.Until = horizon // rrule-go's default ends 292 years after DTSTART
		}
		if err := checkRuleFrom(opt); err != nil {
			return nil, 0, fmt.Errorf("RRULE: %v", err)
		}
		b := newBudget(context.Background(), MaxWork)
		next := newRuleIter(*opt, b).next
		for i := 0; ; i++ {
			t, ok := next()
			if b.err != nil {
				return nil, 0, fmt.Errorf("RRULE: its transitions need more than %d steps to compute", MaxWork)
			}
			if !ok || !t.Before(horizon) {
				break
			}
			if i > maxVTZTransitions {
				return nil, 0, fmt.Errorf("RRULE: too many transitions")
			}
			if !t.Equal(start.t) {
				trs = append(trs, mk(t))
			}
		}
	}
	for _, rp := range o.Props.Values(ical.PropRecurrenceDates) {
		for _, s := range strings.Split(rp.Value, ",") {
			v, err := parseDateTime(s, false, time.UTC)
			if err != nil || v.date {
				return nil, 0, fmt.Errorf("bad RDATE %q", s)
			}
			trs = append(trs, mk(v.t))
		}
	}
	return trs, from, nil
}

func utcOffsetProp(o *ical.Component, name string) (int, error) {
	p := o.Props.Get(name)
	if p == nil {
		return 0, fmt.Errorf("no %s", name)
	}
	s := p.Value
	if (len(s) != 5 && len(s) != 7) || (s[0] != '+' && s[0] != '-') || !allDigits(s[1:]) {
		return 0, fmt.Errorf("bad %s %q", name, s)
	}
	h := int(s[1]-'0')*10 + int(s[2]-'0')
	m := int(s[3]-'0')*10 + int(s[4]-'0')
	sec := 0
	if len(s) == 7 {
		sec = int(s[5]-'0')*10 + int(s[6]-'0')
	}
	if h > 23 || m > 59 || sec > 59 {
		return 0, fmt.Errorf("bad %s %q", name, s)
	}
	off := h*3600 + m*60 + sec
	if s[0] == '-' {
		off = -off
	}
	return off, nil
}

// tzif encodes transitions as TZif version 2 data (RFC 8536): an empty version 1 block,
// then the 64-bit block. Type 0 is the offset before the first transition.
func tzif(trs []transition, firstFrom int) ([]byte, error) {
	type ttype struct {
		offset int
		dst    bool
		name   string
	}
	types := []ttype{{offset: firstFrom, name: ""}}
	index := map[ttype]int{}
	idx := make([]byte, len(trs))
	for i, tr := range trs {
		tt := ttype{tr.offset, tr.dst, tr.name}
		n, ok := index[tt]
		if !ok {
			n = len(types)
			types = append(types, tt)
			index[tt] = n
		}
		if n > 255 {
			return nil, fmt.Errorf("more than 255 distinct observances")
		}
		idx[i] = byte(n)
	}
	var chars []byte
	abbr := make([]int, len(types))
	for i, tt := range types {
		abbr[i] = len(chars)
		chars = append(append(chars, tt.name...), 0)
	}
	var b []byte
	header := func(timecnt, typecnt, charcnt int) {
		b = append(b, "TZif2"...)
		b = append(b, make([]byte, 15)...)
		for _, n := range []int{0, 0, 0, timecnt, typecnt, charcnt} {
			b = binary.BigEndian.AppendUint32(b, uint32(n))
		}
	}
	header(0, 0, 0)
	header(len(trs), len(types), len(chars))
	for _, tr := range trs {
		b = binary.BigEndian.AppendUint64(b, uint64(tr.at))
	}
	b = append(b, idx...)
	for i, tt := range types {
		b = binary.BigEndian.AppendUint32(b, uint32(int32(tt.offset)))
		d := byte(0)
		if tt.dst {
			d = 1
		}
		b = append(b, d, byte(abbr[i]))
	}
	b = append(b, chars...)
	return append(b, '\n', '\n'), nil
}
