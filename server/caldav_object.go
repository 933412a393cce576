package server

import (
	"mime"
	"net/http"
	"strings"

	"github.com/pimvault/pimvault/calendar"
	"github.com/pimvault/pimvault/server/internal/dav"
	"github.com/pimvault/pimvault/storage"
)

// spanOf is the time-index entry of a parsed object, in Unix seconds. An
// object with no time at all (RFC 4791 §9.9: a VTODO without dates matches
// every time range) covers all time, so the index returns it for every range.
func spanOf(o *calendar.Object) *storage.Span {
	start, end := o.SpanUnix()
	return &storage.Span{Start: start, End: end}
}

// putCalendarObject stores an iCalendar object resource (RFC 4791 §5.3.2):
// the body is validated by calendar.Parse and stored exactly as sent (or, when
// it lacked VERSION or PRODID, as calendar.Parse completed it, answered without
// an ETag), with its UID, component and time span for the store's indexes.
func (s *Server) putCalendarObject(w http.ResponseWriter, r *http.Request, p dav.Path) {
	if p.Kind != dav.ResObject {
		s.writeError(w, r, &dav.Error{Status: http.StatusMethodNotAllowed, Msg: "PUT is only allowed on objects inside a calendar"})
		return
	}
	col, err := s.collection(p)
	if err != nil {
		s.writeError(w, r, &dav.Error{Status: http.StatusConflict, Msg: "the calendar does not exist"})
		return
	}
	if col.Kind != dav.KindCalendar {
		s.writeError(w, r, &dav.Error{Status: http.StatusForbidden, Msg: "the scheduling inbox and outbox are written by the server only"})
		return
	}
	if err := s.birthdayReadOnly(p, col); err != nil {
		s.writeError(w, r, err)
		return
	}
	tooBig := dav.Forbidden(dav.NSCalDAV, "max-resource-size", "body over %d bytes", s.cfg.MaxResourceSize)
	body, err := s.readPutBody(r, tooBig, checkCalendarContentType)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	obj, err := calendar.Parse(body, floatingLocation(col))
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	supported := false
	for _, c := range supportedComponents(col) {
		supported = supported || c == obj.Component
	}
	if !supported {
		s.writeError(w, r, dav.Forbidden(dav.NSCalDAV, "supported-calendar-component", "this calendar does not hold %s components", obj.Component))
		return
	}
	if err := obj.CheckDates(); err != nil {
		s.writeError(w, r, err)
		return
	}
	asSent := obj.Body == nil
	if !asSent {
		s.log.Info("calendar object completed before storing", "user", p.User, "collection", p.Collection, "object", p.Object, "fixed", strings.Join(obj.Fixed, "; "))
		body = obj.Body
	}
	c := storage.Change{Op: storage.OpPut, Principal: p.User, Collection: p.Collection, Name: p.Object,
		Body: body, Meta: storage.ObjectMeta{UID: obj.UID, Component: obj.Component, Span: spanOf(obj)}, KeepUID: true,
		// A stock client's identical re-put is still a change (its token and
		// CTag move); a pimvault device's replay of one writes nothing.
		Touch: deviceOf(r) == ""}
	if !asSent {
		w = noETag{w}
	}
	s.putScheduled(w, r, p, c, obj)
}

// checkCalendarTarget refuses a MOVE or COPY of src into a calendar that
// does not hold src's component type (RFC 4791 §5.3.2.1).
func (s *Server) checkCalendarTarget(src, dest dav.Path) error {
	o, err := s.store.Get(src.User, src.Collection, src.Object)
	if err != nil {
		return err
	}
	col, err := s.collection(dest)
	if err != nil {
		return err
	}
	if from, err := s.collection(src); err != nil || from.Kind != dav.KindCalendar || col.Kind != dav.KindCalendar {
		return &dav.Error{Status: http.StatusForbidden, Msg: "scheduling messages stay in the inbox; move or copy objects between calendars"}
	} else if err := s.birthdayReadOnly(src, from); err != nil {
		return err
	} else if err := s.birthdayReadOnly(dest, col); err != nil {
		return err
	}
	for _, c := range supportedComponents(col) {
		if c == o.Meta.Component {
			return nil
		}
	}
	return dav.Forbidden(dav.NSCalDAV, "supported-calendar-component", "the destination calendar does not hold %s components", o.Meta.Component)
}

// checkCalendarContentType accepts text/calendar or no type.
func checkCalendarContentType(r *http.Request) error {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return nil
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return dav.Forbidden(dav.NSCalDAV, "supported-calendar-data", "bad Content-Type %q", ct)
	}
	if mt != "text/calendar" {
		return dav.Forbidden(dav.NSCalDAV, "supported-calendar-data", "Content-Type %s is not text/calendar", mt)
	}
	return nil
}
