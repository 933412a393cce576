package account

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/pimvault/pimvault/storage"
)

// Sharing: an owner lets another account read, or read and write, one of
// their address books or calendars. A grant is a property of the owner's
// collection ({ShareNS}<sharee>), written with OpSetProps, so it is
// journalled, backed up, restored and undone like the collection's other
// properties, and it goes when the collection goes.
//
// A grant's value is its state:
//
//	read | read-write                 accepted: the sharee has access
//	accepted <access> <RFC 3339 time> accepted then, the owner not told yet
//	invited <access> <RFC 3339 time>  an invitation waiting for the sharee
//	declined <access> [<time>]        the sharee said no (with a time: the
//	                                  owner has not been told yet)
//
// Only an accepted grant gives access (Grants). The owner learns of an
// answer from a notification (the time in the value) and dismisses it
// (ReplySeen), which drops the time. An invitation is what an
// owner's own request makes (CalendarServer's CS:share, /api/shares): the
// sharee sees it as a notification and accepts or declines it (Reply). The
// administrator's `pimvault share add` grants at once (SetShare).

// ShareNS is the namespace of the grant properties; the server neither
// lists them nor lets PROPPATCH set them.
const ShareNS = "http://pimvault.org/ns/share/"

// Access levels.
const (
	ShareRead      = "read"
	ShareReadWrite = "read-write"
)

// Grant states.
const (
	StatusAccepted = "accepted"
	StatusInvited  = "invited"
	StatusDeclined = "declined"
)

// MaxSharees bounds the grants (in any state) of one collection.
const MaxSharees = 64

// MaxPendingInvites bounds the invitations waiting for one sharee, over
// all owners: more are refused until the sharee answers some.
const MaxPendingInvites = 32

// ErrBadShare: a share request that cannot be granted.
var ErrBadShare = errors.New("bad share")

// ErrTooManyInvites: the sharee has MaxPendingInvites invitations waiting
// (a kind of ErrBadShare).
var ErrTooManyInvites = fmt.Errorf("%w: too many pending invitations", ErrBadShare)

// Share is one grant.
type Share struct {
	Owner, Collection, Kind, Sharee, Access string
	// Status is StatusAccepted, StatusInvited or StatusDeclined.
	Status string
	// Since is when an invitation was made (StatusInvited), or when the
	// sharee answered one while the owner has not dismissed the answer
	// (StatusAccepted, StatusDeclined); zero otherwise.
	Since time.Time
}

// InviteUID names the invitation of sharee to owner's collection: the same
// for the same three names, so a reply finds it again and a repeated
// invitation replaces the notification instead of adding one.
func InviteUID(owner, collection, sharee string) string {
	h := sha256.Sum256([]byte(owner + "\x00" + collection + "\x00" + sharee))
	return hex.EncodeToString(h[:12])
}

// ShareKey is the property name of sharee's grant.
func ShareKey(sharee string) string { return "{" + ShareNS + "}" + sharee }

// ParseGrant reads a grant value: its status, access and the time it
// carries (see Share.Since). A value of another form is no grant.
func ParseGrant(v string) (status, access string, since time.Time, ok bool) {
	f := strings.Split(v, " ")
	validAccess := func(a string) bool { return a == ShareRead || a == ShareReadWrite }
	at := func(v string) (time.Time, bool) {
		t, err := time.Parse(time.RFC3339, v)
		return t.UTC(), err == nil
	}
	switch {
	case len(f) == 1 && validAccess(f[0]):
		return StatusAccepted, f[0], time.Time{}, true
	case len(f) == 2 && f[0] == StatusDeclined && validAccess(f[1]):
		return StatusDeclined, f[1], time.Time{}, true
	case len(f) == 3 && (f[0] == StatusInvited || f[0] == StatusAccepted || f[0] == StatusDeclined) && validAccess(f[1]):
		if t, ok := at(f[2]); ok {
			return f[0], f[1], t, true
		}
	}
	return "", "", time.Time{}, false
}

// grantValue is the value ParseGrant reads.
func grantValue(status, access string, since time.Time) string {
	if !since.IsZero() {
		return status + " " + access + " " + since.UTC().Format(time.RFC3339)
	}
	if status == StatusDeclined {
		return StatusDeclined + " " + access
	}
	return access
}

// AllGrants returns a collection's grants in every state, by sharee.
func AllGrants(c storage.Collection) map[string]Share {
	out := map[string]Share{}
	for k, v := range c.Props {
		sharee, ok := strings.CutPrefix(k, "{"+ShareNS+"}")
		if !ok {
			continue
		}
		status, access, since, ok := ParseGrant(string(v))
		if !ok {
			continue
		}
		out[sharee] = Share{Owner: "", Collection: c.Name, Kind: c.Kind, Sharee: sharee, Access: access, Status: status, Since: since}
	}
	return out
}

