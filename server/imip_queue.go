package server

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/pimvault/pimvault/calendar"
	"github.com/pimvault/pimvault/imip"
	"github.com/pimvault/pimvault/schedule"
	"github.com/pimvault/pimvault/storage"
)

// mailRef names the sender's copy of a scheduling object, which records a
// queued message's outcome; zero when there is none (a deleted object).
type mailRef struct{ collection, object, uid string }

// queueMail adds the messages from sender to recipients of other servers
// to c as outbox entries, so that they are journalled with the change that
// sends them (storage/outbox.go) and survive a crash, a restore or a
// failover; the mail queue sends them after the commit. It returns each
// recipient's SCHEDULE-STATUS: 1.0 (queued), or 5.1 when the account's
// outbox is full or the message cannot be built.
func (s *Server) queueMail(c *storage.Change, sender string, ref mailRef, msgs []schedule.Message, now time.Time) map[string]string {
	status := map[string]string{}
	if len(msgs) == 0 {
		return status
	}
	pending, err := s.store.Outbox(c.Principal)
	queued := len(pending) + len(c.Outbox) // c.Outbox: queued by this change already
	if err != nil {
		queued = storage.MaxOutbox
	}
	// A REQUEST or CANCEL carries the recipient's whole view of the object,
	// so it supersedes one for the same UID still waiting: that one is
	// taken out in the same record (a relay that is down does not pile up
	// a message per edit).
	superseded := func(m schedule.Message) {
		if ref.uid == "" || m.Method == schedule.MethodReply {
			return
		}
		for _, o := range pending {
			if o.UID == ref.uid && o.Recipient == m.Recipient && o.Method != schedule.MethodReply && !slices.Contains(c.OutboxDone, o.ID) {
				c.OutboxDone = append(c.OutboxDone, o.ID)
				queued--
			}
		}
	}
	from := strings.TrimPrefix(sender, "mailto:")
	envelope := s.cfg.MailFrom
	if envelope == "" {
		envelope = from
	}
	for _, m := range msgs {
		status[m.Recipient] = schedule.StatusNoDelivery
		superseded(m)
		if queued >= storage.MaxOutbox {
			s.log.Warn("iMIP mail not queued: the outbox is full", "user", c.Principal, "to", m.Recipient, "queued", queued)
			continue
		}
		to := strings.TrimPrefix(m.Recipient, "mailto:")
		e := storage.OutboxEntry{ID: newOutboxID(), Created: now.UTC(), Envelope: envelope, To: to, Recipient: m.Recipient,
			Method: m.Method, MessageID: imip.NewMessageID(from), Collection: ref.collection, Object: ref.object, UID: ref.uid, Next: now.UTC()}
		err := func() error {
			body, err := schedule.Encode(m.Cal, now)
			if err != nil {
				return err
			}
			e.Message, err = imip.MessageWithID(from, to, subjectOf(m), m.Method, body, now, e.MessageID)
			if err != nil {
				return err
			}
			_, err = e.Encode()
			return err
		}()
		if err != nil {
			s.log.Warn("iMIP mail not queued", "user", c.Principal, "to", to, "method", m.Method, "err", err)
			continue
		}
		c.Outbox = append(c.Outbox, e)
		status[m.Recipient] = schedule.StatusPending
		queued++
	}
	return status
}

// queueReply queues an attendee's REPLY to an organizer of another server
// in c. It reports whether the reply went that way (queued or refused).
func (s *Server) queueReply(c *storage.Change, dir *directory, attendee string, reply *schedule.Message, now time.Time) bool {
	if reply == nil {
		return false
	}
	if _, ok := dir.lookup(reply.Recipient); ok || !s.mailable(attendee, reply.Recipient, dir.undeliverable(reply.Recipient)) {
		return false
	}
	s.queueMail(c, attendee, mailRef{}, []schedule.Message{*reply}, now)
	return true
}

// mailQueued tells the mail queue that a committed change queued mail.
func (s *Server) mailQueued(c storage.Change) {
	if len(c.Outbox) > 0 && s.cfg.MailQueued != nil {
		s.cfg.MailQueued()
	}
}

// SettleMail records a queued message's outcome: the sender's copy gets
// SCHEDULE-STATUS 1.1 (sent) or 5.1 (given up) for the recipient where it
// still says 1.0, and the entry leaves the outbox in the same record. A
// copy that is gone or was changed to another status only loses the entry.
func (s *Server) SettleMail(ctx context.Context, e storage.OutboxEntry, outcome string) error {
	status := schedule.StatusSent
	if outcome != imip.OutcomeSent {
		status = schedule.StatusNoDelivery
	}
	done := storage.Change{Op: storage.OpPrincipalState, Principal: e.Principal, OutboxDone: []string{e.ID}}
	if e.Object == "" || e.Method == schedule.MethodReply || s.laterPending(e) {
		_, err := s.store.Commit(ctx, done)
		return err
	}
	for attempt := 0; ; attempt++ {
		o, err := s.store.Get(e.Principal, e.Collection, e.Object)
		if errors.Is(err, storage.ErrNotFound) || err == nil && o.Meta.UID != e.UID {
			_, err = s.store.Commit(ctx, done)
			return err
		}
		if err != nil {
			return err
		}
		obj, err := calendar.Parse(o.Body, nil)
		if err != nil || !schedule.SettleStatus(obj.Cal, e.Recipient, status) {
			_, err = s.store.Commit(ctx, done)
			return err
		}
		body, err := schedule.Encode(obj.Cal, time.Now())
		if err != nil {
			return err
		}
		_, err = s.store.Commit(ctx, storage.Change{Op: storage.OpPut, Principal: e.Principal, Collection: e.Collection, Name: e.Object,
			Body: body, Meta: o.Meta, IfMatch: o.ETag, OutboxDone: []string{e.ID}})
		if !errors.Is(err, storage.ErrPreconditionFailed) || attempt == 3 {
			return err
		}
	}
}

// laterPending reports whether the outbox holds another message for the
// same recipient of the same object (queued while this one was being
// sent): its outcome, not this one's, is the
// status to show (it stays 1.0 until then).
func (s *Server) laterPending(e storage.OutboxEntry) bool {
	es, err := s.store.Outbox(e.Principal)
	if err != nil {
		return false
	}
	for _, o := range es {
		if o.ID != e.ID && o.UID == e.UID && o.Recipient == e.Recipient && o.Method != schedule.MethodReply {
			return true
		}
	}
	return false
}

// newOutboxID is a random outbox entry id.
func newOutboxID() string { return strings.TrimSuffix(randomName(), ".ics") }
