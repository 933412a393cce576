package server

import (
	"net/http"
	"sort"
	"time"

	"github.com/pimvault/pimvault/storage"
)

// GET /api/devices: the signed-in user's device registry (the pimvault
// devices that sync the account, each with the label of the app password it
// signs in with) and, while the account is RECOVERING, which of them the
// recovery still waits for. Stock CardDAV/CalDAV clients are not in the
// registry; their app passwords' last use is in /api/app-passwords.

type devicesJSON struct {
	Recovering bool         `json:"recovering"`
	Since      time.Time    `json:"since,omitzero"`
	Reason     string       `json:"reason,omitempty"`
	Devices    []deviceJSON `json:"devices"`
}

type deviceJSON struct {
	ID                string    `json:"id"`
	Label             string    `json:"label,omitempty"` // the app password's
	AppPasswordID     string    `json:"app_password_id,omitempty"`
	CredentialRevoked time.Time `json:"app_password_revoked,omitzero"`
	FirstSeen         time.Time `json:"first_seen"`
	LastSeen          time.Time `json:"last_seen"`
	Reported          time.Time `json:"reported,omitzero"`
	Waiting           bool      `json:"waiting,omitempty"` // RECOVERING and not reported yet
}

func (s *Server) apiDevices(w http.ResponseWriter, r *http.Request) {
	st, err := s.store.PrincipalState(userFrom(r.Context()))
	if err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	out := devicesJSON{Recovering: st.Recovery.Recovering, Devices: []deviceJSON{}}
	waiting := map[string]bool{}
	if st.Recovery.Recovering {
		out.Since, out.Reason = st.Recovery.Since, st.Recovery.Reason
		for _, id := range storage.DevicesWaiting(st, s.cfg.RecoveryDeviceWindow, time.Now()) {
			waiting[id] = true
		}
	}
	for id, d := range st.Devices {
		out.Devices = append(out.Devices, deviceJSON{ID: id, Label: d.AppPasswordLabel, AppPasswordID: d.AppPasswordID,
			CredentialRevoked: d.CredentialRevoked, FirstSeen: d.FirstSeen, LastSeen: d.LastSeen, Reported: d.Reported, Waiting: waiting[id]})
	}
	sort.Slice(out.Devices, func(i, j int) bool { return out.Devices[i].ID < out.Devices[j].ID })
	writeJSON(w, http.StatusOK, out)
}
