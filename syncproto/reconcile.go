package syncproto

import "strconv"

// ServerKind is the server's state of one item (one href) during recovery.
type ServerKind uint8

// The server states. The zero value is ServerAbsent.
const (
	// ServerAbsent: no object and no tombstone. During recovery this is
	// not evidence of deletion (invariant 3): the store may have lost it.
	ServerAbsent ServerKind = iota
	// ServerPresent: the store holds the object, with Server.ETag.
	ServerPresent
	// ServerTombstoned: the store holds a deletion record for the name and
	// no object.
	ServerTombstoned
)

// DeviceKind is a device replica's state of one item.
type DeviceKind uint8

// The device states. The zero value is DeviceAbsent.
const (
	// DeviceAbsent: the device has no record of the item.
	DeviceAbsent DeviceKind = iota
	// DevicePresent: the device holds a body with Device.ETag; it last
	// synced Device.LastSyncedETag ("" if never synced: created on the
	// device) and Device.Dirty says whether it changed it since.
	DevicePresent
	// DeviceAppliedDeletion: the device held the item and applied a
	// deletion the server reported.
	DeviceAppliedDeletion
	// DeviceDeletedLocally: the device deleted the item and the server has
	// not confirmed the deletion yet. Device.LastSyncedETag is the ETag
	// the device last synced ("" if it never reached the server).
	DeviceDeletedLocally
)

// Server describes the server side of one item.
type Server struct {
	Kind ServerKind
	ETag string // when Kind is ServerPresent
}

// Device describes the device side of one item.
type Device struct {
	Kind           DeviceKind
	ETag           string // hash of the local body, computed as the server computes ETags; DevicePresent only
	LastSyncedETag string // the ETag at the last sync with the server; "" if none
	Dirty          bool   // changed locally since the last sync; DevicePresent only
	// SeenETags are earlier ETags the device synced for this item, before
	// LastSyncedETag. A server copy whose ETag is among them is an older
	// version (a server restored from an old snapshot, or rebuilt by a
	// device that was behind), not a change made after the device's last
	// sync: the device's newer copy is uploaded over it.
	SeenETags []string
}

// Action is what recovery does for one item.
type Action uint8

// The actions. The zero value is Nothing.
const (
	// Nothing: no transfer. The caller settles its bookkeeping (marks an
	// identical copy as synced, forgets a deletion both sides agree on).
	Nothing Action = iota
	// Upload: PUT the device's copy to the server.
	Upload
	// Download: replace (or create) the device's copy with the server's.
	Download
	// DeleteOnServer: record the deletion on the server: a tombstone,
	// written even when the server holds no object, so that a stale copy
	// on another device cannot bring the item back.
	DeleteOnServer
	// DeleteOnDevice: delete the device's (clean) copy.
	DeleteOnDevice
	// KeepBoth: a conflict. Save the device's copy on the server as a new
	// item beside the server's, and download the server's to the device.
	KeepBoth
)

var actionNames = [...]string{
	Nothing:        "nothing",
	Upload:         "upload",
	Download:       "download",
	DeleteOnServer: "delete-on-server",
	DeleteOnDevice: "delete-on-device",
	KeepBoth:       "keep-both",
}

// String returns a short lowercase name, e.g. "delete-on-server".
func (a Action) String() string {
	if int(a) < len(actionNames) {
		return actionNames[a]
	}
	return "Action(" + strconv.Itoa(int(a)) + ")"
}

// Reconcile decides what recovery does with one item (docs/ARCHITECTURE.md,
// "Sync tokens and recovery"). It is pure and total: every input gets an
// action, and an input it does not understand (an out-of-range kind) gets
// Nothing, which destroys nothing.
// Empty ETags never compare equal to anything.
//
// "The device changed it" means Dirty, or a body that differs from the last
// synced one, or a body that was never synced: when the device's flags
// disagree, its copy is treated as changed, so that its data is never the
// one that is dropped. "The server changed it" means the server's ETag is
// not the last synced one.
//
//	server \ device  absent     present                      applied deletion   deleted locally
//	absent           Nothing    Upload                       DeleteOnServer     DeleteOnServer (Nothing if never synced)
//	present          Download   see below                    DeleteOnServer     server unchanged: DeleteOnServer;
//	                                                                            changed: Download
//	tombstoned       Nothing    device changed: Upload;      Nothing            Nothing
//	                            else DeleteOnDevice
//
// Both present: identical ETags → Nothing; both changed → KeepBoth; only
// the device changed → Upload; only the server changed → Download. A server
// ETag among Device.SeenETags is an older version, not a change: the
// device's copy is uploaded over it (a rollback must not undo the edits
// the devices synced after the snapshot).
//
// The rules behind the table:
//   - Absence on the server is not deletion: whatever the device holds is
//     uploaded (this rebuilds a lost server from its devices), and a
//     deletion the device knows of is recorded again as a tombstone.
//   - Nothing deleted comes back: a server copy of an item whose deletion
//     the device applied is deleted again.
//   - An edit wins over a deletion, so nothing is lost: a dirty copy meets a
//     tombstone → Upload; a local deletion meets a server edit → Download.
//   - Two edits keep both.
//
// One case cannot be told apart from the inputs: a server copy that another
// device uploaded during this recovery with an offline edit made after the
// deletion this device applied. It is deleted again (the rule above); which
// happens first decides, because a tombstone recorded first makes the other
// device's dirty copy meet the tombstone → Upload.
func Reconcile(s Server, d Device) Action {
	switch d.Kind {
	case DeviceAbsent:
		if s.Kind == ServerPresent {
			return Download
		}
		return Nothing
	case DevicePresent:
		return reconcilePresent(s, d)
	case DeviceAppliedDeletion:
		switch s.Kind {
		case ServerAbsent, ServerPresent:
			return DeleteOnServer
		}
		return Nothing
	case DeviceDeletedLocally:
		switch s.Kind {
		case ServerAbsent:
			if d.LastSyncedETag == "" {
				return Nothing // never reached the server: nothing to record
			}
			return DeleteOnServer
		case ServerPresent:
			if sameETag(s.ETag, d.LastSyncedETag) || d.seen(s.ETag) {
				return DeleteOnServer
			}
			return Download
		}
		return Nothing
	}
	return Nothing
}

func reconcilePresent(s Server, d Device) Action {
	deviceChanged := d.Dirty || !sameETag(d.ETag, d.LastSyncedETag)
	switch s.Kind {
	case ServerAbsent:
		return Upload
	case ServerTombstoned:
		if deviceChanged {
			return Upload
		}
		return DeleteOnDevice
	case ServerPresent:
		if sameETag(s.ETag, d.ETag) {
			return Nothing
		}
		serverChanged := !sameETag(s.ETag, d.LastSyncedETag) && !d.seen(s.ETag)
		switch {
		case deviceChanged && serverChanged:
			return KeepBoth
		case deviceChanged, !serverChanged:
			// The server holds the last synced version or an older one
			// the device has seen: the device's copy is newer.
			return Upload
		default:
			// The device is clean, so its body is the last synced one;
			// the server's differs from it, so the server changed.
			return Download
		}
	}
	return Nothing
}

// seen reports whether etag is one of the device's earlier synced ETags.
func (d Device) seen(etag string) bool {
	for _, e := range d.SeenETags {
		if sameETag(e, etag) {
			return true
		}
	}
	return false
}

// sameETag compares ETags; an empty ETag (unknown) equals nothing.
func sameETag(a, b string) bool { return a != "" && a == b }
