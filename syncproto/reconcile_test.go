package syncproto

import "testing"

// Named cases: one per reconcile rule of docs/ARCHITECTURE.md ("Sync tokens
// and recovery"), and the edge cases between them.
func TestReconcileRules(t *testing.T) {
	present := func(etag string) Server { return Server{Kind: ServerPresent, ETag: etag} }
	tomb := Server{Kind: ServerTombstoned}
	absent := Server{Kind: ServerAbsent}
	onDevice := func(etag, last string, dirty bool) Device {
		return Device{Kind: DevicePresent, ETag: etag, LastSyncedETag: last, Dirty: dirty}
	}
	applied := Device{Kind: DeviceAppliedDeletion, LastSyncedETag: "v1"}
	deletedLocally := Device{Kind: DeviceDeletedLocally, LastSyncedETag: "v1"}

	tests := []struct {
		name string
		s    Server
		d    Device
		want Action
	}{
		{"only on device, clean: rebuild the server", absent, onDevice("v1", "v1", false), Upload},
		{"only on device, dirty", absent, onDevice("v2", "v1", true), Upload},
		{"only on device, never synced", absent, onDevice("v1", "", true), Upload},
		{"only on server, device applied its deletion", present("v1"), applied, DeleteOnServer},
		{"only on server, changed, device applied its deletion", present("v9"), applied, DeleteOnServer},
		{"both changed: keep both", present("v3"), onDevice("v2", "v1", true), KeepBoth},
		{"device dirty, server unchanged: upload", present("v1"), onDevice("v2", "v1", true), Upload},
		{"device clean, server changed: download", present("v2"), onDevice("v1", "v1", false), Download},
		{"deleted locally, server unchanged: delete on server", present("v1"), deletedLocally, DeleteOnServer},
		{"deleted locally, server changed: the edit wins", present("v2"), deletedLocally, Download},
		{"server tombstone, device clean: delete on device", tomb, onDevice("v1", "v1", false), DeleteOnDevice},
		{"server tombstone, device dirty: the edit is kept", tomb, onDevice("v2", "v1", true), Upload},
		{"identical ETags, clean", present("v1"), onDevice("v1", "v1", false), Nothing},
		{"identical ETags, dirty (same edit on both sides)", present("v2"), onDevice("v2", "v1", true), Nothing},
		{"identical ETags, never synced", present("v2"), onDevice("v2", "", true), Nothing},

		// Combinations the design does not name.
		{"only on server, device never saw it", present("v1"), Device{}, Download},
		{"nowhere", absent, Device{}, Nothing},
		{"tombstone, device never saw it", tomb, Device{}, Nothing},
		{"both deleted (applied)", tomb, applied, Nothing},
		{"both deleted (locally): deletion confirmed", tomb, deletedLocally, Nothing},
		{"server lost it, device applied deletion: record the tombstone", absent, applied, DeleteOnServer},
		{"server lost it, device deleted locally: record the tombstone", absent, deletedLocally, DeleteOnServer},
		{"server lost it, device deleted a never-synced item", absent, Device{Kind: DeviceDeletedLocally}, Nothing},
		{"deleted locally, never synced, server holds that name", present("v1"), Device{Kind: DeviceDeletedLocally}, Download},
		{"never synced on device, different copy on server", present("v1"), onDevice("v2", "", true), KeepBoth},
		{"clean flag but body differs from last sync", present("v1"), onDevice("v2", "v1", false), Upload},
		{"clean flag but never synced, server differs", present("v1"), onDevice("v2", "", false), KeepBoth},
		{"server ETag unknown, device clean", present(""), onDevice("v1", "v1", false), Download},
		{"server ETag unknown, device dirty", present(""), onDevice("v2", "v1", true), KeepBoth},
		{"both ETags unknown are not identical", present(""), onDevice("", "", false), KeepBoth},
		{"server holds an older version the device synced: upload the newer", present("v1"), Device{Kind: DevicePresent, ETag: "v2", LastSyncedETag: "v2", SeenETags: []string{"v0", "v1"}}, Upload},
		{"server holds an older version, device dirty: upload", present("v1"), Device{Kind: DevicePresent, ETag: "v3", LastSyncedETag: "v2", Dirty: true, SeenETags: []string{"v1"}}, Upload},
		{"server holds a version the device never saw: download", present("v9"), Device{Kind: DevicePresent, ETag: "v2", LastSyncedETag: "v2", SeenETags: []string{"v1"}}, Download},
		{"deleted locally, server holds an older version: delete", present("v1"), Device{Kind: DeviceDeletedLocally, LastSyncedETag: "v2", SeenETags: []string{"v1"}}, DeleteOnServer},
		{"empty seen ETag matches nothing", present(""), Device{Kind: DevicePresent, ETag: "v2", LastSyncedETag: "v2", SeenETags: []string{""}}, Download},
		{"out-of-range server kind", Server{Kind: 7}, onDevice("v1", "v1", false), Nothing},
		{"out-of-range device kind", present("v1"), Device{Kind: 9}, Nothing},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Reconcile(tt.s, tt.d); got != tt.want {
				t.Errorf("Reconcile(%+v, %+v) = %v, want %v", tt.s, tt.d, got, tt.want)
			}
		})
	}
}

// Markers for the three-way view in expectReconcile.
const (
	never   = "\x00never"   // the side never held the item
	deleted = "\x00deleted" // the side deleted it
	lost    = "\x00lost"    // the server holds neither object nor tombstone
	unknown = "\x00unknown" // held, with an unknown (empty) ETag
)

