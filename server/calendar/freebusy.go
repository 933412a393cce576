package calendar

import (
	"fmt"
	"strings"
	"time"

	"github.com/emersion/go-ical"
)

// period is a busy interval [start, end) in UTC with its FBTYPE.
type period struct {
	start, end time.Time
	fbtype     string
}

// freeBusyPeriods parses a FREEBUSY property (RFC 5545 §3.8.2.6): UTC periods.
func (z *zones) freeBusyPeriods(p *ical.Prop) ([]period, error) {
	fbtype := strings.ToUpper(p.Params.Get("FBTYPE"))
	if fbtype == "" {
		fbtype = "BUSY"
	}
	var out []period
	for _, s := range strings.Split(p.Value, ",") {
		start, d, err := z.parsePeriod(strings.TrimSpace(s), time.UTC)
		if err != nil {
			return nil, fmt.Errorf("FREEBUSY: %v", err)
		}
		out = append(out, period{start: start.t.UTC(), end: d.add(start.t).UTC(), fbtype: fbtype})
	}
	return out, nil
}
