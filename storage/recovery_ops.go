package storage

import (
	"context"
	"fmt"
	"sort"
	"time"
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
func (s *Store) OpenRecovery(ctx context.Context, principal, reason, epoch string) (opened bool, err error) {
	t := stateNow()
	_, err = s.UpdatePrincipalState(ctx, principal, func(st *PrincipalState) error {
		opened = false
		if !st.Recovery.Recovering {
			st.Recovery.Recovering, st.Recovery.Reason, st.Recovery.Since = true, reason, t
			st.Recovery.Pending = nil
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
	st.Recovery.Pending = nil
}

// SeeDevice records that a device made an authenticated request, writing
// its last-seen time at most once per DeviceSeenInterval. A device the
// registry does not admit (see admitDevice) is not recorded:
// ErrDeviceNotAdmitted.
func (s *Store) SeeDevice(ctx context.Context, principal, device string) error {
	if err := ValidateDeviceID(device); err != nil {
		return err
	}
	t := stateNow()
	var added, refused bool
	_, err := s.UpdatePrincipalState(ctx, principal, func(st *PrincipalState) error {
		added, refused = false, false
		d, ok := st.Devices[device]
		if ok && t.Sub(d.LastSeen) < DeviceSeenInterval {
			return nil
		}
		if !ok {
			if !admitDevice(st, t) {
				refused = true
				return nil
			}
			d.FirstSeen, added = t, true
		}
		d.LastSeen = t
		st.Devices[device] = d
		return nil
	})
	if err == nil && added {
		s.log.Info("new device", "user", principal, "device", device)
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
		recorded = true
		waiting = len(DevicesWaiting(*st, window, t))
		if waiting == 0 {
			closeRecovery(st, fmt.Sprintf("every device seen in the last %s reported", window), t)
			closed = true
		}
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("recovery report of %s: %w", principal, err)
	}
	if recorded {
		s.log.Info("device reported recovery done", "user", principal, "device", device, "devices_waiting", waiting)
	}
	if closed {
		s.log.Info("recovery closed: every recently seen device reported", "user", principal, "window", window)
	}
	return closed, nil
}

// DevicesWaiting lists the devices seen within window before t that have not
// reported for the current recovery.
func DevicesWaiting(st PrincipalState, window time.Duration, t time.Time) []string {
	var out []string
	for id, d := range st.Devices {
		if !d.LastSeen.Before(t.Add(-window)) && !d.ReportedFor(st.Recovery.Since) {
			out = append(out, id)
		}
	}
	sort.Strings(out)
	return out
}
