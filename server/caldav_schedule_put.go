package server

import (
	"bytes"
	"context"
	"errors"
	"maps"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-ical"

	"github.com/pimvault/pimvault/calendar"
	"github.com/pimvault/pimvault/schedule"
	"github.com/pimvault/pimvault/server/internal/dav"
	"github.com/pimvault/pimvault/storage"
)

// deliveryWorkers bounds the deliveries of one change that run at once (so
// their writes share the committer's batches).
const deliveryWorkers = 4

// scheduleRole is what the signed-in user is to a scheduling object.
type scheduleRole struct {
	organizer bool   // the ORGANIZER is one of the user's addresses
	attendee  string // else: the user's address among the ATTENDEEs, or ""
}

func roleOf(d *directory, user string, info schedule.Info) scheduleRole {
	if info.Organizer == "" {
		return scheduleRole{}
	}
	if d.owns(user, info.Organizer) {
		return scheduleRole{organizer: true}
	}
	for _, a := range info.Attendees {
		if d.owns(user, a) {
			return scheduleRole{attendee: a}
		}
	}
	return scheduleRole{}
}

// checkRoleChange refuses a PUT that would drop the user's own part in a
// scheduling object while keeping the meeting: an organizer's version with
// attendees but no ORGANIZER (who would the attendees answer?), or an
// attendee's copy that keeps the organizer but no longer lists the
// attendee (RFC 6638 §3.2.2.1: an attendee changes their own participation,
// not the attendee list). Removing the attendees too, or deleting the
// object, is how either leaves the meeting.
func checkRoleChange(d *directory, user string, old, cur schedule.Info) error {
	was := roleOf(d, user, old)
	switch {
	case was.organizer && cur.Organizer == "" && len(cur.Attendees) > 0:
		return dav.Forbidden(dav.NSCalDAV, "organizer-allowed",
			"a meeting with attendees keeps its ORGANIZER; remove the attendees as well, or delete the event, to cancel it")
	case was.attendee != "" && cur.Organizer != "" && schedule.Address(cur.Organizer) == schedule.Address(old.Organizer) &&
		roleOf(d, user, cur).attendee == "":
		return dav.Forbidden(dav.NSCalDAV, "valid-attendee-change",
			"your copy of a meeting keeps your own ATTENDEE property; delete the copy to decline the meeting")
	}
	return nil
}

// checkInvited refuses an attendee's new copy of a meeting whose organizer
// is an account of this server that holds no such meeting inviting the
// attendee: the server delivers every copy of such a meeting itself, so
// this copy answers nothing and its REPLY would reach an organizer who
// never asked. A copy of a meeting organized elsewhere (an iMIP
// invitation) is the attendee's own business and stored.
func (s *Server) checkInvited(d *directory, user, attendee string, info schedule.Info) error {
	org, ok := d.lookup(info.Organizer)
	if !ok || org == user {
		return nil
	}
	_, o, found, err := s.findCopy(org, info.UID)
	if err != nil {
		return err
	}
	if found {
		if cal := storedCal(o, true); cal != nil {
			if oi, err := schedule.Inspect(cal); err == nil && d.owns(org, oi.Organizer) && slices.ContainsFunc(oi.Attendees, func(a string) bool { return d.owns(user, a) }) {
				return nil
			}
		}
	}
	return dav.Forbidden(dav.NSCalDAV, "attendee-allowed",
		"%s organizes no meeting %s that invites %s on this server; the organizer's invitation creates your copy", info.Organizer, info.UID, attendee)
}

// storedCal parses a stored calendar object; nil when it does not parse.
func storedCal(o storage.Object, exists bool) *ical.Calendar {
	if !exists {
		return nil
	}
	obj, err := calendar.Parse(o.Body, nil)
	if err != nil {
		return nil
	}
	return obj.Cal
}

