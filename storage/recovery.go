package storage

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/pimvault/pimvault/syncproto"
)

// Principal state: what the store keeps about an account besides its data —
// whether it is RECOVERING (invariant 4 of docs/ARCHITECTURE.md) and the registry of the
// pimvault devices that sync it. It is data, so it is journalled: an
// OpPrincipalState record carries the keys that changed (Props) and the keys
// removed (Remove), and the projection keeps them in data/<principal>/state.
//
// Keys of the state bucket and their JSON values:
//
//	recovery          RecoveryState
//	device/<id>       DeviceInfo
//
// A caller never writes these keys directly: it commits a Change with
// Op OpPrincipalState and an UpdateState function, which the committer calls
// with the current state inside the write (so two concurrent updates never
// lose one another), and the record holds the difference.

// bktState is the principal-state bucket inside data/<principal>.
var bktState = []byte("state")

const (
	stateKeyRecovery = "recovery"
	stateKeyDevice   = "device/"
	// MaxDevices bounds a principal's device registry (see admitDevice for
	// who gets in when it is full).
	MaxDevices = 64
	// maxEpochList bounds the epoch lists of a RecoveryState.
	maxEpochList = 32
)

// RecoveryState is a principal's RECOVERING flag and its history.
type RecoveryState struct {
	Recovering bool      `json:"recovering,omitempty"`
	Reason     string    `json:"reason,omitempty"` // why it was opened
	Since      time.Time `json:"since,omitempty"`  // when it was opened
	// Closed and CloseReason tell when and why the last recovery ended.
	Closed      time.Time `json:"closed,omitempty"`
	CloseReason string    `json:"close_reason,omitempty"`
	// Pending lists the epochs of the tokens that opened or were seen
	// during the current recovery. When it closes they move to Accepted.
	Pending []string `json:"pending,omitempty"`
	// Accepted lists the epochs whose lost history a closed recovery
	// accounted for: a token from them that shows history the store lacks
	// is answered DAV:valid-sync-token (the store is complete again, by an
	// admin's or the devices' word), not RECOVERING again.
	Accepted []string `json:"accepted,omitempty"`
	// Expected lists the devices known before the loss: the registry's
	// devices seen within the window when the recovery opened (the
	// registry came with the journal, the stream or the backup the store
	// was rebuilt from), and any an admin added. Each must report before
	// the recovery closes by itself.
	Expected []string `json:"expected,omitempty"`
	// NoKnownDevices: the recovery opened on a store that knew no device
	// (a store rebuilt from nothing). It then never closes at a device's
	// report, since the first device to report is not evidence that the
	// others did; an admin gives the list (pimvault recovery expect) or
	// closes it.
	NoKnownDevices bool `json:"no_known_devices,omitempty"`
}

// DeviceInfo is one pimvault device of a principal.
type DeviceInfo struct {
	FirstSeen time.Time `json:"first_seen"`
	LastSeen  time.Time `json:"last_seen"` // updated at most hourly
	// Reported is when the device last reported that it finished
	// reconciling (POST /api/recovery/done); it counts for the current
	// recovery when it is not before RecoveryState.Since.
	Reported time.Time `json:"reported,omitempty"`
	// AppPasswordID and AppPasswordLabel name the app password the device
	// last signed in with (both empty: the account password). The label is
	// copied here so that listings still name the device once the app
	// password is revoked.
	AppPasswordID    string `json:"app_password_id,omitzero"`
	AppPasswordLabel string `json:"app_password_label,omitzero"`
	// CredentialRevoked is when that app password was revoked (zero while
	// it signs in). Such a device cannot reach the server, so no recovery
	// waits for it (see DevicesWaiting and CredentialRevokedChange).
	CredentialRevoked time.Time `json:"credential_revoked,omitzero"`
}

// PrincipalState is the whole state of a principal besides its data.
type PrincipalState struct {
	Recovery RecoveryState
	Devices  map[string]DeviceInfo
}

