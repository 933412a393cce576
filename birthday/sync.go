package birthday

import (
	"context"
	"errors"
	"fmt"

	"github.com/pimvault/pimvault/calendar"
	"github.com/pimvault/pimvault/storage"
)

// The birthday calendar of an account.
const (
	Collection = "birthdays"
	// MarkerKey marks the collection as the birthday calendar (a property,
	// so a calendar a user happened to call "birthdays" is never touched).
	MarkerKey = "{http://pimvault.org/ns/}birthday-calendar"
)

// Store is what the birthday calendar needs of the store.
type Store interface {
	Commit(ctx context.Context, c storage.Change) (storage.Result, error)
	Collection(principal, name string) (storage.Collection, error)
	Collections(principal string) ([]storage.Collection, error)
	Objects(principal, collection string, bodies bool, fn func(storage.Object) error) error
	Get(principal, collection, name string) (storage.Object, error)
}

// ErrNotBirthdays: a calendar named "birthdays" that is not the birthday
// calendar is in the way.
var ErrNotBirthdays = errors.New("a calendar named birthdays exists and is not the birthday calendar")

// IsBirthdays reports whether c is a birthday calendar.
func IsBirthdays(c storage.Collection) bool {
	_, ok := c.Props[MarkerKey]
	return ok && c.Name == Collection
}

// Enabled reports whether user has the birthday calendar.
func Enabled(s Store, user string) bool {
	c, err := s.Collection(user, Collection)
	return err == nil && IsBirthdays(c)
}

// Enable creates user's birthday calendar (if missing) and fills it from
// every address book.
func Enable(ctx context.Context, s Store, user string) error {
	c, err := s.Collection(user, Collection)
	switch {
	case err == nil && !IsBirthdays(c):
		return ErrNotBirthdays
	case errors.Is(err, storage.ErrNotFound):
		_, err = s.Commit(ctx, storage.Change{Op: storage.OpCreateCollection, Principal: user, Collection: Collection, Kind: "calendar",
			Props: map[string][]byte{MarkerKey: []byte("1"), "{DAV:}displayname": []byte("Birthdays")}})
		if err != nil && !errors.Is(err, storage.ErrExists) {
			return err
		}
	case err != nil:
		return err
	}
	return Rebuild(ctx, s, user)
}

// Disable deletes user's birthday calendar (a journalled tombstone).
func Disable(ctx context.Context, s Store, user string) error {
	if !Enabled(s, user) {
		return nil
	}
	_, err := s.Commit(ctx, storage.Change{Op: storage.OpDeleteCollection, Principal: user, Collection: Collection})
	return err
}

// Rebuild makes the birthday calendar match the address books: every
// card's events written, events of cards that are gone deleted.
func Rebuild(ctx context.Context, s Store, user string) error {
	cols, err := s.Collections(user)
	if err != nil {
		return err
	}
	want := map[string]bool{}
	for _, c := range cols {
		if c.Kind != "addressbook" {
			continue
		}
		type card struct {
			uid  string
			body []byte
		}
		var cards []card
		err := s.Objects(user, c.Name, true, func(o storage.Object) error {
			cards = append(cards, card{o.Meta.UID, append([]byte(nil), o.Body...)})
			return nil
		})
		if err != nil {
			return err
		}
		for _, cd := range cards {
			evs, err := SyncCard(ctx, s, user, c.Name, cd.uid, cd.body)
			if err != nil {
				return err
			}
			for _, e := range evs {
				want[e] = true
			}
		}
	}
	var stale []string
	err = s.Objects(user, Collection, false, func(o storage.Object) error {
		if !want[o.Name] {
			stale = append(stale, o.Name)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, n := range stale {
		if _, err := s.Commit(ctx, storage.Change{Op: storage.OpDelete, Principal: user, Collection: Collection, Name: n}); err != nil && !errors.Is(err, storage.ErrNotFound) {
			return err
		}
	}
	return nil
}

// SyncCard brings the events of one card (uid in address book collection)
// up to date: body is the card, nil when it was deleted. It does nothing
// when user has no birthday calendar, and returns the names of the card's
// events now in it.
func SyncCard(ctx context.Context, s Store, user, collection, uid string, body []byte) ([]string, error) {
	if uid == "" || !Enabled(s, user) {
		return nil, nil
	}
	var evs []Event
	if body != nil {
		var err error
		if evs, err = Events(collection, body); err != nil {
			evs = nil // a card go-vcard cannot read has no dates to show
		}
	}
	have := map[string]Event{}
	for _, e := range evs {
		have[e.Name] = e
	}
	var names []string
	for _, n := range Names(collection, uid) {
		e, ok := have[n]
		if !ok {
			_, err := s.Commit(ctx, storage.Change{Op: storage.OpDelete, Principal: user, Collection: Collection, Name: n})
			if err != nil && !errors.Is(err, storage.ErrNotFound) {
				return nil, err
			}
			continue
		}
		obj, err := calendar.Parse(e.Body, nil)
		if err != nil {
			return nil, fmt.Errorf("birthday event of %s: %w", uid, err)
		}
		start, end := obj.SpanUnix()
		_, err = s.Commit(ctx, storage.Change{Op: storage.OpPut, Principal: user, Collection: Collection, Name: n, Body: e.Body,
			Meta: storage.ObjectMeta{UID: obj.UID, Component: obj.Component, Span: &storage.Span{Start: start, End: end}}})
		if err != nil {
			return nil, err
		}
		names = append(names, n)
	}
	return names, nil
}
