package server

import (
	"encoding/xml"
	"errors"
	"github.com/pimvault/pimvault/calendar"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-ical"

	"github.com/pimvault/pimvault/schedule"
	"github.com/pimvault/pimvault/server/internal/dav"
	"github.com/pimvault/pimvault/storage"
)

const defaultCalendar = "calendar"

// calendarComponents are the components a calendar holds unless it was
// created for fewer (RFC 4791 §5.2.3); creatableComponents are those a
// MKCALENDAR may name (VFREEBUSY only when asked for, as in RFC 4791 B).
var (
	calendarComponents  = []string{"VEVENT", "VTODO", "VJOURNAL"}
	creatableComponents = []string{"VEVENT", "VTODO", "VJOURNAL", "VFREEBUSY"}
)

// The date range a calendar accepts (RFC 4791 §5.2.6, §5.2.7).
var (
	calendarMinDate = calendar.MinDate
	calendarMaxDate = calendar.MaxDate
)

func init() {
	for _, n := range []xml.Name{nameSupportedCompSet, nameSupportedCalData, nameCalMaxResourceSize,
		nameMinDateTime, nameMaxDateTime, nameSupportedCollation, nameCalendarData} {
		dav.ProtectedProps[n] = true
	}
	dav.NotInAllprop[nameCalendarData] = true
}

// compSetXML is the canonical stored value of supported-calendar-component-set.
func compSetXML(comps []string) string {
	var b strings.Builder
	for _, c := range comps {
		b.WriteString(`<comp xmlns="` + dav.NSCalDAV + `" name="` + c + `"></comp>`)
	}
	return b.String()
}

// parseCompSet reads the component names of a supported-calendar-component-set
// value (inner XML); every name must be one a calendar may hold.
func parseCompSet(inner string) ([]string, error) {
	var v struct {
		Comps []struct {
			Name string `xml:"name,attr"`
		} `xml:"urn:ietf:params:xml:ns:caldav comp"`
	}
	if err := xml.Unmarshal([]byte("<x>"+inner+"</x>"), &v); err != nil {
		return nil, err
	}
	var out []string
	for _, c := range v.Comps {
		name := strings.ToUpper(c.Name)
		ok := false
		for _, k := range creatableComponents {
			ok = ok || k == name
		}
		if !ok {
			return nil, errors.New("component " + c.Name + " is not supported (VEVENT, VTODO, VJOURNAL, VFREEBUSY are)")
		}
		out = append(out, name)
	}
	if len(out) == 0 {
		return nil, errors.New("no component named")
	}
	return out, nil
}

// supportedComponents returns the components collection c accepts.
func supportedComponents(c storage.Collection) []string {
	if v, ok := c.Props[dav.Clark(nameSupportedCompSet)]; ok {
		if comps, err := parseCompSet(string(v)); err == nil {
			return comps
		}
	}
	return calendarComponents
}

// textOf returns the character data of a stored property value.
func textOf(inner string) (string, error) {
	var v struct {
		Text string `xml:",chardata"`
	}
	err := xml.Unmarshal([]byte("<x>"+inner+"</x>"), &v)
	return v.Text, err
}

// checkCalendarTimezone validates a calendar-timezone value: iCalendar text
// holding a VCALENDAR with exactly one VTIMEZONE (RFC 4791 §5.2.2). It
// returns the location floating times of the calendar are read in.
func checkCalendarTimezone(text string) (*time.Location, error) {
	cal, err := ical.NewDecoder(strings.NewReader(text)).Decode()
	if err != nil {
		return nil, dav.Forbidden(dav.NSCalDAV, "valid-calendar-data", "calendar-timezone does not parse: %v", err)
	}
	var tzs []*ical.Component
	for _, c := range cal.Children {
		switch c.Name {
		case ical.CompTimezone:
			tzs = append(tzs, c)
		default:
			return nil, dav.Forbidden(dav.NSCalDAV, "valid-calendar-data", "calendar-timezone holds a %s; only one VTIMEZONE is allowed", c.Name)
		}
	}
	if len(tzs) != 1 {
		return nil, dav.Forbidden(dav.NSCalDAV, "valid-calendar-data", "calendar-timezone must hold exactly one VTIMEZONE, not %d", len(tzs))
	}
	tzid := tzs[0].Props.Get(ical.PropTimezoneID)
	if tzid == nil || tzid.Value == "" {
		return nil, dav.Forbidden(dav.NSCalDAV, "valid-calendar-data", "the VTIMEZONE of calendar-timezone has no TZID")
	}
	if loc, err := time.LoadLocation(tzid.Value); err == nil {
		return loc, nil
	}
	return time.UTC, nil // a custom zone: floating times are read as UTC
}

