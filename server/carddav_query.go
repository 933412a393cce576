package server

import (
	"bytes"
	"encoding/xml"
	"net/http"
	"strconv"
	"strings"

	"github.com/emersion/go-vcard"

	"github.com/pimvault/pimvault/card"
	"github.com/pimvault/pimvault/server/internal/dav"
	"github.com/pimvault/pimvault/storage"
)

// addressbookQueryReport answers addressbook-query by testing every card of
// the collection against the filter.
func (s *Server) addressbookQueryReport(w http.ResponseWriter, r *http.Request, p dav.Path, body []byte) {
	var q addressbookQuery
	if err := xml.Unmarshal(body, &q); err != nil {
		s.writeError(w, r, dav.BadRequest("addressbook-query: %v", err))
		return
	}
	f, err := card.Compile(q.Filter)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	limit := 0
	if q.Limit != nil {
		if limit, err = strconv.Atoi(strings.TrimSpace(q.Limit.NResults)); err != nil || limit <= 0 {
			s.writeError(w, r, dav.BadRequest("limit must hold a positive nresults"))
			return
		}
	}
	rp := newReportProps(q.Prop)
	ms := dav.NewMultistatus(r.Context(), w, rp.names)
	n, truncated := 0, false
	err = s.queryScope(p, func(o storage.Object) error {
		if err := ms.Err(); err != nil {
			return err
		}
		vc, err := vcard.NewDecoder(bytes.NewReader(o.Body)).Decode()
		if err != nil || !f.Match(vc) {
			return nil
		}
		if limit > 0 && n == limit {
			truncated = true
			return errStopListing
		}
		n++
		s.objectResponse(ms, p, o, rp)
		return nil
	})
	if err != nil && err != errStopListing {
		ms.Fail(s.log, r, err)
		return
	}
	if truncated {
		ms.StatusResponse(p.Href(), http.StatusInsufficientStorage)
	}
	ms.Finish(s.log, r)
}

// queryScope calls fn for each object a query REPORT covers: the members of
// the collection p names, or the one object p names (a query on an address
// object resource is scoped to it, RFC 6352 §8.6).
func (s *Server) queryScope(p dav.Path, fn func(storage.Object) error) error {
	if p.Kind != dav.ResObject {
		return s.store.Objects(p.User, p.Collection, true, fn)
	}
	o, err := s.store.Get(p.User, p.Collection, p.Object)
	if err != nil {
		return err
	}
	return fn(o)
}

var errStopListing = &dav.Error{Status: http.StatusOK, Msg: "stop"}
