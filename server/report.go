package server

import (
	"encoding/xml"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/pimvault/pimvault/storage"
	"github.com/pimvault/pimvault/syncproto"
)

// report dispatches REPORT by the root element of its body.
func (s *Server) report(w http.ResponseWriter, r *http.Request, p davPath) {
	body, err := readXMLBody(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if body == nil {
		s.writeError(w, r, badRequest("REPORT needs a body"))
		return
	}
	root, err := rootName(body)
	if err != nil {
		s.writeError(w, r, badRequest("malformed XML: %v", err))
		return
	}
	if p.kind != resCollection {
		s.writeError(w, r, forbidden(nsDAV, "supported-report", "reports are served on collections"))
		return
	}
	c, err := s.collection(p)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if s.calendarReport(w, r, p, c, root, body) {
		return
	}
	switch root {
	case reportSyncCollection:
		s.syncCollection(w, r, p, c, body)
	case reportAddrMultiget:
		s.multiget(w, r, p, body)
	case reportAddrQuery:
		s.addressbookQueryReport(w, r, p, body)
	default:
		s.writeError(w, r, forbidden(nsDAV, "supported-report", "report %s is not supported here", clark(root)))
	}
}

// reportProps is the DAV:prop of a report, with the names of address-data
// asked for, and how to render calendar-data when asked for.
type reportProps struct {
	names        []xml.Name
	addressData  bool
	calendarData *calendarDataReq
	floating     *time.Location
	calendarErr  *error // where rendering calendar-data failed, if set
}

func newReportProps(pl *propList) reportProps {
	var rp reportProps
	if pl == nil {
		rp.names = []xml.Name{nameGetETag}
		return rp
	}
	for _, n := range pl.names() {
		if n == nameAddressData {
			rp.addressData = true
		}
		rp.names = append(rp.names, n)
	}
	return rp
}

// objectResponse writes one member's response with the asked properties.
func (s *Server) objectResponse(ms *multistatus, p davPath, o storage.Object, rp reportProps) {
	op := davPath{kind: resObject, home: p.home, user: p.user, collection: p.collection, object: o.Name}
	if found, ok := s.quickObjectProps(o, rp); ok {
		ms.propResponse(op.href(), found, nil, false)
		return
	}
	ps := s.objectProps(op, o)
	if rp.addressData {
		ps.add(nameAddressData, xmlEscape(string(o.Body)))
	}
	if rp.calendarData != nil {
		s.renderCalendarData(ps, o, rp)
	}
	found, missing := ps.pick(&propfindRequest{Prop: &propList{Names: namesToAny(rp.names)}})
	ms.propResponse(op.href(), found, missing, false)
}

func namesToAny(ns []xml.Name) []anyElement {
	out := make([]anyElement, len(ns))
	for i, n := range ns {
		out[i] = anyElement{XMLName: n}
	}
	return out
}

// syncCollectionRequest is DAV:sync-collection (RFC 6578 §6.1).
type syncCollectionRequest struct {
	XMLName   xml.Name `xml:"DAV: sync-collection"`
	SyncToken string   `xml:"DAV: sync-token"`
	SyncLevel string   `xml:"DAV: sync-level"`
	Limit     *struct {
		NResults string `xml:"DAV: nresults"`
	} `xml:"DAV: limit"`
	Prop *propList `xml:"DAV: prop"`
}

var errInvalidToken = forbidden(nsDAV, "valid-sync-token", "the sync token is not valid for this collection; sync again without a token")

// syncCollection answers RFC 6578 sync-collection from the change index, as
// DESIGN.md §5's table says.
func (s *Server) syncCollection(w http.ResponseWriter, r *http.Request, p davPath, c storage.Collection, body []byte) {
	var req syncCollectionRequest
	if err := xml.Unmarshal(body, &req); err != nil {
		s.writeError(w, r, badRequest("sync-collection: %v", err))
		return
	}
	if req.SyncLevel != "1" {
		s.writeError(w, r, badRequest("sync-level must be 1 (address books and calendars hold no collections)"))
		return
	}
	limit := 0
	if req.Limit != nil {
		n, err := strconv.Atoi(req.Limit.NResults)
		if err != nil || n <= 0 {
			s.writeError(w, r, badRequest("DAV:limit must hold a positive nresults"))
			return
		}
		limit = n
	}
	store, accepted, err := s.syncStore(r, p.user)
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
		// A collection's tokens never pass its last change (see syncproto's doc).
		Foreign: kind == syncproto.ValidToken && tok.Seq > c.LastSeq, Accepted: accepted})
	switch d.Decision {
	case syncproto.Initial:
	case syncproto.Incremental:
		since, initial = max(d.Since, historyStart), false
	case syncproto.Recovering:
		s.tokenShowsLoss(w, r, p.user, p.collection, tok, store, d.Reason)
		return
	default:
		s.writeError(w, r, errInvalidToken)
		return
	}
	changes, last, err := s.store.Changes(p.user, p.collection, since)
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
	ms := newMultistatus()
	for _, ch := range changes {
		op := davPath{kind: resObject, home: p.home, user: p.user, collection: p.collection, object: ch.Name}
		if ch.Deleted {
			ms.statusResponse(op.href(), http.StatusNotFound)
			continue
		}
		o, err := s.store.Get(p.user, p.collection, ch.Name)
		if errors.Is(err, storage.ErrNotFound) {
			continue // changed again since the listing; the next sync reports it
		}
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		s.objectResponse(ms, p, o, rp)
	}
	if truncated {
		ms.statusResponse(p.href(), http.StatusInsufficientStorage)
	}
	ms.raw("<D:sync-token>" + xmlEscape(syncToken(epoch, last)) + "</D:sync-token>")
	ms.write(w)
}

// multigetRequest is CARDDAV:addressbook-multiget (RFC 6352 §8.7).
type multigetRequest struct {
	Prop  *propList `xml:"DAV: prop"`
	Hrefs []string  `xml:"DAV: href"`
}

const maxMultigetHrefs = 10000

// multiget returns the asked members; an href outside this collection (or
// another user's) answers 404 for that href, revealing nothing.
func (s *Server) multiget(w http.ResponseWriter, r *http.Request, p davPath, body []byte) {
	var req multigetRequest
	if err := xml.Unmarshal(body, &req); err != nil {
		s.writeError(w, r, badRequest("multiget: %v", err))
		return
	}
	if len(req.Hrefs) > maxMultigetHrefs {
		s.writeError(w, r, badRequest("more than %d hrefs", maxMultigetHrefs))
		return
	}
	rp := newReportProps(req.Prop)
	if err := s.withCalendarData(r.Context(), &rp, p, body); err != nil {
		s.writeError(w, r, err)
		return
	}
	ms := newMultistatus()
	seen := map[string]bool{}
	for _, href := range req.Hrefs {
		if seen[href] {
			continue
		}
		seen[href] = true
		hp, err := parseDAVPath(href)
		if err != nil || hp.kind != resObject || hp.user != p.user || hp.home != p.home || hp.collection != p.collection {
			ms.statusResponse(href, http.StatusNotFound)
			continue
		}
		o, err := s.store.Get(p.user, p.collection, hp.object)
		if err != nil {
			ms.statusResponse(href, http.StatusNotFound)
			continue
		}
		s.objectResponse(ms, p, o, rp)
	}
	ms.write(w)
}
