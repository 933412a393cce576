package storage

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

// TestDeviceRotationCannotFlushRegistry: a client sending a new device id
// on every request gets NewDevicesPerDay ids recorded, no more; the real
// devices stay, a recovery waiting on them does not close without them,
// and the journal does not grow per id.
func TestDeviceRotationCannotFlushRegistry(t *testing.T) {
	ctx := context.Background()
	s, _ := openTestStore(t, Options{})
	seedCollection(t, s, "alice", "contacts")
	for _, d := range []string{"phone", "laptop"} {
		if err := s.SeeDevice(ctx, "alice", d); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.OpenRecovery(ctx, "alice", "test", ""); err != nil {
		t.Fatal(err)
	}
	head := s.Head()
	refused := 0
	for i := range 500 {
		err := s.SeeDevice(ctx, "alice", fmt.Sprintf("rot-%d", i))
		if errors.Is(err, ErrDeviceNotAdmitted) {
			refused++
		} else if err != nil {
			t.Fatal(err)
		}
	}
	st, err := s.PrincipalState("alice")
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Devices) != NewDevicesPerDay || refused != 500-(NewDevicesPerDay-2) {
		t.Fatalf("%d devices recorded, %d refused; want %d recorded", len(st.Devices), refused, NewDevicesPerDay)
	}
	if _, ok := st.Devices["phone"]; !ok {
		t.Fatal("the real phone was pushed out of the registry")
	}
	if grew := s.Head() - head; grew > NewDevicesPerDay {
		t.Fatalf("500 rotated ids wrote %d records", grew)
	}
	// Reports from made-up ids never close the recovery while the phone has not reported.
	for i := range 100 {
		if closed, err := s.ReportRecoveryDone(ctx, "alice", fmt.Sprintf("rep-%d", i), DefaultRecoveryDeviceWindow); err != nil || closed {
			t.Fatalf("report %d: closed=%v err=%v", i, closed, err)
		}
	}
	if rs, _ := s.RecoveryState("alice"); !rs.Recovering {
		t.Fatal("made-up devices closed the recovery")
	}
}

// TestAdmitDevice: who gets into a full registry.
func TestAdmitDevice(t *testing.T) {
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	full := func(lastSeen time.Time) *PrincipalState {
		st := &PrincipalState{Devices: map[string]DeviceInfo{}}
		for i := range MaxDevices {
			st.Devices[fmt.Sprintf("d%02d", i)] = DeviceInfo{FirstSeen: now.Add(-400 * 24 * time.Hour), LastSeen: lastSeen.Add(time.Duration(i) * time.Second)}
		}
		return st
	}
	if st := full(now.Add(-time.Hour)); admitDevice(st, now) || len(st.Devices) != MaxDevices {
		t.Fatal("a registry of recently seen devices took a newcomer")
	}
	st := full(now.Add(-DeviceRetention - time.Hour))
	if !admitDevice(st, now) || len(st.Devices) != MaxDevices-1 {
		t.Fatal("a registry of stale devices made no room")
	}
	if _, ok := st.Devices["d00"]; ok {
		t.Fatal("the room made was not the least recently seen device's")
	}
	st = full(now.Add(-DeviceRetention - time.Hour))
	st.Recovery.Recovering = true
	if admitDevice(st, now) || len(st.Devices) != MaxDevices {
		t.Fatal("a device was dropped during a recovery")
	}
	st = &PrincipalState{Devices: map[string]DeviceInfo{}}
	for i := range NewDevicesPerDay {
		st.Devices[fmt.Sprint(i)] = DeviceInfo{FirstSeen: now.Add(-time.Hour), LastSeen: now}
	}
	if admitDevice(st, now) {
		t.Fatal("more than NewDevicesPerDay new devices in a day")
	}
	if !admitDevice(st, now.Add(24*time.Hour)) {
		t.Fatal("no new device the next day")
	}
}
