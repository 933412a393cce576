package storage

import (
	"context"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

// TestRecoveryWaitsForKnownDevices: a store that cannot know the devices
// of an account (rebuilt from nothing: the token that showed the loss is of
// an epoch it never had) does not close the recovery at the first device's
// report; it closes once every device an admin (or an older copy of the
// store) names has reported.
func TestRecoveryWaitsForKnownDevices(t *testing.T) {
	ctx := context.Background()

	// The lost store: alice had a phone and a laptop; a backup of it
	// survives.
	old, _ := openTestStore(t, Options{})
	seedCollection(t, old, "alice", "contacts")
	for _, d := range []string{"phone", "laptop"} {
		if err := old.SeeDevice(ctx, "alice", d); err != nil {
			t.Fatal(err)
		}
	}
	backup := filepath.Join(t.TempDir(), "pv.db")
	if _, err := old.Snapshot(ctx, backup); err != nil {
		t.Fatal(err)
	}
	lostEpoch, _, _ := old.Epoch()

	// A new store with the account recreated: the phone comes first.
	s, _ := openTestStore(t, Options{})
	seedCollection(t, s, "alice", "contacts")
	if err := s.SeeDevice(ctx, "alice", "phone"); err != nil {
		t.Fatal(err)
	}
	if opened, err := s.OpenRecovery(ctx, "alice", "sync token of an unknown epoch", lostEpoch); err != nil || !opened {
		t.Fatalf("open: %v %v", opened, err)
	}
	if rs, _ := s.RecoveryState("alice"); !rs.NoKnownDevices {
		t.Fatalf("a recovery opened by a foreign epoch's token knows its devices: %+v", rs)
	}
	closed, err := s.ReportRecoveryDone(ctx, "alice", "phone", time.Hour)
	if err != nil || closed {
		t.Fatalf("the first device's report closed the recovery of a rebuilt store: closed %v err %v", closed, err)
	}
	if rs, _ := s.RecoveryState("alice"); !rs.Recovering {
		t.Fatal("alice is not RECOVERING after the first report")
	}

	// The admin gives the list from the surviving backup.
	ids, err := DevicesInCopy(backup, "alice")
	if err != nil || !reflect.DeepEqual(ids, []string{"laptop", "phone"}) {
		t.Fatalf("devices in the backup: %v %v", ids, err)
	}
	if _, err := DevicesInCopy(backup, "nobody"); err == nil {
		t.Fatal("devices of a user the backup lacks: no error")
	}
	closed, waiting, err := s.ExpectDevices(ctx, "alice", ids, time.Hour)
	if err != nil || closed || !reflect.DeepEqual(waiting, []string{"laptop"}) {
		t.Fatalf("expect: closed %v waiting %v err %v", closed, waiting, err)
	}
	if _, _, err := s.ExpectDevices(ctx, "alice", []string{"bad id"}, time.Hour); err == nil {
		t.Fatal("a malformed device id was accepted")
	}
	closed, err = s.ReportRecoveryDone(ctx, "alice", "laptop", time.Hour)
	if err != nil || !closed {
		t.Fatalf("every known device reported: closed %v err %v", closed, err)
	}
	rs, _ := s.RecoveryState("alice")
	if rs.Recovering || len(rs.Expected) != 0 || rs.NoKnownDevices || len(rs.Accepted) != 1 || rs.Accepted[0] != lostEpoch {
		t.Fatalf("after the close: %+v", rs)
	}
	if _, _, err := s.ExpectDevices(ctx, "alice", []string{"phone"}, time.Hour); err == nil {
		t.Fatal("expect outside a recovery: no error")
	}
	checkIntegrity(t, s)
}

// TestRecoveryKnownRegistry: on a store whose registry came with its own
// history, the devices in it are the ones known before the loss, and an
// expected device that was never seen holds the close up too.
func TestRecoveryKnownRegistry(t *testing.T) {
	ctx := context.Background()
	s, _ := openTestStore(t, Options{})
	seedCollection(t, s, "alice", "contacts")
	if err := s.SeeDevice(ctx, "alice", "phone"); err != nil {
		t.Fatal(err)
	}
	cur, _, _ := s.Epoch()
	if _, err := s.OpenRecovery(ctx, "alice", "token ahead of head", cur); err != nil {
		t.Fatal(err)
	}
	if rs, _ := s.RecoveryState("alice"); rs.NoKnownDevices {
		t.Fatalf("a store with its own registry does not know its devices: %+v", rs)
	}
	if _, waiting, err := s.ExpectDevices(ctx, "alice", []string{"watch"}, time.Hour); err != nil || !reflect.DeepEqual(waiting, []string{"phone", "watch"}) {
		t.Fatalf("expect watch: waiting %v err %v", waiting, err)
	}
	if closed, err := s.ReportRecoveryDone(ctx, "alice", "phone", time.Hour); err != nil || closed {
		t.Fatalf("phone reported, watch expected: closed %v err %v", closed, err)
	}
	if closed, err := s.ReportRecoveryDone(ctx, "alice", "watch", time.Hour); err != nil || !closed {
		t.Fatalf("both reported: closed %v err %v", closed, err)
	}
	checkIntegrity(t, s)
}

// TestDevicesInDataDirectory: the devices of an older data directory (a
// stopped store) are read from its store.db.
func TestDevicesInDataDirectory(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	seedCollection(t, s, "alice", "contacts")
	if err := s.SeeDevice(ctx, "alice", "tablet"); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if ids, err := DevicesInCopy(dir, "alice"); err != nil || !reflect.DeepEqual(ids, []string{"tablet"}) {
		t.Fatalf("devices in %s: %v %v", dir, ids, err)
	}
}
