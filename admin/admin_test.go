package admin

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/pimvault/pimvault/account"
	"github.com/pimvault/pimvault/storage"
)

func openStore(t *testing.T) (string, *storage.Store) {
	t.Helper()
	account.HashCost = bcrypt.MinCost
	dir := t.TempDir()
	s, err := storage.Open(dir, storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if rep, err := s.Verify(context.Background()); err != nil || !rep.OK() {
			t.Errorf("verify: %v %v", err, rep)
		}
		s.Close()
	})
	return dir, s
}

// TestSocketRoundTrip runs commands through the socket with typed requests:
// a user is created with a given password, listed, disabled; dry-run is a
// bool that reaches prune and undo alike.
func TestSocketRoundTrip(t *testing.T) {
	ctx := context.Background()
	dir, s := openStore(t)
	sock, err := Listen(dir, s, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer sock.Close()

	res, err := Call(ctx, dir, "user-add", Request{User: "alice", Password: "a long password"})
	if err != nil || !strings.Contains(res.Output, "user alice created") || strings.Contains(res.Output, "password:") {
		t.Fatalf("user-add: %+v %v", res, err)
	}
	p, err := s.Principal("alice")
	if err != nil {
		t.Fatal(err)
	}
	a, err := account.Decode(p)
	if err != nil || !a.PasswordMatches("a long password") || a.Disabled {
		t.Fatalf("account after user-add: %+v %v", a, err)
	}
	if _, err := Call(ctx, dir, "user-disable", Request{User: "alice"}); err != nil {
		t.Fatal(err)
	}
	res, err = Call(ctx, dir, "user-list", Request{})
	if err != nil || !strings.Contains(res.Output, "alice\tdisabled") {
		t.Fatalf("user-list: %+v %v", res, err)
	}
	// A generated password is printed once.
	res, err = Call(ctx, dir, "user-add", Request{User: "bob"})
	if err != nil || !strings.Contains(res.Output, "password: ") {
		t.Fatalf("user-add without password: %+v %v", res, err)
	}
	head := s.Head()
	res, err = Call(ctx, dir, "undo", Request{User: "alice", ToSeq: 1, DryRun: true})
	if err != nil || s.Head() != head {
		t.Fatalf("undo dry-run changed the store (head %d -> %d): %+v %v", head, s.Head(), res, err)
	}
	if _, err := Call(ctx, dir, "prune", Request{}); err == nil || !strings.Contains(err.Error(), "positive duration") {
		t.Fatalf("prune without retention: %v", err)
	}
	if _, err := Call(ctx, dir, "no-such", Request{}); err == nil || !strings.Contains(err.Error(), "known: app-password-add, app-password-list, app-password-revoke, backup, drill") {
		t.Fatalf("unknown command: %v", err)
	}
}

// TestCommandTable: every command in the table runs offline through Run and
// answers without panicking on an empty request.
func TestCommandTable(t *testing.T) {
	_, s := openStore(t)
	for name := range commands {
		if name == "rebuild" {
			continue // replaces store.db under the open store; cmd/pimvault tests it
		}
		if _, err := Run(context.Background(), name, s, Request{}); err == nil && strings.HasPrefix(name, "user-") && name != "user-list" {
			t.Errorf("%s with no user succeeded", name)
		}
	}
}
