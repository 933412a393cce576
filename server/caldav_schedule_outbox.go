package server

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-ical"

	"github.com/pimvault/pimvault/calendar"
	"github.com/pimvault/pimvault/schedule"
	"github.com/pimvault/pimvault/server/internal/dav"
	"github.com/pimvault/pimvault/storage"
)

// post answers POST: a free-busy request to the scheduling outbox, or a
// sharing request to one of the user's address books or calendars.
func (s *Server) post(w http.ResponseWriter, r *http.Request, p dav.Path) {
	if p.Kind == dav.ResCollection && p.Home == dav.HomeCalendars && p.Collection == outboxName {
		s.outboxPost(w, r, p)
		return
	}
	if p.Kind == dav.ResCollection {
		if c, err := s.collection(p); err == nil && (c.Kind == dav.KindCalendar || c.Kind == dav.KindAddressBook) {
			s.sharePost(w, r, p)
			return
		}
	}
	w.Header().Set("Allow", "OPTIONS, GET, HEAD, PUT, DELETE, PROPFIND, PROPPATCH, REPORT")
	s.writeError(w, r, &dav.Error{Status: http.StatusMethodNotAllowed, Msg: "POST is served on the scheduling outbox and, to share them, on address books and calendars"})
}

// outboxPost answers a free-busy request POSTed to the outbox (RFC 6638
// §5): a VFREEBUSY with METHOD:REQUEST whose ORGANIZER is the user, and
// one answer per ATTENDEE with the busy time of that account's calendars
// (calendar.FreeBusy, with its work budget). Invitations are not POSTed:
// they are sent by the PUT of the event (implicit scheduling).
func (s *Server) outboxPost(w http.ResponseWriter, r *http.Request, p dav.Path) {
	tooBig := dav.Forbidden(dav.NSCalDAV, "max-resource-size", "body over %d bytes", s.cfg.MaxResourceSize)
	body, err := s.readPutBody(r, tooBig, checkCalendarContentType)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	cal, err := calendar.ParseMessage(body)
	if err != nil {
		s.writeError(w, r, dav.Forbidden(dav.NSCalDAV, "valid-calendar-data", "%v", err))
		return
	}
	var fb *ical.Component
	for _, c := range cal.Children {
		if c.Name == ical.CompFreeBusy {
			fb = c
		}
	}
	if fb == nil || !strings.EqualFold(cal.Props.Get(ical.PropMethod).Value, schedule.MethodRequest) {
		s.writeError(w, r, dav.Forbidden(dav.NSCalDAV, "valid-scheduling-message", "only free-busy requests (VFREEBUSY, METHOD:REQUEST) are POSTed; invitations are sent by the PUT of the event"))
		return
	}
	dir, err := s.loadDirectory()
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	org := fb.Props.Get(ical.PropOrganizer)
	if org == nil || !dir.owns(p.User, org.Value) {
		s.writeError(w, r, dav.Forbidden(dav.NSCalDAV, "organizer-allowed", "the ORGANIZER must be one of your calendar user addresses"))
		return
	}
	attendees := fb.Props[ical.PropAttendee]
	if len(attendees) == 0 || len(attendees) > schedule.MaxAttendees {
		s.writeError(w, r, dav.Forbidden(dav.NSCalDAV, "max-attendees-per-instance", "a free-busy request names 1 to %d attendees, not %d", schedule.MaxAttendees, len(attendees)))
		return
	}
	tr, err := freeBusyRange(fb)
	if err != nil {
		s.writeError(w, r, dav.Forbidden(dav.NSCalDAV, "valid-scheduling-message", "%v", err))
		return
	}
	var out strings.Builder
	out.WriteString(`<?xml version="1.0" encoding="utf-8"?>` + "\n" + `<CAL:schedule-response xmlns:D="DAV:" xmlns:CAL="urn:ietf:params:xml:ns:caldav">`)
	for i := range attendees {
		a := &attendees[i]
		out.WriteString("<CAL:response><CAL:recipient>" + dav.HrefXML(a.Value) + "</CAL:recipient>")
		user, ok := dir.lookup(a.Value)
		if !ok {
			out.WriteString("<CAL:request-status>3.7;Invalid calendar user</CAL:request-status></CAL:response>")
			continue
		}
		data, err := s.busyOf(r.Context(), user, tr, fb, org, a)
		if err != nil {
			if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
				s.writeError(w, r, err)
				return
			}
			s.log.Warn("free-busy failed", "user", user, "err", err)
			out.WriteString("<CAL:request-status>5.1;Could not compute free-busy</CAL:request-status></CAL:response>")
			continue
		}
		out.WriteString("<CAL:request-status>2.0;Success</CAL:request-status><CAL:calendar-data>" + dav.XMLEscape(data) + "</CAL:calendar-data></CAL:response>")
	}
	out.WriteString("</CAL:schedule-response>\n")
	w.Header().Set("Content-Type", "application/xml; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(out.Len()))
	w.WriteHeader(http.StatusOK)
	w.Write([]byte(out.String()))
}

// freeBusyRange is a VFREEBUSY request's DTSTART and DTEND.
func freeBusyRange(fb *ical.Component) (calendar.TimeRange, error) {
	var tr calendar.TimeRange
	start, end := fb.Props.Get(ical.PropDateTimeStart), fb.Props.Get(ical.PropDateTimeEnd)
	if start == nil || end == nil {
		return tr, errors.New("a free-busy request needs DTSTART and DTEND")
	}
	var err1, err2 error
	tr.Start, err1 = start.DateTime(time.UTC)
	tr.End, err2 = end.DateTime(time.UTC)
	if err1 != nil || err2 != nil || !tr.Start.Before(tr.End) {
		return tr, errors.New("DTSTART and DTEND must be date-times with DTSTART before DTEND")
	}
	return tr, nil
}

// busyOf is the VFREEBUSY REPLY (RFC 5546 §3.3.2) for user's calendars that
// count for free-busy (not schedule-calendar-transp transparent).
func (s *Server) busyOf(ctx context.Context, user string, tr calendar.TimeRange, req *ical.Component, org, att *ical.Prop) (string, error) {
	cols, err := s.store.Collections(user)
	if err != nil {
		return "", err
	}
	var cals []*ical.Calendar
	start, end := unixBounds(tr, floatingSlack)
	for _, c := range cols {
		if c.Kind != dav.KindCalendar || strings.Contains(string(c.Props[dav.Clark(nameScheduleTransp)]), "transparent") {
			continue
		}
		objs, err := s.store.OverlappingObjects(user, c.Name, start, end, true)
		if err != nil {
			return "", err
		}
		err = eachOf(ctx, objs, func(o storage.Object) error {
			if o.Meta.Component != "VEVENT" && o.Meta.Component != "VFREEBUSY" {
				return nil
			}
			if cal, err := ical.NewDecoder(bytes.NewReader(o.Body)).Decode(); err == nil {
				cals = append(cals, cal)
			}
			return nil
		})
		if err != nil {
			return "", err
		}
	}
	fb, err := calendar.FreeBusyContext(ctx, cals, tr, nil)
	if err != nil {
		return "", err
	}
	fb.Props.SetText(ical.PropMethod, schedule.MethodReply)
	for _, c := range fb.Children {
		if c.Name != ical.CompFreeBusy {
			continue
		}
		c.Props.Set(org)
		c.Props.Set(att)
		if uid := req.Props.Get(ical.PropUID); uid != nil {
			c.Props.Set(uid)
		}
		c.Props.SetDateTime(ical.PropDateTimeStamp, time.Now().UTC())
	}
	return encodeICal(fb), nil
}
