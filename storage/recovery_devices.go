package storage

import (
	"errors"
	"fmt"
	"sort"
	"time"
)

// ErrDeviceNotAdmitted: SeeDevice did not record a new device, because the
// principal's registry takes no newcomer now (see admitDevice). The device
// is served as usual; only its record waits.
var ErrDeviceNotAdmitted = errors.New("device not recorded: the account's device registry takes no new device now")

// Who gets into a principal's device registry. The registry is what a
// recovery waits on: it closes by itself once every device seen within the
// window has reported. A client that could fill it with made-up ids (any
// X-Pimvault-Device value is a valid id) could push the real devices out,
// and a recovery waiting on them would close without them, or they would
// not be waited on at the next one. So:
//
//   - At most NewDevicesPerDay devices enter a principal's registry per day
//     (by their FirstSeen). Past that a new id is served as usual but not
//     recorded; it is recorded on a later request, once there is room.
//   - A full registry (MaxDevices) makes room only by dropping a device not
//     seen for DeviceRetention, least recently seen first. A registry full
//     of devices seen more recently takes no newcomer.
//   - While the principal is RECOVERING nothing is dropped: every device
//     the recovery waits on, or that has reported to it, stays.
const (
	NewDevicesPerDay = 8
	DeviceRetention  = DefaultRecoveryDeviceWindow
)

// admitDevice reports whether a device not yet in st may be added at t,
// dropping a stale device to make room when that is allowed.
func admitDevice(st *PrincipalState, t time.Time) bool {
	recent := 0
	for _, d := range st.Devices {
		if !d.FirstSeen.Before(t.Add(-24 * time.Hour)) {
			recent++
		}
	}
	if recent >= NewDevicesPerDay {
		return false
	}
	if len(st.Devices) < MaxDevices {
		return true
	}
	if st.Recovery.Recovering {
		return false
	}
	ids := make([]string, 0, len(st.Devices))
	for id, d := range st.Devices {
		if d.LastSeen.Before(t.Add(-DeviceRetention)) {
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return false
	}
	sort.Slice(ids, func(i, j int) bool {
		a, b := st.Devices[ids[i]], st.Devices[ids[j]]
		if !a.LastSeen.Equal(b.LastSeen) {
			return a.LastSeen.Before(b.LastSeen)
		}
		return ids[i] < ids[j]
	})
	delete(st.Devices, ids[0])
	return true
}

// DeviceCredential is what a device's request signed in with: an app
// password, by its id and label, or the account password (the zero value).
type DeviceCredential struct {
	AppPasswordID    string
	AppPasswordLabel string
}

// credentialDiffers reports whether recording cred would change d.
func (d DeviceInfo) credentialDiffers(cred DeviceCredential) bool {
	next := d
	next.noteCredential(cred)
	return next.AppPasswordID != d.AppPasswordID || next.AppPasswordLabel != d.AppPasswordLabel ||
		!next.CredentialRevoked.Equal(d.CredentialRevoked)
}

// noteCredential records cred as the device's credential. A device marked
// revoked stays marked until it signs in with another credential: a request
// checked just before the revocation and recorded just after it carries the
// revoked app password's id, and must not clear the mark. App password ids
// are random and never reused, so that id cannot sign in again.
func (d *DeviceInfo) noteCredential(cred DeviceCredential) {
	if !d.CredentialRevoked.IsZero() && cred.AppPasswordID == d.AppPasswordID {
		return
	}
	d.AppPasswordID, d.AppPasswordLabel, d.CredentialRevoked = cred.AppPasswordID, cred.AppPasswordLabel, time.Time{}
}

// Label is how listings name a device: its id, and the label of the app
// password it signs in with when there is one.
func (d DeviceInfo) Label(id string) string {
	switch {
	case d.AppPasswordLabel == "":
		return id
	case !d.CredentialRevoked.IsZero():
		return fmt.Sprintf("%s (%q, app password revoked)", id, d.AppPasswordLabel)
	}
	return fmt.Sprintf("%s (%q)", id, d.AppPasswordLabel)
}

// DeviceLabels names each id as DeviceInfo.Label does (an id the registry
// does not hold, such as an expected device, by itself).
func DeviceLabels(st PrincipalState, ids []string) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = st.Devices[id].Label(id)
	}
	return out
}

// CredentialRevocation is what revoking an app password did to the device
// registry (CredentialRevokedChange).
type CredentialRevocation struct {
	// Devices are the devices that signed in with it, now marked revoked.
	Devices []string
	// Recovering: the principal is RECOVERING (after this change, unless
	// Closed). Waiting lists the devices its recovery still waits for.
	Recovering bool
	Waiting    []string
	// Closed: the marked devices were the last ones waited for, at least
	// one device had reported, and the recovery closed.
	Closed bool
	// NoReport: nothing is waited for any more but no device has reported
	// for this recovery, so it stays open for an admin to close.
	NoReport bool
}

// CredentialRevokedChange is the change to commit when app password id of
// principal has been revoked: the devices that signed in with it are marked
// (DeviceInfo.CredentialRevoked) and a recovery stops waiting for them,
// since they cannot sign in to report. When that leaves nothing to wait for
// and some device has reported for the recovery, it closes, as it would
// have at that device's report had the revoked ones never been seen; when
// no device has reported at all, nothing shows the lost data came back, and
// the recovery stays open. out is filled when the change is committed.
// Marking the same id again changes nothing.
func CredentialRevokedChange(principal, id string, window time.Duration, out *CredentialRevocation) Change {
	return Change{Op: OpPrincipalState, Principal: principal, UpdateState: func(st *PrincipalState) error {
		*out = CredentialRevocation{}
		if id == "" {
			return nil
		}
		t := stateNow()
		for dev, d := range st.Devices {
			if d.AppPasswordID == id && d.CredentialRevoked.IsZero() {
				d.CredentialRevoked = t
				st.Devices[dev] = d
				out.Devices = append(out.Devices, dev)
			}
		}
		sort.Strings(out.Devices)
		if !st.Recovery.Recovering {
			return nil
		}
		out.Recovering = true
		out.Waiting = DevicesWaiting(*st, window, t)
		if len(out.Devices) == 0 || len(out.Waiting) > 0 || st.Recovery.NoKnownDevices {
			return nil
		}
		reported := false
		for _, d := range st.Devices {
			reported = reported || d.ReportedFor(st.Recovery.Since)
		}
		if !reported {
			out.NoReport = true
			return nil
		}
		closeRecovery(st, fmt.Sprintf("every device seen in the last %s reported; the others' app passwords were revoked", window), t)
		out.Recovering, out.Closed = false, true
		return nil
	}}
}
