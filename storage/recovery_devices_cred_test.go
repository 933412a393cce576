package storage

import (
	"context"
	"slices"
	"strings"
	"testing"
)

// TestDeviceCredential: the registry records which app password a device
// signs in with (journalled, so it survives a reopen), writes a change of
// credential at once but nothing for a repeat within the hour, and shows
// the label in listings.
func TestDeviceCredential(t *testing.T) {
	ctx := context.Background()
	s, dir := openTestStore(t, Options{})
	seedCollection(t, s, "anna", "contacts")
	iphone := DeviceCredential{AppPasswordID: "a1", AppPasswordLabel: "Anna's iPhone"}
	if err := s.SeeDeviceAs(ctx, "anna", "phone", iphone); err != nil {
		t.Fatal(err)
	}
	head := s.Head()
	if err := s.SeeDeviceAs(ctx, "anna", "phone", iphone); err != nil || s.Head() != head {
		t.Fatalf("a repeat within the hour wrote a record (err %v)", err)
	}
	st, err := s.PrincipalState("anna")
	if err != nil {
		t.Fatal(err)
	}
	d := st.Devices["phone"]
	if d.AppPasswordID != "a1" || d.AppPasswordLabel != "Anna's iPhone" {
		t.Fatalf("device record %+v", d)
	}
	if got := d.Label("phone"); got != `phone ("Anna's iPhone")` {
		t.Fatalf("label %q", got)
	}
	// Another app password is written at once; the account password clears it.
	if err := s.SeeDeviceAs(ctx, "anna", "phone", DeviceCredential{AppPasswordID: "a2", AppPasswordLabel: "new phone"}); err != nil || s.Head() != head+1 {
		t.Fatalf("a new credential was not written at once (err %v, head %d→%d)", err, head, s.Head())
	}
	if err := s.SeeDevice(ctx, "anna", "phone"); err != nil || s.Head() != head+2 {
		t.Fatalf("the account password was not written at once (err %v)", err)
	}
	if st, _ := s.PrincipalState("anna"); st.Devices["phone"].AppPasswordID != "" || st.Devices["phone"].Label("phone") != "phone" {
		t.Fatalf("after the account password: %+v", st.Devices["phone"])
	}
	if err := s.SeeDeviceAs(ctx, "anna", "phone", iphone); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s2, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	st, err = s2.PrincipalState("anna")
	if err != nil || st.Devices["phone"].AppPasswordLabel != "Anna's iPhone" {
		t.Fatalf("after a reopen: %+v %v", st.Devices["phone"], err)
	}
	checkIntegrity(t, s2)
}

