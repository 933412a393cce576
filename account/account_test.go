package account

import (
	"context"
	"errors"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/pimvault/pimvault/storage"
)

// TestAccountLifecycle: an account is created once, its password checks,
// a password change and a disable take effect at once, and bad input
// changes nothing.
func TestAccountLifecycle(t *testing.T) {
	HashCost = bcrypt.MinCost
	ctx := context.Background()
	s, err := storage.Open(t.TempDir(), storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	get := func() Account {
		t.Helper()
		p, err := s.Principal("ann")
		if err != nil {
			t.Fatal(err)
		}
		a, err := Decode(p)
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	head := s.Head()
	if err := AddUser(ctx, s, "ann", "short"); !errors.Is(err, ErrBadPassword) {
		t.Fatalf("short password: %v", err)
	}
	if err := AddUser(ctx, s, "bad/name", "long enough"); !errors.Is(err, storage.ErrInvalidName) {
		t.Fatalf("bad name: %v", err)
	}
	if s.Head() != head {
		t.Fatalf("refused adds wrote %d records", s.Head()-head)
	}
	if err := AddUser(ctx, s, "ann", "first password"); err != nil {
		t.Fatal(err)
	}
	if err := AddUser(ctx, s, "ann", "other password"); !errors.Is(err, storage.ErrExists) {
		t.Fatalf("second add: %v", err)
	}
	if a := get(); !a.PasswordMatches("first password") || a.PasswordMatches("other password") || a.Disabled {
		t.Fatalf("after add: %+v", a)
	}
	if err := SetPassword(ctx, s, "ann", "second password"); err != nil {
		t.Fatal(err)
	}
	if a := get(); !a.PasswordMatches("second password") || a.PasswordMatches("first password") {
		t.Fatal("password change did not take")
	}
	if err := SetDisabled(ctx, s, "ann", true); err != nil {
		t.Fatal(err)
	}
	if !get().Disabled {
		t.Fatal("not disabled")
	}
	if err := SetPassword(ctx, s, "nobody", "long enough"); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("password of an unknown user: %v", err)
	}
	if pw := GeneratePassword(); len(pw) != 20 || checkPassword(pw) != nil {
		t.Fatalf("generated password %q", pw)
	}
	if rep, err := s.Verify(ctx); err != nil || !rep.OK() {
		t.Fatalf("verify: %v %v", err, rep)
	}
}

func TestValidateName(t *testing.T) {
	for _, ok := range []string{"alice", "bob.smith", "b-o_b", "ann@example.org", "Zoë", strings.Repeat("a", MaxNameLen)} {
		if err := ValidateName(ok); err != nil {
			t.Errorf("%q refused: %v", ok, err)
		}
	}
	for name, why := range map[string]string{
		"bad name":                        "space",
		"tab\tname":                       "space",
		"a:b":                             `':'`,
		"a/b":                             `'/'`,
		"a\\b":                            `'\\'`,
		"a%2f":                            `'%'`,
		"bell\x07":                        "control",
		"":                                "empty",
		"..":                              "not allowed",
		strings.Repeat("a", MaxNameLen+1): "bytes long",
	} {
		err := ValidateName(name)
		if !errors.Is(err, ErrBadName) || !strings.Contains(err.Error(), why) {
			t.Errorf("%q: %v, want ErrBadName saying %s", name, err, why)
		}
	}
}

func TestSetEmails(t *testing.T) {
	st, err := storage.Open(t.TempDir(), storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	for _, u := range []string{"alice", "bob"} {
		if err := AddUser(ctx, st, u, "password1"); err != nil {
			t.Fatal(err)
		}
	}
	if err := SetEmails(ctx, st, "alice", []string{"MAILTO:Alice@Example.org", "alice@example.org", "a2@example.org"}); err != nil {
		t.Fatal(err)
	}
	p, _ := st.Principal("alice")
	a, _ := Decode(p)
	if strings.Join(a.Emails, ",") != "alice@example.org,a2@example.org" {
		t.Fatalf("emails %v", a.Emails)
	}
	head := st.Head()
	for _, bad := range [][]string{{"not-an-address"}, {"x@"}, {"<a@b.c>"}, {"a@b.c d"}} {
		if err := SetEmails(ctx, st, "bob", bad); !errors.Is(err, ErrBadEmail) {
			t.Errorf("%q: %v", bad, err)
		}
	}
	if err := SetEmails(ctx, st, "bob", []string{"alice@example.org"}); !errors.Is(err, ErrBadEmail) || !strings.Contains(err.Error(), "account alice") {
		t.Errorf("another account's address: %v", err)
	}
	if st.Head() != head {
		t.Error("a refused address was written")
	}
}