// floatingLocation is where floating times of collection c are read: its
// calendar-timezone, or UTC.
func floatingLocation(c storage.Collection) *time.Location {
	if v, ok := c.Props[dav.Clark(nameCalendarTimezone)]; ok {
		if text, err := textOf(string(v)); err == nil {
			if loc, err := checkCalendarTimezone(text); err == nil {
				return loc
			}
		}
	}
	return time.UTC
}

// checkCalendarProp validates a settable calendar property's new value
// (PROPPATCH, MKCALENDAR, extended MKCOL).
func checkCalendarProp(u dav.PropUpdate) error {
	if u.Remove {
		return nil
	}
	switch u.Name {
	case nameCalendarTimezone:
		text, err := textOf(u.Inner)
		if err != nil {
			return dav.Forbidden(dav.NSCalDAV, "valid-calendar-data", "calendar-timezone: %v", err)
		}
		_, err = checkCalendarTimezone(text)
		return err
	case nameScheduleTransp:
		if u.Inner != `<opaque xmlns="`+dav.NSCalDAV+`"></opaque>` && u.Inner != `<transparent xmlns="`+dav.NSCalDAV+`"></transparent>` {
			return dav.Forbidden(dav.NSDAV, "valid-property-value", "schedule-calendar-transp must hold opaque or transparent")
		}
	case dav.NameCalendarOrder:
		if _, err := strconv.Atoi(strings.TrimSpace(u.Inner)); err != nil {
			return dav.Forbidden(dav.NSDAV, "valid-property-value", "calendar-order must be an integer")
		}
	}
	return nil
}

// calendarProps adds the properties a calendar has beyond those of every
// collection.
func (s *Server) calendarProps(ps *dav.PropSet, c storage.Collection) {
	ps.Add(dav.NameResourceType, "<D:collection/><CAL:calendar/>")
	ps.Add(dav.NameSupportedReports, dav.ReportSetXML(reportCalMultiget, reportCalQuery, reportFreeBusy, dav.ReportSyncCollection))
	ps.Add(nameSupportedCompSet, compSetXML(supportedComponents(c)))
	ps.Add(nameSupportedCalData, `<CAL:calendar-data content-type="text/calendar" version="2.0"/>`)
	ps.Add(nameCalMaxResourceSize, strconv.FormatInt(s.cfg.MaxResourceSize, 10))
	ps.Add(nameMinDateTime, calendarMinDate.Format(icalUTC))
	ps.Add(nameMaxDateTime, calendarMaxDate.Format(icalUTC))
	ps.Add(nameSupportedCollation, collationSetXML("CAL"))
	ps.Add(nameScheduleTransp, "<CAL:opaque/>") // a stored value replaces it
	ps.Add(nameMaxAttendees, strconv.Itoa(schedule.MaxAttendees))
}

const icalUTC = "20060102T150405Z"

