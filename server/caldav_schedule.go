package server

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/emersion/go-ical"

	"github.com/pimvault/pimvault/account"
	"github.com/pimvault/pimvault/calendar"
	"github.com/pimvault/pimvault/schedule"
	"github.com/pimvault/pimvault/server/internal/dav"
	"github.com/pimvault/pimvault/storage"
)

// The scheduling collections of a calendar home (RFC 6638 §2.2, §2.3). The
// inbox is an ordinary collection of the store, so deliveries into it are
// journalled changes; the outbox holds nothing (it is only POSTed to).
const (
	kindInbox  = "schedule-inbox"
	kindOutbox = "schedule-outbox"
	inboxName  = "inbox"
	outboxName = "outbox"
)

// isScheduleKind reports whether a collection kind is a scheduling inbox or
// outbox (found in the calendar home, served as neither calendar nor
// address book).
func isScheduleKind(kind string) bool { return kind == kindInbox || kind == kindOutbox }

func inboxHref(user string) string {
	return dav.Path{Kind: dav.ResCollection, Home: dav.HomeCalendars, User: user, Collection: inboxName}.Href()
}

func outboxHref(user string) string {
	return dav.Path{Kind: dav.ResCollection, Home: dav.HomeCalendars, User: user, Collection: outboxName}.Href()
}

// ensureScheduling creates a user's inbox and outbox the first time this
// process needs them (a request to either, or a delivery), like the
// default collections at sign-in.
func (s *Server) ensureScheduling(ctx context.Context, user string) error {
	if _, done := s.scheduleDone.Load(user); done {
		return nil
	}
	for _, c := range []struct{ name, kind, display string }{{inboxName, kindInbox, "Inbox"}, {outboxName, kindOutbox, "Outbox"}} {
		_, err := s.store.Commit(ctx, storage.Change{Op: storage.OpCreateCollection, Principal: user,
			Collection: c.name, Kind: c.kind,
			Props: map[string][]byte{dav.Clark(dav.NameDisplayName): []byte(c.display)}})
		if err != nil && !errors.Is(err, storage.ErrExists) {
			return err
		}
	}
	s.scheduleDone.Store(user, true)
	return nil
}

// directory maps calendar user addresses to the accounts of this server
// (RFC 6638 §2.4.1): an account's addresses are mailto: of its e-mail
// addresses (or, with none, of name@MailDomain when that is configured) and
// its principal URL.
type directory struct {
	byAddr  map[string]string   // schedule.Address → user
	addrs   map[string][]string // user → addresses, mailto: first
	domains map[string]bool     // the domains of the accounts' addresses
}

// buildDirectory reads every account (loadDirectory caches the result).
func (s *Server) buildDirectory() (*directory, error) {
	ps, err := s.store.Principals()
	if err != nil {
		return nil, err
	}
	d := &directory{byAddr: map[string]string{}, addrs: map[string][]string{}, domains: map[string]bool{}}
	for _, p := range ps {
		a, err := account.Decode(p)
		if err != nil {
			continue
		}
		d.add(p.Name, s.emailsOf(p.Name, a))
	}
	return d, nil
}

// emailsOf returns an account's e-mail addresses, or the derived one.
func (s *Server) emailsOf(user string, a account.Account) []string {
	if len(a.Emails) > 0 || s.cfg.MailDomain == "" {
		return a.Emails
	}
	if e, err := account.NormalizeEmail(user + "@" + s.cfg.MailDomain); err == nil {
		return []string{e}
	}
	return nil
}

func (d *directory) add(user string, emails []string) {
	for _, e := range emails {
		addr := schedule.Address("mailto:" + e)
		if _, taken := d.byAddr[addr]; !taken {
			d.byAddr[addr] = user
		}
		d.addrs[user] = append(d.addrs[user], addr)
		if at := strings.LastIndexByte(e, '@'); at >= 0 {
			d.domains[e[at+1:]] = true
		}
	}
	href := dav.PrincipalHref(user)
	d.byAddr[href] = user
	d.addrs[user] = append(d.addrs[user], href)
}

