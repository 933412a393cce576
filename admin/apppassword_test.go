package admin

import (
	"context"
	"strings"
	"testing"

	"github.com/pimvault/pimvault/account"
	"github.com/pimvault/pimvault/storage"
)

// What 'app-password-revoke' and 'recovery-status' say about devices: the
// label of the app password each signs in with, which devices a revocation
// marked, and what the recovery still waits for, in each of the three cases
// (others still waited for; nothing waited for but no report; closed).
func TestAppPasswordRevokeOutput(t *testing.T) {
	ctx := context.Background()
	_, s := openStore(t)
	if err := account.AddUser(ctx, s, "anna", "anna's password"); err != nil {
		t.Fatal(err)
	}
	ids := map[string]string{}
	for _, label := range []string{"Anna's iPhone", "iPad", "laptop"} {
		id, _, err := account.AddAppPassword(ctx, s, "anna", label)
		if err != nil {
			t.Fatal(err)
		}
		ids[label] = id
	}
	for dev, label := range map[string]string{"phone-1": "Anna's iPhone", "ipad-1": "iPad", "laptop-1": "laptop"} {
		if err := s.SeeDeviceAs(ctx, "anna", dev, storage.DeviceCredential{AppPasswordID: ids[label], AppPasswordLabel: label}); err != nil {
			t.Fatal(err)
		}
	}
	run := func(name string, req Request, want ...string) string {
		t.Helper()
		res, err := Run(ctx, name, s, req)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for _, w := range want {
			if !strings.Contains(res.Output, w) {
				t.Fatalf("%s: want %q in\n%s", name, w, res.Output)
			}
		}
		return res.Output
	}
	run("app-password-list", Request{User: "anna"}, "\tAnna's iPhone\t", "devices: phone-1")
	run("recovery-open", Request{User: "anna"}, "RECOVERING")
	run("recovery-status", Request{User: "anna"}, `phone-1 ("Anna's iPhone")`, `waiting for: 3 device(s) ipad-1 ("iPad"), laptop-1 ("laptop"), phone-1 ("Anna's iPhone")`)

	run("app-password-revoke", Request{User: "anna", ID: ids["Anna's iPhone"]},
		`devices marked (revoked credential): phone-1 ("Anna's iPhone", app password revoked)`,
		`anna stays RECOVERING, no longer waiting for these devices; still waiting for: ipad-1 ("iPad"), laptop-1 ("laptop")`)
	run("recovery-status", Request{User: "anna"}, "app password revoked", `waiting for: 2 device(s) ipad-1 ("iPad"), laptop-1 ("laptop")`)

	if _, err := s.ReportRecoveryDone(ctx, "anna", "ipad-1", storage.DefaultRecoveryDeviceWindow); err != nil {
		t.Fatal(err)
	}
	run("app-password-revoke", Request{User: "anna", ID: ids["laptop"]}, "laptop-1", "recovery of anna closed")

	if _, err := Run(ctx, "app-password-revoke", s, Request{User: "anna", ID: ids["laptop"]}); err == nil {
		t.Fatal("a second revoke of the same app password succeeded")
	}

	// A recovery in which no device reported: revoking the app password of
	// the only device waited for leaves it open, and says how to close it.
	if err := account.AddUser(ctx, s, "ben", "ben's password"); err != nil {
		t.Fatal(err)
	}
	id, _, err := account.AddAppPassword(ctx, s, "ben", "Ben's phone")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SeeDeviceAs(ctx, "ben", "phone-2", storage.DeviceCredential{AppPasswordID: id, AppPasswordLabel: "Ben's phone"}); err != nil {
		t.Fatal(err)
	}
	run("recovery-open", Request{User: "ben"}, "RECOVERING")
	run("app-password-revoke", Request{User: "ben", ID: id}, `phone-2 ("Ben's phone", app password revoked)`,
		"ben stays RECOVERING", "no device has reported", "pimvault recovery close --user ben")
	run("recovery-status", Request{User: "ben"}, "state: RECOVERING", "waiting for: 0 device(s)")
}
