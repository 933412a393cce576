package account

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/pimvault/pimvault/storage"
)

func shareStore(t *testing.T, users ...string) *storage.Store {
	t.Helper()
	s, err := storage.Open(t.TempDir(), storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	ctx := context.Background()
	for _, u := range users {
		if err := AddUser(ctx, s, u, "password-"+u); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

func mkCol(t *testing.T, s *storage.Store, user, name, kind string) {
	t.Helper()
	if _, err := s.Commit(context.Background(), storage.Change{Op: storage.OpCreateCollection, Principal: user, Collection: name, Kind: kind}); err != nil {
		t.Fatal(err)
	}
}

func grantOf(t *testing.T, s *storage.Store, owner, col, sharee string) Share {
	t.Helper()
	c, err := s.Collection(owner, col)
	if err != nil {
		t.Fatal(err)
	}
	return AllGrants(c)[sharee]
}

// TestInviteReply: an invitation gives no access until accepted; a decline
// is kept and needs a new invitation to be accepted; an accepted grant
// changes access without a new acceptance; the administrator's SetShare
// grants at once; removal works in every state.
func TestInviteReply(t *testing.T) {
	s := shareStore(t, "ann", "ben")
	mkCol(t, s, "ann", "cal", "calendar")
	ctx := context.Background()
	now := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	if err := Invite(ctx, s, "ann", "cal", "ben", ShareReadWrite, now); err != nil {
		t.Fatal(err)
	}
	g := grantOf(t, s, "ann", "cal", "ben")
	if g.Status != StatusInvited || g.Access != ShareReadWrite || !g.Since.Equal(now) {
		t.Fatalf("invitation: %+v", g)
	}
	c, _ := s.Collection("ann", "cal")
	if len(Grants(c)) != 0 {
		t.Fatalf("an invitation gives access: %v", Grants(c))
	}
	if _, err := Reply(ctx, s, "ann", "ann", "cal", true, now); !errors.Is(err, ErrBadShare) {
		t.Errorf("the owner answering an invitation to nobody: %v", err)
	}
	if _, err := Reply(ctx, s, "ben", "ann", "nope", true, now); !errors.Is(err, ErrBadShare) {
		t.Errorf("a reply to a missing collection: %v", err)
	}
	if _, err := Reply(ctx, s, "ben", "ann", "cal", false, now); err != nil {
		t.Fatal(err)
	}
	if g := grantOf(t, s, "ann", "cal", "ben"); g.Status != StatusDeclined || !g.Since.Equal(now) {
		t.Fatalf("declined, the owner not told yet: %+v", g)
	}
	if err := ReplySeen(ctx, s, "ann", "cal", "ben"); err != nil {
		t.Fatal(err)
	}
	if g := grantOf(t, s, "ann", "cal", "ben"); g.Status != StatusDeclined || !g.Since.IsZero() {
		t.Fatalf("declined, the owner told: %+v", g)
	}
	if err := ReplySeen(ctx, s, "ann", "cal", "ben"); !errors.Is(err, ErrBadShare) {
		t.Errorf("dismissing an answer twice: %v", err)
	}
	head := s.Head()
	if _, err := Reply(ctx, s, "ben", "ann", "cal", true, now); !errors.Is(err, ErrBadShare) || !strings.Contains(err.Error(), "invite you again") {
		t.Errorf("accepting a declined invitation: %v", err)
	}
	if s.Head() != head {
		t.Error("a refused reply wrote to the store")
	}
	if err := Invite(ctx, s, "ann", "cal", "ben", ShareRead, now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := Reply(ctx, s, "ben", "ann", "cal", true, now); err != nil {
		t.Fatal(err)
	}
	c, _ = s.Collection("ann", "cal")
	if Grants(c)["ben"] != ShareRead || grantOf(t, s, "ann", "cal", "ben").Since.IsZero() {
		t.Fatalf("accepted, the owner not told yet: %v %+v", Grants(c), grantOf(t, s, "ann", "cal", "ben"))
	}
	if err := Invite(ctx, s, "ann", "cal", "ben", ShareReadWrite, now); err != nil {
		t.Fatal(err)
	}
	if g := grantOf(t, s, "ann", "cal", "ben"); g.Status != StatusAccepted || g.Access != ShareReadWrite {
		t.Fatalf("an accepted grant upgraded: %+v", g)
	}
	if err := Unshare(ctx, s, "ann", "cal", "ben"); err != nil {
		t.Fatal(err)
	}
	if err := Unshare(ctx, s, "ann", "cal", "ben"); !errors.Is(err, ErrBadShare) {
		t.Errorf("removing a missing grant: %v", err)
	}
	if err := SetShare(ctx, s, "ann", "cal", "ben", ShareRead); err != nil {
		t.Fatal(err)
	}
	if g := grantOf(t, s, "ann", "cal", "ben"); g.Status != StatusAccepted {
		t.Fatalf("SetShare: %+v", g)
	}
	for _, bad := range []struct{ owner, col, sharee, access string }{
		{"ann", "cal", "ann", ShareRead}, {"ann", "cal", "nobody", ShareRead}, {"ann", "cal", "ben", "admin"}, {"ann", "missing", "ben", ShareRead},
	} {
		if err := Invite(ctx, s, bad.owner, bad.col, bad.sharee, bad.access, now); err == nil {
			t.Errorf("Invite%v succeeded", bad)
		}
	}
}

// TestInvitePendingLimit: a sharee holds at most MaxPendingInvites
// invitations; answering one makes room; renewing one does not count.
func TestInvitePendingLimit(t *testing.T) {
	s := shareStore(t, "ann", "ben")
	ctx := context.Background()
	now := time.Now()
	for i := 0; i <= MaxPendingInvites; i++ {
		mkCol(t, s, "ann", fmt.Sprintf("c%02d", i), "addressbook")
	}
	for i := 0; i < MaxPendingInvites; i++ {
		if err := Invite(ctx, s, "ann", fmt.Sprintf("c%02d", i), "ben", ShareRead, now); err != nil {
			t.Fatal(err)
		}
	}
	last := fmt.Sprintf("c%02d", MaxPendingInvites)
	head := s.Head()
	if err := CheckInvite(s, "ann", last, "ben", ShareRead); !errors.Is(err, ErrTooManyInvites) {
		t.Errorf("CheckInvite over the limit: %v", err)
	}
	if err := CheckInvite(s, "ann", "c00", "ben", ShareReadWrite); err != nil {
		t.Errorf("CheckInvite renewing a pending invitation: %v", err)
	}
	if err := CheckInvite(s, "ann", last, "ben", ""); !errors.Is(err, ErrBadShare) {
		t.Errorf("CheckInvite removing a missing grant: %v", err)
	}
	if err := Invite(ctx, s, "ann", last, "ben", ShareRead, now); !errors.Is(err, ErrTooManyInvites) || !errors.Is(err, ErrBadShare) {
		t.Fatalf("invitation over the limit: %v", err)
	}
	if s.Head() != head {
		t.Fatal("a refused invitation wrote to the store")
	}
	if err := Invite(ctx, s, "ann", "c00", "ben", ShareReadWrite, now); err != nil {
		t.Errorf("renewing a pending invitation: %v", err)
	}
	if _, err := Reply(ctx, s, "ben", "ann", "c00", false, now); err != nil {
		t.Fatal(err)
	}
	if err := Invite(ctx, s, "ann", last, "ben", ShareRead, now); err != nil {
		t.Errorf("invitation after an answer made room: %v", err)
	}
}

// TestParseGrant: the grant values of every state, and values that are no
// grant (an older or damaged value gives no access).
func TestParseGrant(t *testing.T) {
	for _, c := range []struct {
		v, status, access string
		ok                bool
	}{
		{"read", StatusAccepted, ShareRead, true},
		{"read-write", StatusAccepted, ShareReadWrite, true},
		{"invited read 2026-12-03T10:00:00Z", StatusInvited, ShareRead, true},
		{"declined read-write", StatusDeclined, ShareReadWrite, true},
		{"declined read 2026-12-03T10:00:00Z", StatusDeclined, ShareRead, true},
		{"accepted read-write 2026-12-03T10:00:00Z", StatusAccepted, ShareReadWrite, true},
		{"accepted read-write", "", "", false},
		{"invited read", "", "", false},
		{"invited admin 2026-12-03T10:00:00Z", "", "", false},
		{"invited read yesterday", "", "", false},
		{"accepted read", "", "", false},
		{"", "", "", false},
		{"read ", "", "", false},
	} {
		status, access, _, ok := ParseGrant(c.v)
		if status != c.status || access != c.access || ok != c.ok {
			t.Errorf("ParseGrant(%q) = %q %q %v", c.v, status, access, ok)
		}
	}
}

// FuzzParseGrant: any stored value parses or is refused without panic, and
// what parses is written back the same.
func FuzzParseGrant(f *testing.F) {
	for _, s := range []string{"read", "read-write", "invited read 2026-12-03T10:00:00Z", "declined read", "accepted read 2026-12-03T10:00:00+01:00", "invited  read", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		status, access, since, ok := ParseGrant(v)
		if !ok {
			return
		}
		back := grantValue(status, access, since)
		s2, a2, t2, ok2 := ParseGrant(back)
		if !ok2 || s2 != status || a2 != access || !t2.Equal(since) {
			t.Fatalf("%q → %q does not read back", v, back)
		}
	})
}

// TestNewAccountInheritsNoShares: the shares given to a deleted account do
// not pass to a new account of the same name.
func TestNewAccountInheritsNoShares(t *testing.T) {
	s := shareStore(t, "ann", "ben")
	mkCol(t, s, "ann", "cal", "calendar")
	mkCol(t, s, "ann", "book", "addressbook")
	ctx := context.Background()
	if err := SetShare(ctx, s, "ann", "cal", "ben", ShareReadWrite); err != nil {
		t.Fatal(err)
	}
	if err := Invite(ctx, s, "ann", "book", "ben", ShareRead, time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := DeleteUser(ctx, s, "ben"); err != nil {
		t.Fatal(err)
	}
	if err := AddUser(ctx, s, "ben", "password-new-ben"); err != nil {
		t.Fatal(err)
	}
	if shares, err := SharedWith(s, "ben"); err != nil || len(shares) != 0 {
		t.Errorf("the new ben's shares: %+v %v", shares, err)
	}
	// An existing account is not touched by a refused AddUser.
	if err := SetShare(ctx, s, "ann", "cal", "ben", ShareRead); err != nil {
		t.Fatal(err)
	}
	if err := AddUser(ctx, s, "ben", "password-other"); err == nil {
		t.Fatal("AddUser of an existing account succeeded")
	}
	if shares, _ := SharedWith(s, "ben"); len(shares) != 1 {
		t.Errorf("a refused AddUser changed ben's shares: %+v", shares)
	}
}