func revoke(t *testing.T, s *Store, principal, id string) CredentialRevocation {
	t.Helper()
	var out CredentialRevocation
	if _, err := s.Commit(context.Background(), CredentialRevokedChange(principal, id, DefaultRecoveryDeviceWindow, &out)); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestCredentialRevokedRecovery: revoking an app password marks the devices
// that used it; a recovery stops waiting for them and closes when the
// others have reported; a request recorded after the revocation with the
// revoked id does not clear the mark, a new credential does.
func TestCredentialRevokedRecovery(t *testing.T) {
	ctx := context.Background()
	s, _ := openTestStore(t, Options{})
	seedCollection(t, s, "anna", "contacts")
	iphone := DeviceCredential{AppPasswordID: "a1", AppPasswordLabel: "Anna's iPhone"}
	for dev, cred := range map[string]DeviceCredential{"phone": iphone, "ipad": iphone, "laptop": {}} {
		if err := s.SeeDeviceAs(ctx, "anna", dev, cred); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.OpenRecovery(ctx, "anna", "test", ""); err != nil {
		t.Fatal(err)
	}
	if closed, err := s.ReportRecoveryDone(ctx, "anna", "laptop", DefaultRecoveryDeviceWindow); err != nil || closed {
		t.Fatalf("the laptop's report closed the recovery while the phone and the ipad wait (err %v)", err)
	}
	if out := revoke(t, s, "anna", "other-id"); len(out.Devices) != 0 || out.Closed || !slices.Equal(out.Waiting, []string{"ipad", "phone"}) {
		t.Fatalf("revoking an unused app password: %+v", out)
	}
	out := revoke(t, s, "anna", "a1")
	if !slices.Equal(out.Devices, []string{"ipad", "phone"}) || !out.Closed || out.Recovering || len(out.Waiting) != 0 {
		t.Fatalf("revocation: %+v", out)
	}
	st, err := s.PrincipalState("anna")
	if err != nil {
		t.Fatal(err)
	}
	if st.Recovery.Recovering || !strings.Contains(st.Recovery.CloseReason, "revoked") {
		t.Fatalf("recovery after the revocation: %+v", st.Recovery)
	}
	if got := st.Devices["phone"].Label("phone"); got != `phone ("Anna's iPhone", app password revoked)` {
		t.Fatalf("label of a revoked device: %q", got)
	}
	head := s.Head()
	if out := revoke(t, s, "anna", "a1"); len(out.Devices) != 0 || s.Head() != head {
		t.Fatalf("a second revocation changed something: %+v", out)
	}

	// A request checked before the revocation and recorded after it.
	if _, err := s.OpenRecovery(ctx, "anna", "again", ""); err != nil {
		t.Fatal(err)
	}
	if err := s.SeeDeviceAs(ctx, "anna", "phone", iphone); err != nil {
		t.Fatal(err)
	}
	st, _ = s.PrincipalState("anna")
	if st.Devices["phone"].CredentialRevoked.IsZero() {
		t.Fatal("the revoked id cleared the mark")
	}
	// (The laptop's report of the first recovery may fall in the second
	// this one opened, so only the phone is looked at.)
	if w := DevicesWaiting(st, DefaultRecoveryDeviceWindow, stateNow()); slices.Contains(w, "phone") {
		t.Fatalf("waiting %v: the revoked phone is waited for", w)
	}
	// The phone gets a new app password: it is waited for again.
	if err := s.SeeDeviceAs(ctx, "anna", "phone", DeviceCredential{AppPasswordID: "a3", AppPasswordLabel: "Anna's iPhone (new)"}); err != nil {
		t.Fatal(err)
	}
	st, _ = s.PrincipalState("anna")
	if w := DevicesWaiting(st, DefaultRecoveryDeviceWindow, stateNow()); !slices.Contains(w, "phone") {
		t.Fatalf("waiting %v, want the phone among them", w)
	}
	if got := DeviceLabels(st, []string{"laptop", "phone", "gone"}); !slices.Equal(got, []string{"laptop", `phone ("Anna's iPhone (new)")`, "gone"}) {
		t.Fatalf("labels %q", got)
	}
}

// TestCredentialRevokedNoReport: when the revoked devices were the only
// ones and none reported, the recovery stays open (nothing shows the data
// came back) and says so; a store that knows no devices stays open too.
func TestCredentialRevokedNoReport(t *testing.T) {
	ctx := context.Background()
	s, _ := openTestStore(t, Options{})
	seedCollection(t, s, "anna", "contacts")
	if err := s.SeeDeviceAs(ctx, "anna", "phone", DeviceCredential{AppPasswordID: "a1", AppPasswordLabel: "phone"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.OpenRecovery(ctx, "anna", "test", ""); err != nil {
		t.Fatal(err)
	}
	out := revoke(t, s, "anna", "a1")
	if out.Closed || !out.NoReport || !out.Recovering || len(out.Waiting) != 0 {
		t.Fatalf("revocation: %+v", out)
	}
	if rs, _ := s.RecoveryState("anna"); !rs.Recovering {
		t.Fatal("the recovery closed with no device's report")
	}
	// Outside a recovery only the mark is written.
	if _, err := s.CloseRecovery(ctx, "anna", "admin"); err != nil {
		t.Fatal(err)
	}
	if err := s.SeeDeviceAs(ctx, "anna", "tablet", DeviceCredential{AppPasswordID: "a2", AppPasswordLabel: "tablet"}); err != nil {
		t.Fatal(err)
	}
	out = revoke(t, s, "anna", "a2")
	if !slices.Equal(out.Devices, []string{"tablet"}) || out.Recovering || out.Closed {
		t.Fatalf("revocation outside a recovery: %+v", out)
	}
}