// mkcalendar creates a calendar (RFC 4791 §5.3.1 MKCALENDAR, or RFC 5689
// extended MKCOL with a calendar resourcetype) with its initial properties.
func (s *Server) mkcalendar(w http.ResponseWriter, r *http.Request, p dav.Path) {
	if p.Kind != dav.ResCollection || p.Home != dav.HomeCalendars {
		s.writeError(w, r, dav.Forbidden(dav.NSDAV, "resource-must-be-null", "calendars can only be created in your calendar home"))
		return
	}
	// RFC 4791 §5.3.1.1: an existing resource is reported before anything in the
	// body; the store checks again inside the write (ErrExists below).
	mustBeNull := dav.Forbidden(dav.NSDAV, "resource-must-be-null", "%s already exists", p.Href())
	if _, err := s.collection(p); err == nil {
		s.writeError(w, r, mustBeNull)
		return
	}
	body, err := dav.ReadXMLBody(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	root := xml.Name{Space: dav.NSCalDAV, Local: "mkcalendar"}
	if r.Method == "MKCOL" {
		root = xml.Name{Space: dav.NSDAV, Local: "mkcol"}
		if body == nil {
			s.writeError(w, r, dav.Forbidden(dav.NSDAV, "valid-resourcetype", "only calendars can be created here; use MKCALENDAR or an extended MKCOL"))
			return
		}
	}
	var ups []dav.PropUpdate
	if body != nil {
		if ups, err = dav.ParsePropUpdates(body, root); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	if r.Method == "MKCALENDAR" && refusesProtected(ups) {
		s.refuseMkcalendarProps(w, r, p, ups)
		return
	}
	var props []dav.PropUpdate
	sawType := false
	for _, u := range ups {
		switch {
		case u.Name == dav.NameResourceType:
			if !strings.Contains(u.Inner, `<calendar xmlns="`+dav.NSCalDAV+`">`) {
				s.writeError(w, r, dav.Forbidden(dav.NSDAV, "valid-resourcetype", "only calendars can be created here"))
				return
			}
			sawType = true
			continue
		case u.Name == nameSupportedCompSet && !u.Remove:
			comps, err := parseCompSet(u.Inner)
			if err != nil {
				s.writeError(w, r, dav.Forbidden(dav.NSCalDAV, "supported-calendar-component", "supported-calendar-component-set: %v", err))
				return
			}
			props = append(props, dav.PropUpdate{Name: u.Name, Inner: compSetXML(comps)})
			continue
		case u.Remove || dav.ProtectedProps[u.Name]:
			s.writeError(w, r, dav.Forbidden(dav.NSDAV, "cannot-modify-protected-property", "%s cannot be set", dav.Clark(u.Name)))
			return
		}
		if err := checkCalendarProp(u); err != nil {
			s.writeError(w, r, err)
			return
		}
		props = append(props, u)
	}
	if r.Method == "MKCOL" && !sawType {
		s.writeError(w, r, dav.Forbidden(dav.NSDAV, "valid-resourcetype", "only calendars can be created here"))
		return
	}
	set, _ := dav.ToChange(props)
	_, err = s.store.Commit(r.Context(), storage.Change{Op: storage.OpCreateCollection, Principal: p.User,
		Collection: p.Collection, Kind: dav.KindCalendar, Props: set, SeenToken: seenToken(r)})
	if errors.Is(err, storage.ErrExists) {
		err = mustBeNull
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	w.Header().Set("Location", p.Href())
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusCreated)
}

// refusesProtected says whether a MKCALENDAR body sets a protected property.
func refusesProtected(ups []dav.PropUpdate) bool {
	for _, u := range ups {
		if protectedAtCreation(u) {
			return true
		}
	}
	return false
}

// protectedAtCreation: a protected property, other than the two a new
// calendar takes (its resourcetype and component set), or a removal.
func protectedAtCreation(u dav.PropUpdate) bool {
	return u.Name != dav.NameResourceType && u.Name != nameSupportedCompSet && (u.Remove || dav.ProtectedProps[u.Name])
}

// refuseMkcalendarProps answers a MKCALENDAR that sets a protected property:
// nothing is created, and a 207 says which properties could not be set (403
// cannot-modify-protected-property) and that the others failed with them
// (424), as RFC 4791 §5.3.1.1 describes.
func (s *Server) refuseMkcalendarProps(w http.ResponseWriter, r *http.Request, p dav.Path, ups []dav.PropUpdate) {
	names := dav.UpdateNames(ups)
	bad := map[xml.Name]bool{}
	for _, u := range ups {
		if protectedAtCreation(u) {
			bad[u.Name] = true
		}
	}
	byStatus := map[int][]xml.Name{}
	for _, n := range names {
		if bad[n] {
			byStatus[http.StatusForbidden] = append(byStatus[http.StatusForbidden], n)
		} else {
			byStatus[http.StatusFailedDependency] = append(byStatus[http.StatusFailedDependency], n)
		}
	}
	ms := dav.NewMultistatus(r.Context(), w, names)
	ms.PropStatusResponse(p.Href(), byStatus, map[int]xml.Name{http.StatusForbidden: {Space: dav.NSDAV, Local: "cannot-modify-protected-property"}})
	ms.Finish(s.log, r)
}
