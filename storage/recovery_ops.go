package storage

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"time"

	bolt "go.etcd.io/bbolt"
)

// The transitions of a principal's recovery state. Each is one
// OpPrincipalState change whose rules run inside the write; each transition
// that happens is logged.

// DeviceSeenInterval is how often a device's last-seen time is written: a
// request from a device whose last-seen is more recent writes nothing.
const DeviceSeenInterval = time.Hour

func stateNow() time.Time { return time.Now().UTC().Truncate(time.Second) }

// OpenRecovery makes a principal RECOVERING for reason, or, when it already
// is, adds epoch (the epoch of the token that showed the loss, "" when none)
// to the recovery's pending epochs. It reports whether the principal became
// RECOVERING by this call.
//
// The devices known before the loss are the registry's (it is journalled,
// so a store restored from a backup, its journal or the stream has it).
// A store that cannot know them — its registry is empty, or the token
// that showed the loss is of an epoch this store never had (the store was
// rebuilt from nothing) — marks the recovery NoKnownDevices: no device's
// report closes it until an admin names the devices to wait for.
func (s *Store) OpenRecovery(ctx context.Context, principal, reason, epoch string) (opened bool, err error) {
	t := stateNow()
	foreign := false
	if epoch != "" {
		h, err := s.EpochHistory()
		if err != nil {
			return false, fmt.Errorf("open recovery of %s: %w", principal, err)
		}
		_, earlier := h.Earlier[epoch]
		foreign = epoch != h.Current && !earlier
	}
	_, err = s.UpdatePrincipalState(ctx, principal, func(st *PrincipalState) error {
		opened = false
		if !st.Recovery.Recovering {
			st.Recovery.Recovering, st.Recovery.Reason, st.Recovery.Since = true, reason, t
			st.Recovery.Pending, st.Recovery.Expected = nil, nil
			st.Recovery.NoKnownDevices = foreign || len(st.Devices) == 0
			opened = true
		}
		st.Recovery.Pending = AddEpoch(st.Recovery.Pending, epoch)
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("open recovery of %s: %w", principal, err)
	}
	if opened {
		s.log.Warn("principal is RECOVERING: stock clients get 503 until the recovery closes", "user", principal, "reason", reason)
	}
	return opened, nil
}

// CloseRecovery ends a principal's recovery; the epochs that opened it are
// accepted from now on (see RecoveryState.Accepted). It reports whether the
// principal was RECOVERING.
func (s *Store) CloseRecovery(ctx context.Context, principal, reason string) (closed bool, err error) {
	t := stateNow()
	_, err = s.UpdatePrincipalState(ctx, principal, func(st *PrincipalState) error {
		closed = st.Recovery.Recovering
		if closed {
			closeRecovery(st, reason, t)
		}
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("close recovery of %s: %w", principal, err)
	}
	if closed {
		s.log.Info("recovery closed: the account is served normally again", "user", principal, "reason", reason)
	}
	return closed, nil
}

func closeRecovery(st *PrincipalState, reason string, t time.Time) {
	st.Recovery.Recovering = false
	st.Recovery.Closed, st.Recovery.CloseReason = t, reason
	for _, e := range st.Recovery.Pending {
		st.Recovery.Accepted = AddEpoch(st.Recovery.Accepted, e)
	}
	st.Recovery.Pending, st.Recovery.Expected, st.Recovery.NoKnownDevices = nil, nil, false
}

// SeeDevice records that a device made a request signed in with the
// account password (SeeDeviceAs).
func (s *Store) SeeDevice(ctx context.Context, principal, device string) error {
	return s.SeeDeviceAs(ctx, principal, device, DeviceCredential{})
}

// SeeDeviceAs records that a device made an authenticated request with
// cred, writing its last-seen time at most once per DeviceSeenInterval (a
// change of credential is written at once). A device the registry does not
// admit (see admitDevice) is not recorded: ErrDeviceNotAdmitted.
func (s *Store) SeeDeviceAs(ctx context.Context, principal, device string, cred DeviceCredential) error {
	if err := ValidateDeviceID(device); err != nil {
		return err
	}
	t := stateNow()
	var added, refused, switched bool
	_, err := s.UpdatePrincipalState(ctx, principal, func(st *PrincipalState) error {
		added, refused, switched = false, false, false
		d, ok := st.Devices[device]
		if ok && t.Sub(d.LastSeen) < DeviceSeenInterval && !d.credentialDiffers(cred) {
			return nil
		}
		switched = ok && d.credentialDiffers(cred)
		if !ok {
			if !admitDevice(st, t) {
				refused = true
				return nil
			}
			d.FirstSeen, added = t, true
		}
		d.LastSeen = t
		d.noteCredential(cred)
		st.Devices[device] = d
		return nil
	})
	if err == nil && added {
		s.log.Info("new device", "user", principal, "device", device, "app_password", cred.AppPasswordLabel)
	}
	if err == nil && switched {
		s.log.Info("device signs in with another credential", "user", principal, "device", device, "app_password", cred.AppPasswordLabel)
	}
	if err == nil && refused {
		return ErrDeviceNotAdmitted
	}
	return err
}

// ReportRecoveryDone records that a device finished reconciling a principal.
// Outside recovery it changes nothing. When every device seen within window
// before now has reported for the current recovery, the recovery closes.
// It reports whether the recovery closed by this call.
func (s *Store) ReportRecoveryDone(ctx context.Context, principal, device string, window time.Duration) (closed bool, err error) {
	if err := ValidateDeviceID(device); err != nil {
		return false, err
	}
	t := stateNow()
	var recorded bool
	var waiting int
	var label string
	_, err = s.UpdatePrincipalState(ctx, principal, func(st *PrincipalState) error {
		closed, recorded, waiting = false, false, 0
		if !st.Recovery.Recovering {
			return nil
		}
		d, ok := st.Devices[device]
		if !ok {
			if !admitDevice(st, t) {
				return nil // not waited on, and no room: its report changes nothing
			}
			d.FirstSeen = t
		}
		d.LastSeen, d.Reported = t, t
		st.Devices[device] = d
		label = d.AppPasswordLabel
		recorded = true
		waiting = len(DevicesWaiting(*st, window, t))
		if waiting == 0 && !st.Recovery.NoKnownDevices {
			closeRecovery(st, fmt.Sprintf("every device seen in the last %s reported", window), t)
			closed = true
		}
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("recovery report of %s: %w", principal, err)
	}
	if recorded {
		s.log.Info("device reported recovery done", "user", principal, "device", device, "app_password", label, "devices_waiting", waiting)
		if !closed && waiting == 0 {
			s.log.Warn("recovery stays open: this store does not know which devices the account had before the loss; name them with 'pimvault recovery expect' or close it with 'pimvault recovery close'", "user", principal)
		}
	}
	if closed {
		s.log.Info("recovery closed: every recently seen device reported", "user", principal, "window", window)
	}
	return closed, nil
}

// DevicesWaiting lists the devices that have not reported for the current
// recovery among those seen within window before t and those expected
// (RecoveryState.Expected). A device whose app password was revoked is not
// among them: it cannot sign in to report.
func DevicesWaiting(st PrincipalState, window time.Duration, t time.Time) []string {
	var out []string
	for id, d := range st.Devices {
		if !d.LastSeen.Before(t.Add(-window)) && !d.ReportedFor(st.Recovery.Since) && d.CredentialRevoked.IsZero() {
			out = append(out, id)
		}
	}
	for _, id := range st.Recovery.Expected {
		if _, ok := st.Devices[id]; !ok {
			out = append(out, id)
		} else if d := st.Devices[id]; d.LastSeen.Before(t.Add(-window)) && !d.ReportedFor(st.Recovery.Since) && d.CredentialRevoked.IsZero() {
			out = append(out, id)
		}
	}
	sort.Strings(out)
	return out
}

// ExpectDevices adds devices to the list a principal's recovery waits for
// (the devices known before the loss, from an admin or an earlier copy of
// the store) and clears NoKnownDevices. When every device waited for has
// then reported, the recovery closes. It reports whether it closed, and
// the devices still waited for.
func (s *Store) ExpectDevices(ctx context.Context, principal string, devices []string, window time.Duration) (closed bool, waiting []string, err error) {
	for _, id := range devices {
		if err := ValidateDeviceID(id); err != nil {
			return false, nil, err
		}
	}
	t := stateNow()
	_, err = s.UpdatePrincipalState(ctx, principal, func(st *PrincipalState) error {
		closed, waiting = false, nil
		if !st.Recovery.Recovering {
			return fmt.Errorf("%s is not RECOVERING: %w", principal, ErrInvalidChange)
		}
		for _, id := range devices {
			if !slices.Contains(st.Recovery.Expected, id) {
				st.Recovery.Expected = append(st.Recovery.Expected, id)
			}
		}
		if len(st.Recovery.Expected) > MaxDevices {
			return fmt.Errorf("more than %d devices expected: %w", MaxDevices, ErrInvalidChange)
		}
		sort.Strings(st.Recovery.Expected)
		st.Recovery.NoKnownDevices = false
		waiting = DevicesWaiting(*st, window, t)
		if len(waiting) == 0 {
			closeRecovery(st, "every device known before the loss reported", t)
			closed = true
		}
		return nil
	})
	if err != nil {
		return false, nil, fmt.Errorf("expect devices for %s: %w", principal, err)
	}
	if closed {
		s.log.Info("recovery closed: every device known before the loss reported", "user", principal)
	}
	return closed, waiting, nil
}

// DevicesInCopy lists the devices a principal had in another copy of a
// store: a backup file, an older store.db or a data directory (its
// store.db), opened read-only. It is how
// an admin gives a store rebuilt from nothing the list of devices known
// before the loss.
func DevicesInCopy(path, principal string) ([]string, error) {
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		path = filepath.Join(path, dbFile) // a data directory: its store.db
	}
	var ids []string
	err := viewReadOnly(path, func(tx *bolt.Tx) error {
		data := tx.Bucket(bktData)
		if data == nil {
			return fmt.Errorf("%s holds no pimvault data: %w", path, ErrInvalidChange)
		}
		p := data.Bucket([]byte(principal))
		if p == nil {
			return fmt.Errorf("%s: user %s: %w", path, principal, ErrNotFound)
		}
		st, err := decodeState(p.Bucket(bktState))
		if err != nil {
			return err
		}
		for id := range st.Devices {
			ids = append(ids, id)
		}
		return nil
	})
	sort.Strings(ids)
	return ids, err
}