// lookup returns the account an address names: a mailto: address of an
// account, or a principal URL (path or absolute).
func (d *directory) lookup(addr string) (string, bool) {
	addr = schedule.Address(addr)
	if u, ok := d.byAddr[addr]; ok {
		return u, true
	}
	if strings.Contains(addr, "/principals/") {
		if p, err := dav.ParsePath(addr); err == nil && p.Kind == dav.ResPrincipal {
			if _, ok := d.addrs[p.User]; ok {
				return p.User, true
			}
		}
	}
	return "", false
}

// owns reports whether addr is one of user's addresses.
func (d *directory) owns(user, addr string) bool {
	u, ok := d.lookup(addr)
	return ok && u == user
}

// undeliverable is the SCHEDULE-STATUS of an address no account holds:
// 3.7 (no such calendar user) in a domain of this server, 5.1 (not
// delivered: mail to other servers is not sent) elsewhere.
func (d *directory) undeliverable(addr string) string {
	if at := strings.LastIndexByte(addr, '@'); strings.HasPrefix(addr, "mailto:") && at >= 0 && !d.domains[addr[at+1:]] {
		return schedule.StatusNoDelivery
	}
	return schedule.StatusInvalidUser
}

// scheduleCalendar returns the calendar a delivery goes into when the
// recipient has no copy yet: the inbox's schedule-default-calendar-URL
// (RFC 6638 §9.2) when set and valid, else the default calendar, else the
// first calendar that holds the component. "" when there is none.
func (s *Server) scheduleCalendar(user, component string) (string, error) {
	cols, err := s.store.Collections(user)
	if err != nil {
		return "", err
	}
	holds := func(c storage.Collection) bool {
		if c.Kind != dav.KindCalendar {
			return false
		}
		for _, comp := range supportedComponents(c) {
			if comp == component {
				return true
			}
		}
		return false
	}
	byName := map[string]storage.Collection{}
	for _, c := range cols {
		byName[c.Name] = c
	}
	if in, ok := byName[inboxName]; ok {
		if v, ok := in.Props[dav.Clark(nameScheduleDefaultCal)]; ok {
			if p, err := dav.ParsePath(strings.TrimSpace(stripHref(string(v)))); err == nil && p.User == user && holds(byName[p.Collection]) {
				return p.Collection, nil
			}
		}
	}
	if holds(byName[defaultCalendar]) {
		return defaultCalendar, nil
	}
	for _, c := range cols {
		if holds(c) {
			return c.Name, nil
		}
	}
	return "", nil
}

// stripHref returns the text inside a stored <D:href> element.
func stripHref(v string) string {
	if i := strings.Index(v, ">"); i >= 0 && strings.Contains(v[:i], "href") {
		v = v[i+1:]
	}
	if i := strings.Index(v, "</"); i >= 0 {
		v = v[:i]
	}
	return v
}

// findCopy looks for user's object with uid in their calendars.
func (s *Server) findCopy(user, uid string) (collection string, o storage.Object, ok bool, err error) {
	cols, err := s.store.Collections(user)
	if err != nil {
		return "", o, false, err
	}
	for _, c := range cols {
		if c.Kind != dav.KindCalendar {
			continue
		}
		name, err := s.store.ByUID(user, c.Name, uid)
		if errors.Is(err, storage.ErrNotFound) {
			continue
		}
		if err != nil {
			return "", o, false, err
		}
		o, err = s.store.Get(user, c.Name, name)
		if errors.Is(err, storage.ErrNotFound) {
			continue
		}
		return c.Name, o, err == nil, err
	}
	return "", o, false, nil
}

// copyName is the object name a new copy of uid gets: <uid>.ics, the name
// clients give an event they save (python3-caldav's accept_invite saves the
// accepted copy there), or a hash when the UID is no usable name.
func copyName(uid string) string {
	if n := uid + ".ics"; len(n) <= 200 && storage.ValidateName("object", n) == nil && !strings.ContainsAny(n, "%?#&+ ") {
		return n
	}
	h := sha256.Sum256([]byte(uid))
	return hex.EncodeToString(h[:16]) + ".ics"
}

