package server

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/pimvault/pimvault/account"
	"github.com/pimvault/pimvault/server/internal/dav"
	"github.com/pimvault/pimvault/storage"
	"github.com/pimvault/pimvault/syncproto"
)

// The recovery gate: never serve a principal's data as healthy while the
// store is behind what a client has already seen. The wire side of it,
// with the pimvault device library (headers and paths in syncproto):
//
//   - A request that carries X-Pimvault-Device (a valid device id) comes from
//     the device library; every response to it carries X-Pimvault-Epoch, and
//     X-Pimvault-Recovering: 1 while the principal is RECOVERING.
//   - While a principal is RECOVERING, a stock client's request under /dav/
//     (any method but OPTIONS) is answered 503 with a Retry-After in
//     [60, 300] seconds, before anything else happens: never a listing,
//     never DAV:valid-sync-token, never 404.
//   - A device's sync-collection with a token that shows a loss is answered
//     409 with the headers above; a stock client's with 503. Either makes
//     the principal RECOVERING.
//   - POST /api/recovery/done: a device finished reconciling.

// Headers of the recovery protocol, as syncproto defines them.
const (
	HeaderDevice     = syncproto.HeaderDevice
	HeaderEpoch      = syncproto.HeaderEpoch
	HeaderRecovering = syncproto.HeaderRecovering
	HeaderExisting   = syncproto.HeaderExisting
)

// DefaultRecoveryDeviceWindow: a recovery closes by itself once every
// device seen within this window has reported.
const DefaultRecoveryDeviceWindow = storage.DefaultRecoveryDeviceWindow

// recoveryStore is what the gate needs of the store (part of Store).
type recoveryStore interface {
	EpochHistory() (storage.EpochHistory, error)
	StartEpoch(ctx context.Context, why string) (string, error)
	PrincipalState(principal string) (storage.PrincipalState, error)
	RecoveryState(principal string) (storage.RecoveryState, error)
	OpenRecovery(ctx context.Context, principal, reason, epoch string) (bool, error)
	SeeDeviceAs(ctx context.Context, principal, device string, cred storage.DeviceCredential) error
	ReportRecoveryDone(ctx context.Context, principal, device string, window time.Duration) (bool, error)
}

// errReconcile answers a device whose token shows the store lost history it
// had seen: the device reconciles its replica against the current epoch.
var errReconcile = &dav.Error{Status: http.StatusConflict, Msg: "this account's data is being recovered: reconcile your replica (sync-token data:,pv1-<epoch>-0) and report to /api/recovery/done"}

// deviceOf returns the request's device id, or "" for a stock client (a
// malformed value counts as absent).
func deviceOf(r *http.Request) string {
	id := r.Header.Get(HeaderDevice)
	if storage.ValidateDeviceID(id) != nil {
		return ""
	}
	return id
}

// seenToken is a device's last sync token of a collection it creates again
// (syncproto.HeaderToken), or nil: a stock client, no header, or one that
// does not parse (the collection is then simply created).
func seenToken(r *http.Request) *syncproto.Token {
	if deviceOf(r) == "" {
		return nil
	}
	tok, err := syncproto.Parse(r.Header.Get(syncproto.HeaderToken))
	if err != nil {
		return nil
	}
	return &tok
}

// deviceEpoch puts X-Pimvault-Epoch on every response to a device request.
func (s *Server) deviceEpoch(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if deviceOf(r) != "" {
			if h, err := s.store.EpochHistory(); err == nil {
				w.Header().Set(HeaderEpoch, h.Current)
			}
		}
		next.ServeHTTP(w, r)
	})
}

// gatedPath reports whether a path is DAV (the root PROPFIND included).
func gatedPath(p string) bool {
	return p == "/" || p == dav.BasePath()+"/" || p == strings.TrimSuffix(dav.Prefix, "/") || strings.HasPrefix(p, dav.Prefix)
}

// deviceSeen remembers when each device's last-seen time was last written,
// so a busy device writes it at most once per storage.DeviceSeenInterval.
type deviceSeen struct {
	mu   sync.Mutex
	last map[string]time.Time
}

const maxTrackedDevices = 100000

func (d *deviceSeen) due(key string, now time.Time) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.last == nil || len(d.last) >= maxTrackedDevices {
		d.last = map[string]time.Time{}
	}
	if t, ok := d.last[key]; ok && now.Sub(t) < storage.DeviceSeenInterval {
		return false
	}
	d.last[key] = now
	return true
}

// admitRecovery runs after authentication and before anything else (the
// default collections included). It records the device with the app
// password it signed in with (ap; zero for the account password), and
// answers 503 to a stock client of a RECOVERING principal. It returns false
// when it has answered.
func (s *Server) admitRecovery(w http.ResponseWriter, r *http.Request, user string, ap account.AppPassword) bool {
	dev := deviceOf(r)
	if dev != "" && s.seen.due(user+"\x00"+dev+"\x00"+ap.ID, time.Now()) {
		if err := s.store.SeeDeviceAs(r.Context(), user, dev, deviceCredential(ap)); errors.Is(err, storage.ErrDeviceNotAdmitted) {
			dav.LogRefusal(s.log, r, 0, "device "+dev+" of "+user+" not recorded: "+err.Error())
		} else if err != nil {
			s.log.Warn("could not record device", "user", user, "device", dev, "err", err)
		}
	}
	if !gatedPath(r.URL.Path) {
		return true
	}
	rs, err := s.store.RecoveryState(user)
	if err != nil {
		// Fail closed: a state that cannot be read is not healthy.
		s.log.Error("reading recovery state", "user", user, "err", err)
		s.writeError(w, r, dav.ErrRecovering)
		return false
	}
	if !rs.Recovering {
		return true
	}
	if dev != "" {
		w.Header().Set(HeaderRecovering, "1")
		return true
	}
	if r.Method == http.MethodOptions {
		return true
	}
	s.writeError(w, r, dav.ErrRecovering)
	return false
}

