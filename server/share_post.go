package server

import (
	"encoding/json"
	"encoding/xml"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/pimvault/pimvault/account"
	"github.com/pimvault/pimvault/server/internal/dav"
)

// shareXML is CalendarServer's CS:share request (caldav-sharing §5.5.2, as
// Apple's clients send it): set grants and remove them, by sharee address.
type shareXML struct {
	XMLName xml.Name `xml:"http://calendarserver.org/ns/ share"`
	Set     []struct {
		Href      string    `xml:"DAV: href"`
		ReadWrite *struct{} `xml:"http://calendarserver.org/ns/ read-write"`
	} `xml:"http://calendarserver.org/ns/ set"`
	Remove []struct {
		Href string `xml:"DAV: href"`
	} `xml:"http://calendarserver.org/ns/ remove"`
}

// sharePost answers a CS:share POST to one of the user's own address books
// or calendars. Every sharee is resolved (a mailto: address or principal
// URL of an account) before any grant changes; a sharee that is no account
// refuses the whole request. Grants take effect at once: there is no
// invitation to accept.
func (s *Server) sharePost(w http.ResponseWriter, r *http.Request, p dav.Path) {
	if _, err := s.collection(p); err != nil {
		s.writeError(w, r, err)
		return
	}
	// A page elsewhere must not share a user's data with the credentials
	// their browser holds: no cross-site request, and an XML type no HTML
	// form can send.
	if err := checkSameOrigin(r); err != nil {
		s.writeError(w, r, err)
		return
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/xml" && mt != "text/xml" {
		s.writeError(w, r, &dav.Error{Status: http.StatusUnsupportedMediaType, Msg: "CS:share takes Content-Type: application/xml"})
		return
	}
	body, err := dav.ReadXMLBody(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var req shareXML
	if body == nil || xml.Unmarshal(body, &req) != nil {
		s.writeError(w, r, dav.BadRequest("POST to a collection takes a CS:share body"))
		return
	}
	if len(req.Set)+len(req.Remove) > account.MaxSharees {
		s.writeError(w, r, dav.BadRequest("at most %d sharees per request", account.MaxSharees))
		return
	}
	dir, err := s.loadDirectory()
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	type change struct{ sharee, access string }
	var changes []change
	resolve := func(href string) (string, bool) {
		u, ok := dir.lookup(strings.TrimSpace(href))
		if !ok {
			s.writeError(w, r, dav.Forbidden(dav.NSDAV, "", "%q is no account of this server", href))
		}
		return u, ok
	}
	for _, st := range req.Set {
		u, ok := resolve(st.Href)
		if !ok {
			return
		}
		access := account.ShareRead
		if st.ReadWrite != nil {
			access = account.ShareReadWrite
		}
		changes = append(changes, change{u, access})
	}
	c, _ := s.store.Collection(p.User, p.Collection)
	grants := account.Grants(c)
	for _, rm := range req.Remove {
		u, ok := resolve(rm.Href)
		if !ok {
			return
		}
		if _, shared := grants[u]; shared {
			changes = append(changes, change{u, ""})
		}
	}
	for _, ch := range changes {
		if err := account.SetShare(r.Context(), s.store, p.User, p.Collection, ch.sharee, ch.access); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusOK)
}

// apiShares answers GET /api/shares: the user's grants to others and the
// collections shared with them.
func (s *Server) apiShares(w http.ResponseWriter, r *http.Request) {
	user := userFrom(r.Context())
	mine, err := account.SharesOf(s.store, user)
	if err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	withMe, err := account.SharedWith(s.store, user)
	if err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	type share struct {
		Owner      string `json:"owner"`
		Collection string `json:"collection"`
		Kind       string `json:"kind"`
		Sharee     string `json:"sharee"`
		Access     string `json:"access"`
	}
	conv := func(in []account.Share) []share {
		out := []share{}
		for _, sh := range in {
			out = append(out, share(sh))
		}
		return out
	}
	writeJSON(w, http.StatusOK, map[string]any{"shared_by_me": conv(mine), "shared_with_me": conv(withMe)})
}

// apiShare answers POST /api/shares {"collection","sharee","access"}: the
// signed-in user grants sharee "read" or "read-write" access to one of
// their collections, or with access "" takes it back.
func (s *Server) apiShare(w http.ResponseWriter, r *http.Request) {
	var b struct {
		Collection string `json:"collection"`
		Sharee     string `json:"sharee"`
		Access     string `json:"access"`
	}
	dec := json.NewDecoder(io.LimitReader(r.Body, 4096))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&b); err != nil {
		s.writeAPIError(w, r, dav.BadRequest("body: %v", err))
		return
	}
	if err := account.SetShare(r.Context(), s.store, userFrom(r.Context()), b.Collection, b.Sharee, b.Access); err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	s.apiShares(w, r)
}