// pin adds to c the state the scheduling decision was made from (the ETag
// read, or absence), so that a concurrent change makes this write fail with
// 412 inside the store instead of being scheduled from a stale comparison.
// The client's own conditions still hold: one that the state read already
// fails is a 412 now.
func pin(c *storage.Change, exists bool, etag string) error {
	failed := &dav.Error{Status: http.StatusPreconditionFailed, Msg: "the object does not match If-Match"}
	if !exists {
		if c.IfMatch != "" || len(c.IfMatchETags) > 0 {
			return failed
		}
		if c.Op == storage.OpPut {
			c.IfNoneMatch = true
		}
		return nil
	}
	if c.IfMatch != "" && c.IfMatch != "*" && c.IfMatch != etag || len(c.IfMatchETags) > 0 && !slices.Contains(c.IfMatchETags, etag) {
		return failed
	}
	c.IfMatch, c.IfMatchETags = etag, nil
	return nil
}

// putScheduled stores a calendar object and does implicit scheduling (RFC
// 6638 §3.2): an organizer's change sends REQUEST or CANCEL to each attendee
// of this server, and the organizer's copy gets SCHEDULE-STATUS; an
// attendee's change of PARTSTAT sends a REPLY that updates the organizer's
// copy. Requests from a pimvault device are never scheduled: a replica that
// uploads what it holds makes no new invitation. Objects that are not
// scheduling objects, or whose organizer is neither the user nor an
// account that invited the user, are stored as they are.
func (s *Server) putScheduled(w http.ResponseWriter, r *http.Request, p dav.Path, c storage.Change, obj *calendar.Object) {
	if deviceOf(r) != "" {
		s.commitPut(w, r, p, c)
		return
	}
	sent := c.Body
	old, err := s.store.Get(p.User, p.Collection, p.Object)
	exists := err == nil
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		s.writeError(w, r, err)
		return
	}
	oldCal := storedCal(old, exists)
	info, err := schedule.Inspect(obj.Cal)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	oldInfo, _ := schedule.Inspect(oldCal)
	if !info.IsScheduling() && !oldInfo.IsScheduling() {
		s.commitPut(w, r, p, c)
		return
	}
	dir, err := s.loadDirectory()
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := checkRoleChange(dir, p.User, oldInfo, info); err != nil {
		s.writeError(w, r, err)
		return
	}
	role := roleOf(dir, p.User, info)
	if !info.IsScheduling() {
		role = roleOf(dir, p.User, oldInfo)
	}
	if err := dav.SetConditionals(&c, r); err != nil {
		s.writeError(w, r, err)
		return
	}
	if err := pin(&c, exists, old.ETag); err != nil {
		s.writeError(w, r, err)
		return
	}
	oldTag := ""
	if exists {
		oldTag = s.scheduleTagOf(p)
	}
	if err := checkScheduleTag(r, oldTag); err != nil {
		s.writeError(w, r, err)
		return
	}
	c.Actor = actorOf(r, p)
	own := func(a string) bool { return dir.owns(p.User, a) }
	now := time.Now()
	switch {
	case role.organizer:
		if !dir.owns(p.User, oldInfo.Organizer) {
			oldCal = nil // not the user's own scheduling object before
		}
		if oldCal == nil && !schedule.HasMaster(obj.Cal) {
			s.writeError(w, r, dav.Forbidden(dav.NSCalDAV, "organizer-allowed",
				"a new meeting needs its master component (one without RECURRENCE-ID); instances alone are how an attendee invited to some of them sees it"))
			return
		}
		// The server's part of the organizer's version: SEQUENCE, and the
		// attendees' answers (reset where an instance moved, kept elsewhere).
		rescheduled := schedule.Reschedule(oldCal, obj.Cal, own)
		kept := schedule.KeepAnswers(oldCal, obj.Cal, own)
		msgs, err := schedule.OrganizerMessages(oldCal, obj.Cal, own, now)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		status := map[string]string{}
		var local []delivery
		var mail []schedule.Message
		for _, m := range msgs {
			u, ok := dir.lookup(m.Recipient)
			if !ok {
				status[m.Recipient] = dir.undeliverable(m.Recipient)
				if s.mailable(info.Organizer, m.Recipient, status[m.Recipient]) {
					mail = append(mail, m)
				}
				continue
			}
			status[m.Recipient] = schedule.StatusDelivered
			local = append(local, delivery{user: u, msg: m})
		}
		maps.Copy(status, s.queueMail(&c, info.Organizer, mailRef{p.Collection, p.Object, info.UID}, mail, now))
		if schedule.SetStatus(obj.Cal, status) || kept || rescheduled {
			body, err := schedule.Encode(obj.Cal, now)
			if err != nil {
				s.writeError(w, r, err)
				return
			}
			c.Body = body
		}
		tag := newScheduleTag(c.Body)
		if tag != oldTag {
			c.Props = map[string][]byte{scheduleTagKey: []byte(tag)}
		}
		res, ok := s.commitScheduled(w, r, c)
		if !ok {
			return
		}
		s.mailQueued(c)
		failed := s.deliverAll(r.Context(), local)
		if len(failed) > 0 {
			s.markUndelivered(r.Context(), p, res.ETag, failed)
		}
		w.Header().Set("Schedule-Tag", tag)
		s.answerPut(w, sent, c, res)
	case role.attendee != "":
		if !exists {
			if err := s.checkInvited(dir, p.User, role.attendee, info); err != nil {
				s.writeError(w, r, err)
				return
			}
		}
		var reply *schedule.Message
		if exists {
			reply, err = schedule.ReplyMessage(oldCal, obj.Cal, role.attendee, now)
		} else {
			reply, err = schedule.ReplyMessage(nil, obj.Cal, role.attendee, now)
		}
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		tag := oldTag // the attendee's own changes keep the tag
		if tag == "" {
			tag = newScheduleTag(c.Body)
			c.Props = map[string][]byte{scheduleTagKey: []byte(tag)}
		}
		if s.queueReply(&c, dir, role.attendee, reply, now) {
			reply = nil
		}
		res, ok := s.commitScheduled(w, r, c)
		if !ok {
			return
		}
		s.mailQueued(c)
		s.sendReply(r.Context(), dir, p.User, role.attendee, reply)
		w.Header().Set("Schedule-Tag", tag)
		s.answerPut(w, sent, c, res)
	default:
		s.commitPut(w, r, p, c)
	}
}