// syncStore is the store's history and the principal's accepted epochs as
// syncproto.Decide needs them. A device gets no accepted epochs: it can
// always reconcile, so a lost token of it is answered 409 even after the
// recovery closed (see tokenShowsLoss).
func (s *Server) syncStore(r *http.Request, user string) (syncproto.Store, map[string]bool, error) {
	h, err := s.store.EpochHistory()
	if err != nil {
		return syncproto.Store{}, nil, err
	}
	rs, err := s.store.RecoveryState(user)
	if err != nil {
		return syncproto.Store{}, nil, err
	}
	var accepted map[string]bool
	if deviceOf(r) == "" {
		accepted = map[string]bool{}
		for _, e := range rs.Accepted {
			accepted[e] = true
		}
	}
	return syncproto.Store{Epoch: h.Current, Earlier: h.Earlier, Head: s.store.Head()}, accepted, nil
}

// tokenShowsLoss handles a sync-collection whose token shows the store lost
// history the client saw: the principal becomes RECOVERING and the client
// gets 409 (device) or 503 (stock). Only this principal: a token is
// presented by one signed-in user, so it never starts a store-wide epoch
// (a store rolled back underneath its HIGHWATER mark starts one at open).
// Opening is journalled, logged at Warn and shown by `pimvault recovery
// status`; a principal already RECOVERING for the token's epoch writes
// nothing more, and each principal may open (or add an epoch to) its
// recovery at most lossBurst times and then once per lossEvery, so a
// client presenting forged tokens in a loop cannot grow the journal or the
// log: past that it is answered the same way without anything written.
//
// A device that comes late, with a token of an epoch whose loss a closed
// recovery already accepted, is answered 409 without reopening the
// recovery: it reconciles, and what it uploads reaches the other clients as
// ordinary changes. Reopening would put the stock clients back on 503 until
// every device reported again, which devices already in sync have no reason
// to do.
func (s *Server) tokenShowsLoss(w http.ResponseWriter, r *http.Request, user, collection string, tok syncproto.Token, store syncproto.Store, reason string) {
	ctx := r.Context()
	rs, rsErr := s.store.RecoveryState(user)
	if deviceOf(r) != "" && tok.Epoch != store.Epoch {
		if rsErr == nil && !rs.Recovering && slices.Contains(rs.Accepted, tok.Epoch) {
			s.log.Info("a device with a token of an accepted epoch reconciles; the recovery stays closed", "user", user, "device", deviceOf(r), "epoch", tok.Epoch)
			w.Header().Set(HeaderEpoch, store.Epoch)
			s.writeError(w, r, errReconcile)
			return
		}
	}
	known := rsErr == nil && rs.Recovering && slices.Contains(rs.Pending, tok.Epoch)
	if !known {
		if s.lossLimit.Allow(user) {
			s.log.Warn("sync token shows history this store does not hold; the account is RECOVERING", "user", user, "collection", collection,
				"token", syncproto.Format(tok), "reason", reason, "device", deviceOf(r))
			if _, err := s.store.OpenRecovery(ctx, user, "sync token: "+reason, tok.Epoch); err != nil && !errors.Is(err, context.Canceled) {
				s.log.Error("could not open recovery", "user", user, "err", err)
			}
		} else {
			dav.LogRefusal(s.log, r, http.StatusServiceUnavailable, "another sync token showing a loss from "+user+" within the limit; nothing recorded")
		}
	}
	if deviceOf(r) == "" {
		s.writeError(w, r, dav.ErrRecovering)
		return
	}
	w.Header().Set(HeaderEpoch, store.Epoch)
	w.Header().Set(HeaderRecovering, "1")
	s.writeError(w, r, errReconcile)
}

// Per principal, how often a token showing a loss may open or widen its
// recovery (see tokenShowsLoss).
const (
	lossEvery = time.Minute
	lossBurst = 4
)

// recoveryDone is POST /api/recovery/done: a device finished reconciling.
func (s *Server) recoveryDone(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		s.writeError(w, r, &dav.Error{Status: http.StatusMethodNotAllowed, Msg: "use POST"})
		return
	}
	dev := deviceOf(r)
	if dev == "" {
		s.writeError(w, r, dav.BadRequest("%s with a device id of 1 to 64 characters [A-Za-z0-9._-] is required", HeaderDevice))
		return
	}
	user := userFrom(r.Context())
	if _, err := s.store.ReportRecoveryDone(r.Context(), user, dev, s.cfg.RecoveryDeviceWindow); err != nil {
		s.writeError(w, r, err)
		return
	}
	if rs, err := s.store.RecoveryState(user); err == nil && rs.Recovering {
		w.Header().Set(HeaderRecovering, "1")
	}
	w.WriteHeader(http.StatusNoContent)
}

// dedupedPut answers a device PUT that the store deduplicated (protocol
// item 6): 200 with the ETag, and the name of the object that holds the body
// when it lives at another href. It returns false for an ordinary result.
func (s *Server) dedupedPut(w http.ResponseWriter, p dav.Path, res storage.Result) bool {
	if !res.NoOp {
		return false
	}
	if res.Existing != "" {
		ep := dav.Path{Kind: dav.ResObject, Home: p.Home, User: p.User, Collection: p.Collection, Object: res.Existing}
		w.Header().Set(HeaderExisting, ep.Href())
	}
	w.WriteHeader(http.StatusOK)
	return true
}
