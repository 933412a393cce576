package server

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/pimvault/pimvault/account"
	"github.com/pimvault/pimvault/storage"
)

// directoryServer is a server on a real store with n accounts, each with
// one e-mail address.
func directoryServer(tb testing.TB, n int) (*Server, *storage.Store) {
	tb.Helper()
	old := account.HashCost
	account.HashCost = bcrypt.MinCost
	defer func() { account.HashCost = old }()
	st, err := storage.Open(tb.TempDir(), storage.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	ctx := context.Background()
	for i := range n {
		u := fmt.Sprintf("user%d", i)
		if err := account.AddUser(ctx, st, u, testPassword); err != nil {
			tb.Fatal(err)
		}
		if err := account.SetEmails(ctx, st, u, []string{u + "@example.org"}); err != nil {
			tb.Fatal(err)
		}
	}
	return New(st, Config{MailDomain: "example.org"}, slog.New(slog.NewTextHandler(io.Discard, nil))), st
}

// TestDirectoryCacheFollowsAccounts: the cached directory is reused while
// no account changes, and an e-mail address added, changed or removed, or
// an account created or deleted, is seen by the next lookup.
func TestDirectoryCacheFollowsAccounts(t *testing.T) {
	s, st := directoryServer(t, 3)
	ctx := context.Background()
	d1, err := s.loadDirectory()
	if err != nil {
		t.Fatal(err)
	}
	if d2, _ := s.loadDirectory(); d2 != d1 {
		t.Error("the directory was rebuilt without an account change")
	}
	if u, ok := d1.lookup("mailto:user1@example.org"); !ok || u != "user1" {
		t.Fatalf("lookup: %q %v", u, ok)
	}
	if err := account.SetEmails(ctx, st, "user1", []string{"first.last@example.org"}); err != nil {
		t.Fatal(err)
	}
	d3, _ := s.loadDirectory()
	if _, ok := d3.lookup("mailto:user1@example.org"); ok {
		t.Error("a removed address still resolves")
	}
	if u, ok := d3.lookup("mailto:First.Last@example.org"); !ok || u != "user1" {
		t.Errorf("a new address: %q %v", u, ok)
	}
	if err := account.AddUser(ctx, st, "newbie", testPassword); err != nil {
		t.Fatal(err)
	}
	if u, ok := mustDirectory(t, s).lookup("mailto:newbie@example.org"); !ok || u != "newbie" {
		t.Errorf("a new account (address from MailDomain): %q %v", u, ok)
	}
	if _, err := account.DeleteUser(ctx, st, "user2"); err != nil {
		t.Fatal(err)
	}
	if _, ok := mustDirectory(t, s).lookup("mailto:user2@example.org"); ok {
		t.Error("a deleted account still resolves")
	}
	// A rebuild from the journal keeps the directory right.
	if _, err := st.Rebuild(ctx); err != nil {
		t.Fatal(err)
	}
	if err := account.SetEmails(ctx, st, "user0", []string{"zero@example.org"}); err != nil {
		t.Fatal(err)
	}
	if u, ok := mustDirectory(t, s).lookup("mailto:zero@example.org"); !ok || u != "user0" {
		t.Errorf("after a rebuild and a change: %q %v", u, ok)
	}
}

func mustDirectory(t *testing.T, s *Server) *directory {
	t.Helper()
	d, err := s.loadDirectory()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// BenchmarkDirectory: building the scheduling directory from 1000 accounts
// (what every scheduling request did) against the cached one.
func BenchmarkDirectory(b *testing.B) {
	s, _ := directoryServer(b, 1000)
	b.Run("build", func(b *testing.B) {
		for b.Loop() {
			if _, err := s.buildDirectory(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("cached", func(b *testing.B) {
		for b.Loop() {
			if _, err := s.loadDirectory(); err != nil {
				b.Fatal(err)
			}
		}
	})
}