// ReportedFor reports whether the device reported during the recovery that
// started at since.
func (d DeviceInfo) ReportedFor(since time.Time) bool {
	return !d.Reported.IsZero() && !d.Reported.Before(since)
}

// AddEpoch appends epoch to list unless present, keeping the newest
// maxEpochList entries.
func AddEpoch(list []string, epoch string) []string {
	if epoch == "" {
		return list
	}
	for _, e := range list {
		if e == epoch {
			return list
		}
	}
	list = append(list, epoch)
	if len(list) > maxEpochList {
		list = list[len(list)-maxEpochList:]
	}
	return list
}

func (st *PrincipalState) clone() PrincipalState {
	out := PrincipalState{Recovery: st.Recovery, Devices: make(map[string]DeviceInfo, len(st.Devices))}
	out.Recovery.Pending = append([]string(nil), st.Recovery.Pending...)
	out.Recovery.Accepted = append([]string(nil), st.Recovery.Accepted...)
	out.Recovery.Expected = append([]string(nil), st.Recovery.Expected...)
	for k, v := range st.Devices {
		out.Devices[k] = v
	}
	return out
}

// encode returns the state as bucket keys and values.
func (st *PrincipalState) encode() (map[string][]byte, error) {
	out := map[string][]byte{}
	if !isZeroRecovery(st.Recovery) {
		b, err := json.Marshal(st.Recovery)
		if err != nil {
			return nil, err
		}
		out[stateKeyRecovery] = b
	}
	for id, d := range st.Devices {
		if err := ValidateDeviceID(id); err != nil {
			return nil, err
		}
		b, err := json.Marshal(d)
		if err != nil {
			return nil, err
		}
		out[stateKeyDevice+id] = b
	}
	return out, nil
}

func isZeroRecovery(r RecoveryState) bool {
	return !r.Recovering && r.Reason == "" && r.Since.IsZero() && r.Closed.IsZero() &&
		r.CloseReason == "" && len(r.Pending) == 0 && len(r.Accepted) == 0 &&
		len(r.Expected) == 0 && !r.NoKnownDevices
}

func decodeState(b *bolt.Bucket) (PrincipalState, error) {
	st := PrincipalState{Devices: map[string]DeviceInfo{}}
	if b == nil {
		return st, nil
	}
	err := b.ForEach(func(k, v []byte) error {
		key := string(k)
		switch {
		case key == stateKeyRecovery:
			return json.Unmarshal(v, &st.Recovery)
		case strings.HasPrefix(key, stateKeyDevice):
			var d DeviceInfo
			if err := json.Unmarshal(v, &d); err != nil {
				return err
			}
			st.Devices[strings.TrimPrefix(key, stateKeyDevice)] = d
		}
		return nil
	})
	if err != nil {
		return st, fmt.Errorf("decode principal state: %w", err)
	}
	return st, nil
}

// DefaultRecoveryDeviceWindow: a recovery closes by itself once every
// device seen within this window has reported.
const DefaultRecoveryDeviceWindow = 30 * 24 * time.Hour

// ValidateDeviceID checks a device id by the rule both sides of the wire
// share (syncproto.ValidateDeviceID); a bad id is an ErrInvalidName.
func ValidateDeviceID(id string) error {
	if err := syncproto.ValidateDeviceID(id); err != nil {
		return fmt.Errorf("%v: %w", err, ErrInvalidName)
	}
	return nil
}