// Grants returns a collection's accepted grants, the ones that give
// access: sharee → access.
func Grants(c storage.Collection) map[string]string {
	out := map[string]string{}
	for sharee, g := range AllGrants(c) {
		if g.Status == StatusAccepted {
			out[sharee] = g.Access
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
// collection at once, or with access "" takes the grant (in any state)
// back. Only address books and calendars are shared; an owner cannot share
// with themselves; the sharee must be an account.
func SetShare(ctx context.Context, s ShareStore, owner, collection, sharee, access string) error {
	if access == "" {
		return Unshare(ctx, s, owner, collection, sharee)
	}
	c, grants, err := shareTarget(s, owner, collection, sharee, access)
	if err != nil {
		return err
	}
	if g, ok := grants[sharee]; ok && g.Status == StatusAccepted && g.Access == access {
		return nil
	}
	return putGrant(ctx, s, c, owner, sharee, grantValue(StatusAccepted, access, time.Time{}))
}

// Invite asks sharee to accept access to owner's collection, or with access
// "" takes the grant or invitation back. An accepted grant only changes its
// access (the sharee said yes to this collection already); otherwise the
// grant becomes an invitation made at now, which gives no access until the
// sharee accepts it. It returns ErrTooManyInvites when sharee has
// MaxPendingInvites invitations waiting.
func Invite(ctx context.Context, s ShareStore, owner, collection, sharee, access string, now time.Time) error {
	if access == "" {
		return Unshare(ctx, s, owner, collection, sharee)
	}
	c, value, err := planInvite(s, owner, collection, sharee, access, now)
	if err != nil || value == "" {
		return err
	}
	return putGrant(ctx, s, c, owner, sharee, value)
}

// CheckInvite says whether Invite (or, with access "", the removal) would
// succeed now, changing nothing: a request naming several sharees checks
// them all before it changes any.
func CheckInvite(s ShareStore, owner, collection, sharee, access string) error {
	if access == "" {
		_, grants, err := shareTarget(s, owner, collection, sharee, "")
		if err == nil {
			if _, ok := grants[sharee]; !ok {
				err = fmt.Errorf("%w: %s/%s is not shared with %s", ErrBadShare, owner, collection, sharee)
			}
		}
		return err
	}
	_, _, err := planInvite(s, owner, collection, sharee, access, time.Time{})
	return err
}

// planInvite returns the grant value Invite writes ("": nothing to write).
func planInvite(s ShareStore, owner, collection, sharee, access string, now time.Time) (storage.Collection, string, error) {
	c, grants, err := shareTarget(s, owner, collection, sharee, access)
	if err != nil {
		return c, "", err
	}
	g, had := grants[sharee]
	if had && g.Status == StatusAccepted {
		if g.Access == access {
			return c, "", nil
		}
		return c, grantValue(StatusAccepted, access, g.Since), nil
	}
	if !had || g.Status != StatusInvited {
		pending, err := SharedWith(s, sharee)
		if err != nil {
			return c, "", err
		}
		n := 0
		for _, sh := range pending {
			if sh.Status == StatusInvited {
				n++
			}
		}
		if n >= MaxPendingInvites {
			return c, "", fmt.Errorf("%w: %s has %d invitations waiting, the most; they must answer some first", ErrTooManyInvites, sharee, n)
		}
	}
	return c, grantValue(StatusInvited, access, now), nil
}

// Reply is sharee's answer to an invitation to owner's collection: accept
// turns it into a grant with the invited access; decline keeps a declined
// mark (the owner sees the answer, and the sharee's home stays as it was).
// An accepted grant can be declined too (the sharee leaves the share); a
// declined one is accepted only after a new invitation; a grant that is
// not there is ErrBadShare.
func Reply(ctx context.Context, s ShareStore, sharee, owner, collection string, accept bool, now time.Time) (Share, error) {
	c, err := s.Collection(owner, collection)
	if err != nil {
		return Share{}, fmt.Errorf("%w: no invitation to %s/%s", ErrBadShare, owner, collection)
	}
	g, ok := AllGrants(c)[sharee]
	if !ok {
		return Share{}, fmt.Errorf("%w: no invitation to %s/%s for %s", ErrBadShare, owner, collection, sharee)
	}
	g.Owner = owner
	status := StatusDeclined
	if accept {
		status = StatusAccepted
	}
	if g.Status == status {
		return g, nil
	}
	if accept && g.Status == StatusDeclined {
		return Share{}, fmt.Errorf("%w: you declined %s/%s; %s must invite you again", ErrBadShare, owner, collection, owner)
	}
	g.Status, g.Since = status, now
	return g, putGrant(ctx, s, c, owner, sharee, grantValue(status, g.Access, now))
}

// ReplySeen dismisses the owner's notification of sharee's answer to an
// invitation to owner's collection (the grant keeps its state). It returns
// ErrBadShare when there is no answer to dismiss.
func ReplySeen(ctx context.Context, s ShareStore, owner, collection, sharee string) error {
	c, err := s.Collection(owner, collection)
	if err != nil {
		return fmt.Errorf("%w: no answer from %s about %s/%s", ErrBadShare, sharee, owner, collection)
	}
	g, ok := AllGrants(c)[sharee]
	if !ok || g.Status == StatusInvited || g.Since.IsZero() {
		return fmt.Errorf("%w: no answer from %s about %s/%s", ErrBadShare, sharee, owner, collection)
	}
	return putGrant(ctx, s, c, owner, sharee, grantValue(g.Status, g.Access, time.Time{}))
}

// shareTarget checks a share request and returns the collection and its
// grants (access "": a removal, whose sharee need not be an account any more).
func shareTarget(s ShareStore, owner, collection, sharee, access string) (storage.Collection, map[string]Share, error) {
	if access != "" && access != ShareRead && access != ShareReadWrite {
		return storage.Collection{}, nil, fmt.Errorf("%w: access %q (want read or read-write)", ErrBadShare, access)
	}
	if owner == sharee {
		return storage.Collection{}, nil, fmt.Errorf("%w: %s owns %s already", ErrBadShare, owner, collection)
	}
	c, err := s.Collection(owner, collection)
	if err != nil {
		return c, nil, err
	}
	if c.Kind != "calendar" && c.Kind != "addressbook" {
		return c, nil, fmt.Errorf("%w: %s/%s is a %s; only address books and calendars are shared", ErrBadShare, owner, collection, c.Kind)
	}
	grants := AllGrants(c)
	if access == "" {
		return c, grants, nil
	}
	if _, err := s.Principal(sharee); err != nil {
		return c, nil, fmt.Errorf("%w: no account %s", ErrBadShare, sharee)
	}
	if _, ok := grants[sharee]; !ok && len(grants) >= MaxSharees {
		return c, nil, fmt.Errorf("%w: %s/%s is shared with %d accounts already, the most", ErrBadShare, owner, collection, MaxSharees)
	}
	return c, grants, nil
}

func putGrant(ctx context.Context, s ShareStore, c storage.Collection, owner, sharee, value string) error {
	_, err := s.Commit(ctx, storage.Change{Op: storage.OpSetProps, Principal: owner, Collection: c.Name,
		Props: map[string][]byte{ShareKey(sharee): []byte(value)}})
	return err
}

// Unshare takes sharee's grant or invitation to owner's collection back.
func Unshare(ctx context.Context, s ShareStore, owner, collection, sharee string) error {
	c, grants, err := shareTarget(s, owner, collection, sharee, "")
	if err != nil {
		return err
	}
	if _, ok := grants[sharee]; !ok {
		return fmt.Errorf("%w: %s/%s is not shared with %s", ErrBadShare, owner, collection, sharee)
	}
	_, err = s.Commit(ctx, storage.Change{Op: storage.OpSetProps, Principal: owner, Collection: c.Name, Remove: []string{ShareKey(sharee)}})
	return err
}

// SharesOf lists the grants, in every state, of owner's collections (""
// owner: every account's), sorted.
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
			for _, g := range AllGrants(c) {
				g.Owner = o
				out = append(out, g)
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

// SharedWith lists the grants to sharee, in every state (callers that
// give access keep StatusAccepted ones).
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

// dropGrantsTo removes every grant, in any state, that names sharee: the
// shares of a deleted account of that name (a deleted account's grants stay
// with the owners' collections, so an undo of the deletion finds them).
func dropGrantsTo(ctx context.Context, s ShareStore, sharee string) error {
	shares, err := SharedWith(s, sharee)
	if err != nil {
		return err
	}
	for _, sh := range shares {
		if _, err := s.Commit(ctx, storage.Change{Op: storage.OpSetProps, Principal: sh.Owner, Collection: sh.Collection, Remove: []string{ShareKey(sharee)}}); err != nil {
			return err
		}
	}
	return nil
}
