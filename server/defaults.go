package server

import (
	"context"
	"errors"

	"github.com/pimvault/pimvault/server/internal/dav"
	"github.com/pimvault/pimvault/storage"
)

// ensureDefaults creates a user's default address book and calendar the
// first time the user signs in to this process, if the user has none.
func (s *Server) ensureDefaults(ctx context.Context, user string) error {
	if _, done := s.defaultsDone.Load(user); done {
		return nil
	}
	cols, err := s.store.Collections(user)
	if err != nil {
		return err
	}
	has := map[string]bool{}
	for _, c := range cols {
		has[c.Kind] = true
	}
	defaults := []struct{ kind, name, display string }{
		{dav.KindAddressBook, dav.DefaultBook, "Contacts"},
		{dav.KindCalendar, defaultCalendar, "Calendar"},
	}
	for _, d := range defaults {
		if has[d.kind] {
			continue
		}
		_, err := s.store.Commit(ctx, storage.Change{Op: storage.OpCreateCollection, Principal: user,
			Collection: d.name, Kind: d.kind,
			Props: map[string][]byte{dav.Clark(dav.NameDisplayName): []byte(d.display)}})
		if err != nil && !errors.Is(err, storage.ErrExists) {
			return err
		}
	}
	s.defaultsDone.Store(user, true)
	return nil
}