// deliver writes one message to user: into their inbox, and for REQUEST
// and CANCEL into their copy of the object (RFC 6638 §3.2.1.2: a new copy in
// the default calendar with the organizer's data; an update keeps the
// attendee's answer unless rescheduled; a cancel marks the copy
// cancelled). For REPLY, apply updates the organizer's copy. Every write is
// an ordinary store change, retried on a concurrent change of the copy.
func (s *Server) deliver(ctx context.Context, user string, m schedule.Message, apply func(*ical.Calendar) (bool, error)) error {
	if err := s.ensureScheduling(ctx, user); err != nil {
		return err
	}
	if err := s.ensureDefaults(ctx, user); err != nil { // a calendar to put the copy in
		return err
	}
	now := time.Now()
	body, err := schedule.Encode(m.Cal, now)
	if err != nil {
		return err
	}
	info, _ := schedule.Inspect(m.Cal)
	_, err = s.store.Commit(ctx, storage.Change{Op: storage.OpPut, Principal: user, Collection: inboxName,
		Name: randomName(), Body: body, Meta: storage.ObjectMeta{Component: info.Component}, IfNoneMatch: true})
	if err != nil {
		return fmt.Errorf("inbox of %s: %w", user, err)
	}
	for attempt := 0; ; attempt++ {
		err := s.updateCopy(ctx, user, info, m, apply, now)
		if !errors.Is(err, storage.ErrPreconditionFailed) || attempt == 3 {
			return err
		}
	}
}

// updateCopy is one attempt at writing user's copy for m.
func (s *Server) updateCopy(ctx context.Context, user string, info schedule.Info, m schedule.Message, apply func(*ical.Calendar) (bool, error), now time.Time) error {
	col, old, exists, err := s.findCopy(user, info.UID)
	if err != nil {
		return err
	}
	var cur *ical.Calendar
	var oldCal *ical.Calendar
	if exists {
		if o, err := calendar.Parse(old.Body, nil); err == nil {
			oldCal = o.Cal
		}
	}
	switch {
	case m.Method == schedule.MethodReply:
		if oldCal == nil {
			return nil // the organizer has no copy (any more): the inbox holds the reply
		}
		changed, err := apply(oldCal)
		if err != nil || !changed {
			return err
		}
		cur = oldCal
	case m.Method == schedule.MethodCancel:
		if oldCal == nil {
			return nil
		}
		schedule.ApplyCancel(oldCal, m.Cal)
		cur = oldCal
	default:
		cur = m.Copy
		schedule.MergeCopy(oldCal, cur, m.Recipient)
	}
	body, err := schedule.Encode(cur, now)
	if err != nil {
		return err
	}
	if !exists {
		if col, err = s.scheduleCalendar(user, info.Component); err != nil || col == "" {
			if err == nil {
				err = fmt.Errorf("%s has no calendar for %s", user, info.Component)
			}
			return err
		}
	}
	cc, err := s.store.Collection(user, col)
	if err != nil {
		return err
	}
	obj, err := calendar.Parse(body, floatingLocation(cc))
	if err != nil {
		return fmt.Errorf("the copy for %s does not validate: %w", user, err)
	}
	c := storage.Change{Op: storage.OpPut, Principal: user, Collection: col, Name: copyName(info.UID), Body: body,
		Meta: storage.ObjectMeta{UID: obj.UID, Component: obj.Component, Span: spanOf(obj)}, IfNoneMatch: true}
	if m.Method != schedule.MethodReply {
		// An organizer's update: the attendee's copy gets a new schedule tag.
		c.Props = map[string][]byte{scheduleTagKey: []byte(newScheduleTag(body))}
	}
	if exists {
		c.Name, c.IfMatch, c.IfNoneMatch = old.Name, old.ETag, false
	}
	_, err = s.store.Commit(ctx, c)
	return err
}

func randomName() string {
	b := make([]byte, 12)
	rand.Read(b)
	return hex.EncodeToString(b) + ".ics"
}