// prepareState runs the change's UpdateState on the principal's current state
// and fills the record with the keys that changed; nil means no change.
func prepareState(tx *bolt.Tx, c *Change, r *Record, head uint64) (*Record, Result, error) {
	if !principalLive(tx, c.Principal) {
		return nil, Result{}, fmt.Errorf("principal %s: %w", c.Principal, ErrNotFound)
	}
	cur, err := decodeState(stateBucket(tx, c.Principal))
	if err != nil {
		return nil, Result{}, err
	}
	next := cur.clone()
	if err := c.UpdateState(&next); err != nil {
		return nil, Result{}, err
	}
	if len(next.Devices) > MaxDevices {
		dropOldestDevices(next.Devices, MaxDevices)
	}
	before, err := cur.encode()
	if err != nil {
		return nil, Result{}, err
	}
	after, err := next.encode()
	if err != nil {
		return nil, Result{}, fmt.Errorf("principal state: %w", err)
	}
	r.Props, r.Remove = map[string][]byte{}, nil
	for k, v := range after {
		if !bytes.Equal(before[k], v) {
			r.Props[k] = v
		}
	}
	for k := range before {
		if _, ok := after[k]; !ok {
			r.Remove = append(r.Remove, k)
		}
	}
	sort.Strings(r.Remove)
	if len(r.Props) == 0 && len(r.Remove) == 0 {
		return nil, Result{Seq: head, NoOp: true}, nil
	}
	if len(r.Props) == 0 {
		r.Props = nil
	}
	return r, Result{}, nil
}

func dropOldestDevices(m map[string]DeviceInfo, keep int) {
	ids := make([]string, 0, len(m))
	for id := range m {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool {
		a, b := m[ids[i]], m[ids[j]]
		if !a.LastSeen.Equal(b.LastSeen) {
			return a.LastSeen.Before(b.LastSeen)
		}
		return ids[i] < ids[j]
	})
	for _, id := range ids[:len(ids)-keep] {
		delete(m, id)
	}
}

func stateBucket(tx *bolt.Tx, principal string) *bolt.Bucket {
	p := tx.Bucket(bktData).Bucket([]byte(principal))
	if p == nil {
		return nil
	}
	return p.Bucket(bktState)
}

// applyState applies an OpPrincipalState record.
func applyState(tx *bolt.Tx, r *Record) error {
	p := tx.Bucket(bktData).Bucket([]byte(r.Principal))
	if p == nil {
		return fmt.Errorf("principal state: principal %s: %w", r.Principal, ErrNotFound)
	}
	b, err := p.CreateBucketIfNotExists(bktState)
	if err != nil {
		return err
	}
	return applyProps(b, r.Props, r.Remove)
}

// PrincipalState returns a live principal's recovery state and devices.
func (s *Store) PrincipalState(principal string) (PrincipalState, error) {
	var st PrincipalState
	err := s.view(func(tx *bolt.Tx) error {
		if !principalLive(tx, principal) {
			return fmt.Errorf("principal %s: %w", principal, ErrNotFound)
		}
		var err error
		st, err = decodeState(stateBucket(tx, principal))
		return err
	})
	return st, err
}

// RecoveryState returns only a live principal's recovery state: the gate
// reads it on every request, so it decodes one small value.
func (s *Store) RecoveryState(principal string) (RecoveryState, error) {
	var rs RecoveryState
	err := s.view(func(tx *bolt.Tx) error {
		if !principalLive(tx, principal) {
			return fmt.Errorf("principal %s: %w", principal, ErrNotFound)
		}
		b := stateBucket(tx, principal)
		if b == nil {
			return nil
		}
		v := b.Get([]byte(stateKeyRecovery))
		if v == nil {
			return nil
		}
		if err := json.Unmarshal(v, &rs); err != nil {
			return fmt.Errorf("decode recovery state of %s: %w", principal, err)
		}
		return nil
	})
	return rs, err
}

// UpdatePrincipalState changes a principal's state with fn, which the
// committer calls with the current state inside the write. It reports
// whether a record was written (false: fn changed nothing).
func (s *Store) UpdatePrincipalState(ctx context.Context, principal string, fn func(*PrincipalState) error) (bool, error) {
	res, err := s.Commit(ctx, Change{Op: OpPrincipalState, Principal: principal, UpdateState: fn})
	return err == nil && !res.NoOp, err
}
