package server

import (
	"encoding/xml"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/pimvault/pimvault/server/internal/dav"
	"github.com/pimvault/pimvault/storage"
	"github.com/pimvault/pimvault/syncproto"
)

var errInvalidToken = dav.Forbidden(dav.NSDAV, "valid-sync-token", "the sync token is not valid for this collection; sync again without a token")

// syncCollection answers RFC 6578 sync-collection from the change index:
// syncproto.Decide classifies the token (initial, incremental, from another
// epoch, showing a loss), and the answer lists the members changed since.
func (s *Server) syncCollection(w http.ResponseWriter, r *http.Request, p dav.Path, c storage.Collection, body []byte) {
	var req syncCollectionRequest
	if err := xml.Unmarshal(body, &req); err != nil {
		s.writeError(w, r, dav.BadRequest("sync-collection: %v", err))
		return
	}
	// RFC 6578 §6.3 requires sync-level, but clients written against its drafts
	// (and CalDAVTester) omit it: a missing level is taken as 1. "infinite" gives
	// the same answer, since address books and calendars hold no collections.
	switch strings.TrimSpace(req.SyncLevel) {
	case "", "1", "infinite":
	default:
		s.writeError(w, r, dav.BadRequest("sync-level must be 1 or infinite"))
		return
	}
	limit := 0
	if req.Limit != nil {
		n, err := strconv.Atoi(req.Limit.NResults)
		if err != nil || n <= 0 {
			s.writeError(w, r, dav.BadRequest("DAV:limit must hold a positive nresults"))
			return
		}
		limit = n
	}
	store, accepted, err := s.syncStore(r, p.User)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	epoch := store.Epoch
	since := c.CreatedSeq
	initial := true
	tok, kind := syncproto.Classify(req.SyncToken)
	historyStart := max(c.CreatedSeq, c.PrunedSeq)
	d := syncproto.Decide(syncproto.Input{Kind: kind, Token: tok, Store: store, HistoryStart: historyStart,
		// Another collection's token, or past this one's last change (see syncproto's doc).
		Foreign: kind == syncproto.ValidToken && tok.ForeignTo(syncproto.Bind(p.User, p.Collection), c.LastSeq), Accepted: accepted})
	switch d.Decision {
	case syncproto.Initial:
	case syncproto.Incremental:
		since, initial = max(d.Since, historyStart), false
	case syncproto.Recovering:
		s.tokenShowsLoss(w, r, p.User, p.Collection, tok, store, d.Reason)
		return
	default:
		s.writeError(w, r, errInvalidToken)
		return
	}
	changes, last, err := s.store.Changes(p.User, p.Collection, since)
	if errors.Is(err, storage.ErrHistoryGone) {
		s.writeError(w, r, errInvalidToken)
		return
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if initial {
		live := changes[:0]
		for _, ch := range changes {
			if !ch.Deleted {
				live = append(live, ch)
			}
		}
		changes = live
	}
	truncated := limit > 0 && len(changes) > limit
	if truncated {
		changes = changes[:limit]
		last = changes[len(changes)-1].Seq
	}
	rp := newReportProps(req.Prop)
	if err := s.withCalendarData(r.Context(), &rp, p, body); err != nil {
		s.writeError(w, r, err)
		return
	}
	ms := dav.NewMultistatus(r.Context(), w, rp.names)
	for _, ch := range changes {
		if err := ms.Err(); err != nil {
			ms.Fail(s.log, r, err)
			return
		}
		op := dav.Path{Kind: dav.ResObject, Home: p.Home, User: p.User, Collection: p.Collection, Object: ch.Name}
		if ch.Deleted {
			ms.StatusResponse(op.Href(), http.StatusNotFound)
			continue
		}
		o, err := s.store.Get(p.User, p.Collection, ch.Name)
		if errors.Is(err, storage.ErrNotFound) {
			continue // changed again since the listing; the next sync reports it
		}
		if err != nil {
			ms.Fail(s.log, r, err)
			return
		}
		s.objectResponse(ms, p, o, rp)
	}
	if truncated {
		ms.StatusResponse(p.Href(), http.StatusInsufficientStorage)
	}
	ms.Raw("<D:sync-token>" + dav.XMLEscape(syncToken(epoch, last, p.User, p.Collection)) + "</D:sync-token>")
	ms.Finish(s.log, r)
}