// expectReconcile is an independent statement of the rules, written as a
// three-way merge: base is what the device last agreed with the server,
// ours is the device's state, theirs the server's.
func expectReconcile(s Server, d Device) Action {
	if s.Kind > ServerTombstoned || d.Kind > DeviceDeletedLocally {
		return Nothing
	}
	orUnknown := func(e string) string {
		if e == "" {
			return unknown
		}
		return e
	}
	theirs := map[ServerKind]string{ServerAbsent: lost, ServerPresent: orUnknown(s.ETag), ServerTombstoned: deleted}[s.Kind]
	base := d.LastSyncedETag
	if base == "" {
		base = never
	}
	var ours string
	switch d.Kind {
	case DeviceAbsent:
		ours, base = never, never
	case DevicePresent:
		ours = orUnknown(d.ETag)
	case DeviceAppliedDeletion:
		// Recovery override: the device saw the server delete it, so any
		// server copy is a stale restore; re-record the deletion.
		if theirs == deleted {
			return Nothing
		}
		return DeleteOnServer
	case DeviceDeletedLocally:
		ours = deleted
	}

	if theirs == lost { // absence is not deletion: the device's state wins
		switch {
		case ours == never, ours == deleted && base == never:
			return Nothing
		case ours == deleted:
			return DeleteOnServer
		}
		return Upload
	}
	if ours == theirs && ours != unknown {
		return Nothing
	}
	oursChanged := ours != base || ours == unknown || (d.Kind == DevicePresent && d.Dirty)
	theirsChanged := theirs != base || theirs == unknown
	switch {
	case !oursChanged: // take theirs
		switch {
		case theirs == deleted && ours == never:
			return Nothing
		case theirs == deleted:
			return DeleteOnDevice
		}
		return Download
	case !theirsChanged: // take ours
		if ours == deleted {
			return DeleteOnServer
		}
		return Upload
	case ours == deleted: // an edit beats a delete
		return Download
	case theirs == deleted:
		return Upload
	}
	return KeepBoth
}

// TestReconcileExhaustive enumerates every server kind (with one out of
// range), every device kind (with one out of range), every dirty flag and
// every equality pattern of the three ETags (including empty ones), and
// compares Reconcile with expectReconcile. It also checks properties that
// must hold for every input.
func TestReconcileExhaustive(t *testing.T) {
	etags := []string{"", "a", "b", "c"} // enough for all equal/different patterns of 3 values
	n := 0
	for sk := ServerKind(0); sk <= ServerTombstoned+1; sk++ {
		for _, se := range etags {
			for dk := DeviceKind(0); dk <= DeviceDeletedLocally+1; dk++ {
				for _, de := range etags {
					for _, last := range etags {
						for _, dirty := range []bool{false, true} {
							n++
							s := Server{Kind: sk, ETag: se}
							d := Device{Kind: dk, ETag: de, LastSyncedETag: last, Dirty: dirty}
							got := Reconcile(s, d)
							if want := expectReconcile(s, d); got != want {
								t.Errorf("Reconcile(%+v, %+v) = %v, want %v", s, d, got, want)
							}
							checkReconcileProperties(t, s, d, got)
						}
					}
				}
			}
		}
	}
	if want := 4 * 4 * 5 * 4 * 4 * 2; n != want {
		t.Fatalf("enumerated %d combinations, want %d", n, want)
	}
}

func checkReconcileProperties(t *testing.T, s Server, d Device, got Action) {
	t.Helper()
	if got > KeepBoth {
		t.Errorf("Reconcile(%+v, %+v) = %v: not an action", s, d, got)
	}
	editedOnDevice := d.Kind == DevicePresent && (d.Dirty || d.ETag == "" || d.ETag != d.LastSyncedETag)
	if editedOnDevice && (got == Download || got == DeleteOnDevice) {
		t.Errorf("Reconcile(%+v, %+v) = %v: a device edit would be overwritten", s, d, got)
	}
	if s.Kind == ServerAbsent && (got == Download || got == DeleteOnDevice || got == KeepBoth) {
		t.Errorf("Reconcile(%+v, %+v) = %v: server absence treated as evidence", s, d, got)
	}
	if got == DeleteOnServer && s.Kind == ServerPresent && d.Kind == DeviceDeletedLocally &&
		(s.ETag == "" || s.ETag != d.LastSyncedETag) {
		t.Errorf("Reconcile(%+v, %+v) = %v: a server edit the device never saw would be deleted", s, d, got)
	}
	if got == Upload && d.Kind != DevicePresent {
		t.Errorf("Reconcile(%+v, %+v) = %v: nothing to upload", s, d, got)
	}
	if (got == Download || got == KeepBoth) && s.Kind != ServerPresent {
		t.Errorf("Reconcile(%+v, %+v) = %v: nothing to download", s, d, got)
	}
}

func TestActionString(t *testing.T) {
	tests := []struct {
		a    Action
		want string
	}{
		{Nothing, "nothing"}, {Upload, "upload"}, {Download, "download"},
		{DeleteOnServer, "delete-on-server"}, {DeleteOnDevice, "delete-on-device"},
		{KeepBoth, "keep-both"}, {99, "Action(99)"},
	}
	for _, tt := range tests {
		if got := tt.a.String(); got != tt.want {
			t.Errorf("Action(%d).String() = %q, want %q", tt.a, got, tt.want)
		}
	}
}
