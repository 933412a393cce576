package calendar

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	_ "time/tzdata" // IANA rules even on hosts without /usr/share/zoneinfo

	"github.com/emersion/go-ical"
)

// zones resolves the TZIDs of one calendar object.
type zones struct {
	floating *time.Location
	defs     map[string]*time.Location // by TZID, from the object's VTIMEZONEs
}

// newZones resolves every VTIMEZONE of cal: an IANA TZID (also behind a vendor prefix
// such as /mozilla.org/20070129_1/Europe/Berlin) uses Go's rules, any other is compiled
// from its observances. A VTIMEZONE that is neither is an error.
func newZones(cal *ical.Calendar, floating *time.Location) (*zones, error) {
	if floating == nil {
		floating = time.UTC
	}
	z := &zones{floating: floating}
	for _, c := range cal.Children {
		if c.Name != ical.CompTimezone {
			continue
		}
		p := c.Props.Get(ical.PropTimezoneID)
		if p == nil || p.Value == "" {
			return nil, fmt.Errorf("%w: VTIMEZONE without TZID", ErrInvalidData)
		}
		if z.defs == nil {
			z.defs = make(map[string]*time.Location)
		}
		if _, dup := z.defs[p.Value]; dup {
			return nil, fmt.Errorf("%w: VTIMEZONE %q defined twice", ErrInvalidData, p.Value)
		}
		if loc := ianaZone(p.Value); loc != nil {
			z.defs[p.Value] = loc
			continue
		}
		loc, err := compileVTimezone(c, p.Value)
		if err != nil {
			return nil, fmt.Errorf("%w: VTIMEZONE %q: %v", ErrInvalidData, p.Value, err)
		}
		z.defs[p.Value] = loc
	}
	return z, nil
}

// lookup returns the zone a TZID names: the object's VTIMEZONE, else an IANA zone.
func (z *zones) lookup(tzid string) (*time.Location, error) {
	if loc, ok := z.defs[tzid]; ok {
		return loc, nil
	}
	if loc := ianaZone(tzid); loc != nil {
		return loc, nil
	}
	return nil, fmt.Errorf("unknown time zone TZID=%q (no VTIMEZONE and not an IANA name)", tzid)
}

// propLoc is the location for a property's local times: its TZID's zone, or floating.
func (z *zones) propLoc(p *ical.Prop) (*time.Location, error) {
	tzid := p.Params.Get(ical.PropTimezoneID)
	if tzid == "" {
		if _, ok := p.Params[ical.PropTimezoneID]; ok {
			return nil, fmt.Errorf("%s: empty TZID", p.Name)
		}
		return z.floating, nil
	}
	loc, err := z.lookup(tzid)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p.Name, err)
	}
	return loc, nil
}

var (
	ianaCache  sync.Map // string → *time.Location (only names that load)
	ianaMiss   sync.Map // string → struct{}: names that do not load (bounded)
	ianaMisses atomic.Int64
)

const maxIANAMisses = 4096

// ianaZone returns Go's zone for an IANA name, trying the suffixes of a vendor-prefixed
// TZID ("/mozilla.org/20070129_1/Europe/Berlin"). "Local" and "" are not IANA names here.
func ianaZone(tzid string) *time.Location {
	if v, ok := ianaCache.Load(tzid); ok {
		return v.(*time.Location)
	}
	if len(tzid) > 200 {
		return nil
	}
	if _, ok := ianaMiss.Load(tzid); ok {
		return nil
	}
	name := tzid
	for {
		name = strings.TrimPrefix(name, "/")
		if name != "" && name != "Local" && !strings.Contains(name, "..") {
			if loc, err := time.LoadLocation(name); err == nil {
				ianaCache.Store(tzid, loc)
				return loc
			}
		}
		i := strings.IndexByte(name, '/')
		if i < 0 {
			if ianaMisses.Add(1) <= maxIANAMisses {
				ianaMiss.Store(tzid, struct{}{})
			}
			return nil
		}
		name = name[i:]
	}
}
