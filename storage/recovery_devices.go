package storage

import (
	"errors"
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
