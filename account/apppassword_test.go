package account

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/pimvault/pimvault/storage"
)

// TestAppPasswords: a token is shown once and stored only as its hash, matches
// its own account only, is listed with its label and last use, and stops
// matching once revoked; bad input changes nothing.
func TestAppPasswords(t *testing.T) {
	HashCost = bcrypt.MinCost
	ctx := context.Background()
	s, err := storage.Open(t.TempDir(), storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		rep, err := s.Verify(ctx)
		if err != nil || !rep.OK() {
			t.Errorf("store does not verify: %v %v", err, rep)
		}
		s.Close()
	}()
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
	if err := AddUser(ctx, s, "ann", "ann's password"); err != nil {
		t.Fatal(err)
	}
	head := s.Head()
	for _, bad := range []string{"", strings.Repeat("x", 101), "tab\there", "\xff"} {
		if _, _, err := AddAppPassword(ctx, s, "ann", bad); !errors.Is(err, ErrBadLabel) {
			t.Errorf("label %q: %v, want ErrBadLabel", bad, err)
		}
	}
	if _, _, err := AddAppPassword(ctx, s, "nobody", "phone"); !errors.Is(err, storage.ErrNotFound) {
		t.Errorf("unknown user: %v", err)
	}
	if s.Head() != head {
		t.Fatalf("refused input changed the store")
	}

	id1, tok1, err := AddAppPassword(ctx, s, "ann", "Anna's iPhone")
	if err != nil {
		t.Fatal(err)
	}
	id2, tok2, err := AddAppPassword(ctx, s, "ann", "laptop")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(tok1, appTokenPrefix) || len(tok1) != len(appTokenPrefix)+32 || tok1 == tok2 || id1 == id2 {
		t.Fatalf("tokens %q %q ids %q %q", tok1, tok2, id1, id2)
	}
	p, _ := s.Principal("ann")
	if strings.Contains(string(p.Data), tok1) || strings.Contains(string(p.Data), strings.TrimPrefix(tok1, appTokenPrefix)) {
		t.Fatalf("the token itself is stored: %s", p.Data)
	}
	a := get()
	if ap, ok := a.MatchAppPassword(tok1); !ok || ap.ID != id1 {
		t.Errorf("token 1 does not match its app password: %+v %v", ap, ok)
	}
	for _, wrong := range []string{"", "ann's password", tok1 + "x", tok1[:len(tok1)-1], strings.ToUpper(tok1)} {
		if _, ok := a.MatchAppPassword(wrong); ok {
			t.Errorf("%q matched an app password", wrong)
		}
	}
	if a.PasswordMatches(tok1) {
		t.Errorf("an app password works as the account password")
	}

	// Last use: noted once, then not again within the hour.
	ap, _ := a.MatchAppPassword(tok1)
	now := time.Now()
	if err := NoteAppPasswordUse(ctx, s, "ann", ap, now); err != nil {
		t.Fatal(err)
	}
	head = s.Head()
	ap, _ = get().MatchAppPassword(tok1)
	if err := NoteAppPasswordUse(ctx, s, "ann", ap, now.Add(time.Minute)); err != nil || s.Head() != head {
		t.Errorf("a second note within the hour wrote: %v, head %d -> %d", err, head, s.Head())
	}
	list, err := AppPasswords(s, "ann")
	if err != nil || len(list) != 2 || list[0].Label != "Anna's iPhone" || list[0].LastUsed.IsZero() || !list[1].LastUsed.IsZero() {
		t.Fatalf("list: %+v %v", list, err)
	}

	// Revoke: the token stops matching, the other stays; a late note of the
	// revoked one does not bring it back.
	if _, err := RevokeAppPassword(ctx, s, "ann", id1); err != nil {
		t.Fatal(err)
	}
	if _, err := RevokeAppPassword(ctx, s, "ann", id1); !errors.Is(err, ErrNoAppPassword) {
		t.Errorf("second revoke: %v", err)
	}
	head = s.Head()
	if err := NoteAppPasswordUse(ctx, s, "ann", ap, now.Add(2*time.Hour)); err != nil || s.Head() != head {
		t.Errorf("a note of a revoked app password wrote: %v", err)
	}
	a = get()
	if _, ok := a.MatchAppPassword(tok1); ok {
		t.Errorf("a revoked token still matches")
	}
	if _, ok := a.MatchAppPassword(tok2); !ok {
		t.Errorf("revoking one app password revoked another")
	}
	if !a.PasswordMatches("ann's password") {
		t.Errorf("the account password stopped working")
	}
}

