package server

import (
	"errors"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pimvault/pimvault/server/internal/dav"
	"github.com/pimvault/pimvault/storage"
)

func (s *Server) get(w http.ResponseWriter, r *http.Request, p dav.Path) {
	switch p.Kind {
	case dav.ResObject:
		o, err := s.object(p)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		w.Header().Set("ETag", dav.QuoteETag(o.ETag))
		w.Header().Set("Last-Modified", dav.HTTPTime(o.Time))
		w.Header().Set("Content-Type", contentTypeFor(p.CollectionKind()))
		if p.Home == dav.HomeCalendars {
			if tag := s.scheduleTagOf(p); tag != "" {
				w.Header().Set("Schedule-Tag", tag)
			}
		}
		if inm := r.Header.Get("If-None-Match"); inm != "" && (inm == "*" || slices.Contains(dav.ParseETagList(inm), o.ETag)) {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		if notModifiedSince(r, o.Time) {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("Content-Length", strconv.Itoa(len(o.Body)))
		if r.Method == "HEAD" {
			return
		}
		w.Write(o.Body)
	case dav.ResCollection:
		c, err := s.collection(p)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		body, err := s.exportBody(p, c)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		ext := ".vcf"
		if c.Kind == dav.KindCalendar {
			ext = ".ics"
		}
		w.Header().Set("Content-Type", contentTypeFor(c.Kind))
		w.Header().Set("Content-Disposition", `attachment; filename="`+strings.ReplaceAll(c.Name, `"`, "")+ext+`"`)
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		if r.Method == "HEAD" {
			return
		}
		w.Write(body)
	default:
		page := collectionNote
		if p.Kind == dav.ResPrincipal {
			page = principalPage(p.User)
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("Content-Length", strconv.Itoa(len(page)))
		if r.Method != "HEAD" {
			io.WriteString(w, page)
		}
	}
}

func (s *Server) put(w http.ResponseWriter, r *http.Request, p dav.Path) {
	if p.Home == dav.HomeCalendars {
		s.putCalendarObject(w, r, p)
		return
	}
	s.putCard(w, r, p)
}

func (s *Server) delete(w http.ResponseWriter, r *http.Request, p dav.Path) {
	var c storage.Change
	switch p.Kind {
	case dav.ResObject:
		col, err := s.collection(p)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		if err := s.birthdayReadOnly(p, col); err != nil {
			s.writeError(w, r, err)
			return
		}
		// A device deletes only what it synced: an item this store lacks
		// is one it lost, and the deletion is recorded as a tombstone so
		// that a lagging device cannot bring the item back.
		c = storage.Change{Op: storage.OpDelete, Principal: p.User, Collection: p.Collection, Name: p.Object, TombstoneAbsent: deviceOf(r) != ""}
		dav.SetIfMatch(&c, r.Header.Get("If-Match"))
		c.Actor = actorOf(r, p)
		if s.deleteScheduled(w, r, p, c) {
			return
		}
	case dav.ResCollection:
		if col, err := s.collection(p); err != nil {
			s.writeError(w, r, err)
			return
		} else if isScheduleKind(col.Kind) {
			s.writeError(w, r, &dav.Error{Status: http.StatusForbidden, Msg: "the scheduling inbox and outbox cannot be deleted"})
			return
		}
		if r.Header.Get("If-Match") != "" {
			s.writeError(w, r, &dav.Error{Status: http.StatusPreconditionFailed, Msg: "If-Match on a collection is not supported"})
			return
		}
		c = storage.Change{Op: storage.OpDeleteCollection, Principal: p.User, Collection: p.Collection}
		if s.deleteCalendarScheduled(w, r, p, c) {
			return
		}
	default:
		s.writeError(w, r, &dav.Error{Status: http.StatusForbidden, Msg: "this resource cannot be deleted"})
		return
	}
	var cardUID string
	if p.Home == dav.HomeCards && p.Kind == dav.ResObject {
		if o, err := s.store.Get(p.User, p.Collection, p.Object); err == nil {
			cardUID = o.Meta.UID
		}
	}
	if _, err := s.store.Commit(r.Context(), c); err != nil {
		s.writeError(w, r, err)
		return
	}
	if cardUID != "" {
		s.syncBirthdays(r, p.User, p.Collection, cardUID, nil)
	}
	w.WriteHeader(http.StatusNoContent)
}

// moveCopy handles MOVE and COPY of objects (RFC 4918 §9.8, §9.9) within the
// signed-in user's collections of the same kind.
func (s *Server) moveCopy(w http.ResponseWriter, r *http.Request, p dav.Path) {
	if p.Kind != dav.ResObject {
		s.writeError(w, r, &dav.Error{Status: http.StatusForbidden, Msg: r.Method + " of collections is not supported"})
		return
	}
	dest, err := dav.ParseDestination(r)
	if de := (*dav.Error)(nil); errors.As(err, &de) && de.Status != http.StatusNotFound {
		s.writeError(w, r, err)
		return
	}
	if err != nil || dest.Kind != dav.ResObject || dest.User != p.User || dest.Home != p.Home {
		s.writeError(w, r, &dav.Error{Status: http.StatusBadGateway, Msg: "Destination must be an object in one of your collections of the same kind"})
		return
	}
	if _, err := s.collection(p); err != nil {
		s.writeError(w, r, err)
		return
	}
	if _, err := s.collection(dest); err != nil {
		s.writeError(w, r, &dav.Error{Status: http.StatusConflict, Msg: "the destination collection does not exist"})
		return
	}
	if p.Home == dav.HomeCalendars {
		if err := s.checkCalendarTarget(p, dest); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	overwrite := !strings.EqualFold(strings.TrimSpace(r.Header.Get("Overwrite")), "F")
	var res storage.Result
	if r.Method == "MOVE" {
		c := storage.Change{Op: storage.OpMove, Principal: p.User,
			Collection: p.Collection, Name: p.Object, ToCollection: dest.Collection, ToName: dest.Object,
			Overwrite: overwrite}
		dav.SetIfMatch(&c, r.Header.Get("If-Match"))
		res, err = s.store.Commit(r.Context(), c)
	} else {
		var o storage.Object
		if o, err = s.store.Get(p.User, p.Collection, p.Object); err == nil {
			c := storage.Change{Op: storage.OpPut, Principal: p.User, Collection: dest.Collection, Name: dest.Object,
				Body: o.Body, Meta: o.Meta, IfNoneMatch: !overwrite, KeepUID: true, Touch: deviceOf(r) == ""}
			res, err = s.store.Commit(r.Context(), c)
		}
	}
	if errors.Is(err, storage.ErrInvalidChange) {
		err = &dav.Error{Status: http.StatusForbidden, Msg: "source and destination are the same"}
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if p.Home == dav.HomeCards {
		if o, err := s.store.Get(dest.User, dest.Collection, dest.Object); err == nil {
			if r.Method == "MOVE" {
				s.syncBirthdays(r, p.User, p.Collection, o.Meta.UID, nil)
			}
			s.syncBirthdays(r, dest.User, dest.Collection, o.Meta.UID, o.Body)
		}
	}
	if res.Created {
		w.WriteHeader(http.StatusCreated)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// notModifiedSince applies If-Modified-Since to a GET or HEAD of an object
// last changed at ns (RFC 9110 §13.1.3): ignored when If-None-Match is
// present or the date does not parse; true when the object has not changed
// since (at the header's one-second resolution).
func notModifiedSince(r *http.Request, ns int64) bool {
	ims := r.Header.Get("If-Modified-Since")
	if ims == "" || r.Header.Get("If-None-Match") != "" {
		return false
	}
	t, err := http.ParseTime(ims)
	if err != nil {
		return false
	}
	return time.Unix(0, ns).Truncate(time.Second).Compare(t) <= 0
}