// commitScheduled commits a pinned change, answering the error if any.
func (s *Server) commitScheduled(w http.ResponseWriter, r *http.Request, c storage.Change) (storage.Result, bool) {
	res, err := s.store.Commit(r.Context(), c)
	if err != nil {
		s.writeError(w, r, err)
		return res, false
	}
	return res, true
}

// answerPut answers a scheduled PUT. The ETag is sent only when the stored
// body is the one the client sent (RFC 4791 §5.3.4: a changed body, here
// with SCHEDULE-STATUS, has no ETag in the answer, so the client reads it).
func (s *Server) answerPut(w http.ResponseWriter, sent []byte, c storage.Change, res storage.Result) {
	if bytes.Equal(sent, c.Body) {
		w.Header().Set("ETag", dav.QuoteETag(res.ETag))
	}
	if res.Created {
		w.WriteHeader(http.StatusCreated)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// delivery is one message to one account.
type delivery struct {
	user  string
	msg   schedule.Message
	apply func(*ical.Calendar) (bool, error)
}

// deliverAll runs the deliveries, a few at a time, and returns the
// recipients whose delivery failed (logged).
func (s *Server) deliverAll(ctx context.Context, ds []delivery) []string {
	var mu sync.Mutex
	var failed []string
	sem := make(chan struct{}, deliveryWorkers)
	var wg sync.WaitGroup
	for _, d := range ds {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			if err := s.deliver(ctx, d.user, d.msg, d.apply); err != nil {
				s.log.Warn("scheduling delivery failed", "to", d.user, "method", d.msg.Method, "err", err)
				mu.Lock()
				failed = append(failed, d.msg.Recipient)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return failed
}

// markUndelivered sets SCHEDULE-STATUS 5.1 on the organizer's copy for the
// recipients whose delivery failed after the copy was written.
func (s *Server) markUndelivered(ctx context.Context, p dav.Path, etag string, failed []string) {
	o, err := s.store.Get(p.User, p.Collection, p.Object)
	if err != nil || o.ETag != etag {
		return
	}
	obj, err := calendar.Parse(o.Body, nil)
	if err != nil {
		return
	}
	st := map[string]string{}
	for _, a := range failed {
		st[a] = schedule.StatusNoDelivery
	}
	if !schedule.SetStatus(obj.Cal, st) {
		return
	}
	body, err := schedule.Encode(obj.Cal, time.Now())
	if err != nil {
		return
	}
	_, err = s.store.Commit(ctx, storage.Change{Op: storage.OpPut, Principal: p.User, Collection: p.Collection, Name: p.Object,
		Body: body, Meta: o.Meta, IfMatch: etag})
	if err != nil {
		s.log.Warn("could not record failed deliveries", "user", p.User, "object", p.Object, "err", err)
	}
}

// sendReply delivers an attendee's REPLY to the organizer's account, where
// it updates the organizer's copy; an organizer of another server is not
// reached (no iMIP).
func (s *Server) sendReply(ctx context.Context, dir *directory, user, attendee string, reply *schedule.Message) {
	if reply == nil {
		return
	}
	org, ok := dir.lookup(reply.Recipient)
	if !ok || org == user {
		return
	}
	apply := func(cal *ical.Calendar) (bool, error) { return schedule.ApplyReply(cal, reply.Cal, attendee) }
	s.deliverAll(ctx, []delivery{{user: org, msg: *reply, apply: apply}})
}

// deleteScheduled deletes a calendar object and schedules what that means
// (RFC 6638 §3.2.1.3, §3.2.2.2): the organizer's delete cancels for every
// attendee; an attendee's delete declines, unless Schedule-Reply: F (§8.1).
// It reports false when the object is no scheduling object of the user's,
// for the ordinary delete to handle.
func (s *Server) deleteScheduled(w http.ResponseWriter, r *http.Request, p dav.Path, c storage.Change) bool {
	if deviceOf(r) != "" || p.Home != dav.HomeCalendars || p.Kind != dav.ResObject {
		return false
	}
	if p.Collection == inboxName || p.Collection == outboxName {
		// An inbox item is a message the client has dealt with, not the
		// user's copy of an event: removing it answers nothing.
		return false
	}
	old, err := s.store.Get(p.User, p.Collection, p.Object)
	if err != nil {
		return false
	}
	oldCal := storedCal(old, true)
	info, err := schedule.Inspect(oldCal)
	if err != nil || !info.IsScheduling() {
		return false
	}
	dir, err := s.loadDirectory()
	if err != nil {
		s.writeError(w, r, err)
		return true
	}
	role := roleOf(dir, p.User, info)
	if !role.organizer && role.attendee == "" {
		return false
	}
	if err := pin(&c, true, old.ETag); err != nil {
		s.writeError(w, r, err)
		return true
	}
	now := time.Now()
	var ds []delivery
	var reply *schedule.Message
	if role.organizer {
		msgs, err := schedule.OrganizerMessages(oldCal, nil, func(a string) bool { return dir.owns(p.User, a) }, now)
		if err != nil {
			s.writeError(w, r, err)
			return true
		}
		var mail []schedule.Message
		for _, m := range msgs {
			if u, ok := dir.lookup(m.Recipient); ok {
				ds = append(ds, delivery{user: u, msg: m})
			} else if s.mailable(info.Organizer, m.Recipient, dir.undeliverable(m.Recipient)) {
				mail = append(mail, m)
			}
		}
		s.queueMail(&c, info.Organizer, mailRef{uid: info.UID}, mail, now)
	} else if !strings.EqualFold(strings.TrimSpace(r.Header.Get("Schedule-Reply")), "F") {
		if reply, err = schedule.ReplyMessage(oldCal, nil, role.attendee, now); err != nil {
			s.writeError(w, r, err)
			return true
		}
		if s.queueReply(&c, dir, role.attendee, reply, now) {
			reply = nil
		}
	}
	if _, err := s.store.Commit(r.Context(), c); err != nil {
		s.writeError(w, r, err)
		return true
	}
	s.mailQueued(c)
	s.deliverAll(r.Context(), ds)
	s.sendReply(r.Context(), dir, p.User, role.attendee, reply)
	w.WriteHeader(http.StatusNoContent)
	return true
}