// The sign-in Verifier takes an app password as a cheap Secret: it signs in
// (without bcrypt), a disabled account still refuses it, and after revoking
// it no longer signs in.
func TestVerifierAppPassword(t *testing.T) {
	HashCost = bcrypt.MinCost
	ctx := context.Background()
	s, err := storage.Open(t.TempDir(), storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := AddUser(ctx, s, "ann", "ann's password"); err != nil {
		t.Fatal(err)
	}
	id, tok, err := AddAppPassword(ctx, s, "ann", "phone")
	if err != nil {
		t.Fatal(err)
	}
	acct := func() Account {
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
	v := NewVerifier(1)
	if ok, err := v.Verify(ctx, "ann", tok, acct(), true, nil); !ok || err != nil {
		t.Errorf("app password: %v %v", ok, err)
	}
	if ok, _ := v.Verify(ctx, "ann", tok+"x", acct(), true, nil); ok {
		t.Errorf("a wrong token signed in")
	}
	a := acct()
	a.Disabled = true
	if ok, _ := v.Verify(ctx, "ann", tok, a, true, nil); ok {
		t.Errorf("a disabled account signed in with an app password")
	}
	if _, err := RevokeAppPassword(ctx, s, "ann", id); err != nil {
		t.Fatal(err)
	}
	if ok, _ := v.Verify(ctx, "ann", tok, acct(), true, nil); ok {
		t.Errorf("a revoked app password signed in")
	}
}

// Revoking an app password marks the devices that signed in with it, and a
// recovery that waited only for them among the unreported closes; an id
// removed from the account by an interrupted revocation still marks its
// devices when revoked again.
func TestRevokeMarksDevices(t *testing.T) {
	HashCost = bcrypt.MinCost
	ctx := context.Background()
	s, err := storage.Open(t.TempDir(), storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := AddUser(ctx, s, "ann", "ann's password"); err != nil {
		t.Fatal(err)
	}
	id1, _, err := AddAppPassword(ctx, s, "ann", "Anna's iPhone")
	if err != nil {
		t.Fatal(err)
	}
	id2, _, err := AddAppPassword(ctx, s, "ann", "laptop")
	if err != nil {
		t.Fatal(err)
	}
	see := func(dev, id, label string) {
		t.Helper()
		if err := s.SeeDeviceAs(ctx, "ann", dev, storage.DeviceCredential{AppPasswordID: id, AppPasswordLabel: label}); err != nil {
			t.Fatal(err)
		}
	}
	see("phone", id1, "Anna's iPhone")
	see("laptop", id2, "laptop")
	if _, err := s.OpenRecovery(ctx, "ann", "test", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ReportRecoveryDone(ctx, "ann", "laptop", storage.DefaultRecoveryDeviceWindow); err != nil {
		t.Fatal(err)
	}
	out, err := RevokeAppPassword(ctx, s, "ann", id1)
	if err != nil || len(out.Devices) != 1 || out.Devices[0] != "phone" || !out.Closed {
		t.Fatalf("revoke: %+v %v", out, err)
	}
	if rs, _ := s.RecoveryState("ann"); rs.Recovering {
		t.Fatal("the recovery still waits for a device that cannot sign in")
	}

	// Interrupted: the account write happened, the registry's did not.
	see("tablet", id2, "laptop")
	if err := updateAccount(ctx, s, "ann", func(a *Account) error {
		a.AppPasswords = a.AppPasswords[:0]
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	out, err = RevokeAppPassword(ctx, s, "ann", id2)
	if err != nil || strings.Join(out.Devices, ",") != "laptop,tablet" {
		t.Fatalf("revoke after an interruption: %+v %v", out, err)
	}
	if _, err := RevokeAppPassword(ctx, s, "ann", id2); !errors.Is(err, ErrNoAppPassword) {
		t.Fatalf("revoke of a gone id with nothing left to mark: %v", err)
	}
	st, err := s.PrincipalState("ann")
	if err != nil {
		t.Fatal(err)
	}
	for _, dev := range []string{"phone", "laptop", "tablet"} {
		if st.Devices[dev].CredentialRevoked.IsZero() {
			t.Errorf("%s not marked revoked", dev)
		}
	}
	rep, err := s.Verify(ctx)
	if err != nil || !rep.OK() {
		t.Errorf("store does not verify: %v %v", err, rep)
	}
}
