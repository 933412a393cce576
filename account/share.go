package account

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/pimvault/pimvault/storage"
)

// Sharing: an owner lets another account read, or read and write, one of
// their address books or calendars. A grant is a property of the owner's
// collection ({ShareNS}<sharee> = "read" or "read-write"), written with
// OpSetProps, so it is journalled, backed up, restored and undone like the
// collection's other properties, and it goes when the collection goes.

// ShareNS is the namespace of the grant properties; the server neither
// lists them nor lets PROPPATCH set them.
const ShareNS = "http://pimvault.org/ns/share/"

// Access levels.
const (
	ShareRead      = "read"
	ShareReadWrite = "read-write"
)

// MaxSharees bounds the grants of one collection.
const MaxSharees = 64

// ErrBadShare: a share request that cannot be granted.
var ErrBadShare = errors.New("bad share")

// Share is one grant.
type Share struct {
	Owner, Collection, Kind, Sharee, Access string
}

// ShareKey is the property name of sharee's grant.
func ShareKey(sharee string) string { return "{" + ShareNS + "}" + sharee }

// Grants returns a collection's grants: sharee → access.
func Grants(c storage.Collection) map[string]string {
	out := map[string]string{}
	for k, v := range c.Props {
		if sharee, ok := strings.CutPrefix(k, "{"+ShareNS+"}"); ok && (string(v) == ShareRead || string(v) == ShareReadWrite) {
			out[sharee] = string(v)
		}
	}
	return out
}

// ShareStore is what sharing needs of the store.
type ShareStore interface {
	Commit(ctx context.Context, c storage.Change) (storage.Result, error)
	Principal(name string) (storage.Principal, error)
	Principals() ([]storage.Principal, error)
	Collection(principal, name string) (storage.Collection, error)
	Collections(principal string) ([]storage.Collection, error)
}

// SetShare grants sharee access ("read" or "read-write") to owner's
// collection, or with access "" takes the grant back. Only address books and
// calendars are shared; an owner cannot share with themselves; the sharee
// must be an account.
func SetShare(ctx context.Context, s ShareStore, owner, collection, sharee, access string) error {
	if access != "" && access != ShareRead && access != ShareReadWrite {
		return fmt.Errorf("%w: access %q (want read or read-write)", ErrBadShare, access)
	}
	if owner == sharee {
		return fmt.Errorf("%w: %s owns %s already", ErrBadShare, owner, collection)
	}
	c, err := s.Collection(owner, collection)
	if err != nil {
		return err
	}
	if c.Kind != "calendar" && c.Kind != "addressbook" {
		return fmt.Errorf("%w: %s/%s is a %s; only address books and calendars are shared", ErrBadShare, owner, collection, c.Kind)
	}
	grants := Grants(c)
	if access == "" {
		if _, ok := grants[sharee]; !ok {
			return fmt.Errorf("%w: %s/%s is not shared with %s", ErrBadShare, owner, collection, sharee)
		}
		_, err := s.Commit(ctx, storage.Change{Op: storage.OpSetProps, Principal: owner, Collection: collection, Remove: []string{ShareKey(sharee)}})
		return err
	}
	if _, err := s.Principal(sharee); err != nil {
		return fmt.Errorf("%w: no account %s", ErrBadShare, sharee)
	}
	if _, ok := grants[sharee]; !ok && len(grants) >= MaxSharees {
		return fmt.Errorf("%w: %s/%s is shared with %d accounts already, the most", ErrBadShare, owner, collection, MaxSharees)
	}
	if grants[sharee] == access {
		return nil
	}
	_, err = s.Commit(ctx, storage.Change{Op: storage.OpSetProps, Principal: owner, Collection: collection,
		Props: map[string][]byte{ShareKey(sharee): []byte(access)}})
	return err
}

// SharesOf lists the grants of owner's collections ("" owner: every
// account's), sorted.
func SharesOf(s ShareStore, owner string) ([]Share, error) {
	owners := []string{owner}
	if owner == "" {
		ps, err := s.Principals()
		if err != nil {
			return nil, err
		}
		owners = owners[:0]
		for _, p := range ps {
			owners = append(owners, p.Name)
		}
	}
	var out []Share
	for _, o := range owners {
		cols, err := s.Collections(o)
		if err != nil {
			return nil, err
		}
		for _, c := range cols {
			for sharee, access := range Grants(c) {
				out = append(out, Share{Owner: o, Collection: c.Name, Kind: c.Kind, Sharee: sharee, Access: access})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Owner != b.Owner {
			return a.Owner < b.Owner
		}
		if a.Collection != b.Collection {
			return a.Collection < b.Collection
		}
		return a.Sharee < b.Sharee
	})
	return out, nil
}

// SharedWith lists the collections shared with sharee.
func SharedWith(s ShareStore, sharee string) ([]Share, error) {
	all, err := SharesOf(s, "")
	if err != nil {
		return nil, err
	}
	var out []Share
	for _, sh := range all {
		if sh.Sharee == sharee {
			out = append(out, sh)
		}
	}
	return out, nil
}
