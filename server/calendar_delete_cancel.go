package server

import (
	"bytes"
	"net/http"
	"time"

	"github.com/pimvault/pimvault/calendar"
	"github.com/pimvault/pimvault/schedule"
	"github.com/pimvault/pimvault/server/internal/dav"
	"github.com/pimvault/pimvault/storage"
)

// maxCollectionCancels bounds the scheduling messages one calendar DELETE
// sends; a calendar whose organized events would need more is refused
// whole, so the request stays bounded and nobody is silently left out.
const maxCollectionCancels = 1000

// deleteCalendarScheduled deletes a calendar collection and cancels every
// event in it that the user organizes (RFC 6638 §3.2.1.3 for each object,
// as CalendarServer and sabre/dav do for a collection): attendees on this
// server get CANCEL delivered, attendees of other servers get it queued as
// iMIP mail in the same record as the deletion. It reports false when the
// collection needs no scheduling, for the ordinary delete to handle.
// Requests from a pimvault device are never scheduled.
func (s *Server) deleteCalendarScheduled(w http.ResponseWriter, r *http.Request, p dav.Path, c storage.Change) bool {
	if deviceOf(r) != "" || p.Home != dav.HomeCalendars || p.Kind != dav.ResCollection {
		return false
	}
	var dir *directory
	var ds []delivery
	type mailOf struct {
		from, uid string
		msgs      []schedule.Message
	}
	var mail []mailOf
	mailed := 0
	now := time.Now()
	tooMany := false
	err := s.store.Objects(p.User, p.Collection, true, func(o storage.Object) error {
		if tooMany || !bytes.Contains(o.Body, []byte("ORGANIZER")) || !bytes.Contains(o.Body, []byte("ATTENDEE")) {
			return nil
		}
		obj, err := calendar.Parse(o.Body, nil)
		if err != nil {
			return nil // not a calendar object this server can schedule from
		}
		info, err := schedule.Inspect(obj.Cal)
		if err != nil || !info.IsScheduling() {
			return nil
		}
		if dir == nil {
			if dir, err = s.loadDirectory(); err != nil {
				return err
			}
		}
		if !roleOf(dir, p.User, info).organizer {
			return nil
		}
		msgs, err := schedule.OrganizerMessages(obj.Cal, nil, func(a string) bool { return dir.owns(p.User, a) }, now)
		if err != nil {
			return nil // over the per-object bound: it was never scheduled either
		}
		out := mailOf{from: info.Organizer, uid: info.UID}
		for _, m := range msgs {
			if u, ok := dir.lookup(m.Recipient); ok {
				ds = append(ds, delivery{user: u, msg: m})
			} else if s.mailable(info.Organizer, m.Recipient, dir.undeliverable(m.Recipient)) {
				out.msgs = append(out.msgs, m)
			}
		}
		if len(out.msgs) > 0 {
			mail = append(mail, out)
			mailed += len(out.msgs)
		}
		tooMany = len(ds)+mailed > maxCollectionCancels
		return nil
	})
	if err != nil {
		s.writeError(w, r, err)
		return true
	}
	if tooMany {
		s.writeError(w, r, &dav.Error{Status: http.StatusForbidden,
			Msg: "this calendar holds events you organize whose cancellation would send more than 1000 messages; delete some of those events first (each DELETE sends its cancellations)"})
		return true
	}
	if len(ds) == 0 && len(mail) == 0 {
		return false
	}
	for _, m := range mail {
		s.queueMail(&c, m.from, mailRef{uid: m.uid}, m.msgs, now)
	}
	if _, err := s.store.Commit(r.Context(), c); err != nil {
		s.writeError(w, r, err)
		return true
	}
	s.mailQueued(c)
	s.deliverAll(r.Context(), ds)
	w.WriteHeader(http.StatusNoContent)
	return true
}
