package server

import (
	"encoding/xml"
	"net/http"
	"time"

	"github.com/pimvault/pimvault/server/internal/dav"
	"github.com/pimvault/pimvault/storage"
)

// report dispatches REPORT by the root element of its body.
func (s *Server) report(w http.ResponseWriter, r *http.Request, p dav.Path) {
	body, err := dav.ReadXMLBody(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if body == nil {
		s.writeError(w, r, dav.BadRequest("REPORT needs a body"))
		return
	}
	root, err := dav.RootName(body)
	if err != nil {
		s.writeError(w, r, dav.BadRequest("malformed XML: %v", err))
		return
	}
	if err := dav.CheckReportProps(body); err != nil {
		s.writeError(w, r, err)
		return
	}
	if p.Kind == dav.ResObject && root == dav.ReportAddrQuery && p.Home == dav.HomeCards {
		s.addressbookQueryReport(w, r, p, body)
		return
	}
	if p.Kind != dav.ResCollection {
		s.writeError(w, r, dav.Forbidden(dav.NSDAV, "supported-report", "reports are served on collections (and addressbook-query on an address object)"))
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
	case dav.ReportSyncCollection:
		s.syncCollection(w, r, p, c, body)
	case dav.ReportAddrMultiget:
		s.multiget(w, r, p, body)
	case dav.ReportAddrQuery:
		s.addressbookQueryReport(w, r, p, body)
	default:
		s.writeError(w, r, dav.Forbidden(dav.NSDAV, "supported-report", "report %s is not supported here", dav.Clark(root)))
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

func newReportProps(pl *dav.PropList) reportProps {
	var rp reportProps
	if pl == nil {
		rp.names = []xml.Name{dav.NameGetETag}
		return rp
	}
	seen := map[xml.Name]bool{}
	for _, n := range pl.XMLNames() {
		if seen[n] {
			continue // each name is answered once
		}
		seen[n] = true
		if n == dav.NameAddressData {
			rp.addressData = true
		}
		rp.names = append(rp.names, n)
	}
	return rp
}

// objectResponse writes one member's response with the asked properties.
func (s *Server) objectResponse(ms *dav.Multistatus, p dav.Path, o storage.Object, rp reportProps) {
	op := dav.Path{Kind: dav.ResObject, Home: p.Home, User: p.User, Collection: p.Collection, Object: o.Name}
	if found, ok := s.quickObjectProps(o, rp); ok {
		ms.PropResponse(op.Href(), found, nil, false)
		return
	}
	ps := s.objectProps(op, o, p.User, false)
	if rp.addressData {
		ps.Add(dav.NameAddressData, dav.XMLEscape(string(o.Body)))
	}
	if rp.calendarData != nil {
		s.renderCalendarData(ps, o, rp)
	}
	found, missing := ps.Pick(&dav.PropfindRequest{Prop: &dav.PropList{Names: namesToAny(rp.names)}})
	ms.PropResponse(op.Href(), found, missing, false)
}

func namesToAny(ns []xml.Name) []dav.AnyElement {
	out := make([]dav.AnyElement, len(ns))
	for i, n := range ns {
		out[i] = dav.AnyElement{XMLName: n}
	}
	return out
}

const maxMultigetHrefs = 10000

// multiget returns the asked members; an href outside this collection (or
// another user's) answers 404 for that href, revealing nothing.
func (s *Server) multiget(w http.ResponseWriter, r *http.Request, p dav.Path, body []byte) {
	var req multigetRequest
	if err := xml.Unmarshal(body, &req); err != nil {
		s.writeError(w, r, dav.BadRequest("multiget: %v", err))
		return
	}
	if len(req.Hrefs) > maxMultigetHrefs {
		s.writeError(w, r, dav.BadRequest("more than %d hrefs", maxMultigetHrefs))
		return
	}
	rp := newReportProps(req.Prop)
	if err := s.withCalendarData(r.Context(), &rp, p, body); err != nil {
		s.writeError(w, r, err)
		return
	}
	ms := dav.NewMultistatus(r.Context(), w, rp.names)
	seen := map[string]bool{}
	for _, href := range req.Hrefs {
		if seen[href] {
			continue
		}
		if err := ms.Err(); err != nil {
			ms.Fail(s.log, r, err)
			return
		}
		seen[href] = true
		hp, err := dav.ParsePath(href)
		if err != nil || hp.Kind != dav.ResObject || hp.User != p.User || hp.Home != p.Home || hp.Collection != p.Collection {
			ms.StatusResponse(href, http.StatusNotFound)
			continue
		}
		o, err := s.store.Get(p.User, p.Collection, hp.Object)
		if err != nil {
			ms.StatusResponse(href, http.StatusNotFound)
			continue
		}
		s.objectResponse(ms, p, o, rp)
	}
	ms.Finish(s.log, r)
}
