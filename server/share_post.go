package server

import (
	"encoding/json"
	"encoding/xml"
	"io"
	"net/http"
	"strings"
	"time"

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
// URL of an account) before any grant changes. A new sharee gets an invitation (a
// notification to accept or decline, share_notify.go) and no access until
// they accept; a sharee who accepted already only has their access changed.
func (s *Server) sharePost(w http.ResponseWriter, r *http.Request, p dav.Path) {
	if _, err := s.collection(p); err != nil {
		s.writeError(w, r, err)
		return
	}
	body, err := readShareXML(w, r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	req, err := parseShare(body)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	dir, err := s.loadDirectory()
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	// Every sharee is checked first: an address that is no account of this
	// server, the owner's own, or a sharee who cannot be invited (too many
	// invitations waiting) refuses the request with a multistatus (403 for
	// it, 424 for the others, as CalendarServer answers) and nothing
	// changes. Removing an address that is no account (or has no
	// grant) has nothing to do.
	type change struct{ href, sharee, access string }
	var changes []change
	var bad []string
	for _, st := range req.Set {
		href := strings.TrimSpace(st.Href)
		u, ok := dir.lookup(href)
		if !ok || u == p.User {
			bad = append(bad, href)
			continue
		}
		access := account.ShareRead
		if st.ReadWrite != nil {
			access = account.ShareReadWrite
		}
		changes = append(changes, change{href, u, access})
	}
	c, _ := s.store.Collection(p.User, p.Collection)
	grants := account.AllGrants(c)
	for _, rm := range req.Remove {
		href := strings.TrimSpace(rm.Href)
		if u, ok := dir.lookup(href); ok {
			if _, shared := grants[u]; shared {
				changes = append(changes, change{href, u, ""})
			}
		}
	}
	for i := 0; i < len(changes); {
		if err := account.CheckInvite(s.store, p.User, p.Collection, changes[i].sharee, changes[i].access); err != nil {
			dav.LogRefusal(s.log, r, dav.ToError(err).Status, err.Error())
			bad = append(bad, changes[i].href)
			changes = append(changes[:i], changes[i+1:]...)
			continue
		}
		i++
	}
	if len(bad) > 0 {
		dav.LogRefusal(s.log, r, http.StatusForbidden, "CS:share names "+strings.Join(bad, ", ")+": no account of this server, the owner, or a sharee that cannot be invited")
		ms := dav.NewMultistatus(r.Context(), w, nil)
		for _, h := range bad {
			ms.StatusResponse(h, http.StatusForbidden)
		}
		for _, ch := range changes {
			ms.StatusResponse(ch.href, http.StatusFailedDependency)
		}
		ms.Finish(s.log, r)
		return
	}
	now := time.Now()
	for i, ch := range changes {
		err := account.Invite(r.Context(), s.store, p.User, p.Collection, ch.sharee, ch.access, now)
		if err == nil {
			continue
		}
		if i == 0 {
			s.writeError(w, r, err)
			return
		}
		// Checked above, yet refused now (a concurrent change): some
		// sharees are done (each invitation is its own change); say which,
		// which one failed and which were not tried.
		dav.LogRefusal(s.log, r, dav.ToError(err).Status, err.Error())
		ms := dav.NewMultistatus(r.Context(), w, nil)
		for j, done := range changes {
			switch {
			case j < i:
				ms.StatusResponse(done.href, http.StatusOK)
			case j == i:
				ms.StatusResponse(done.href, dav.ToError(err).Status)
			default:
				ms.StatusResponse(done.href, http.StatusFailedDependency)
			}
		}
		ms.Finish(s.log, r)
		return
	}
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusOK)
}

// parseShare reads and checks a CS:share body.
func parseShare(body []byte) (shareXML, error) {
	var req shareXML
	if len(body) == 0 || xml.Unmarshal(body, &req) != nil {
		return req, dav.BadRequest("POST to a collection takes a CS:share body")
	}
	if len(req.Set)+len(req.Remove) > account.MaxSharees {
		return req, dav.BadRequest("at most %d sharees per request", account.MaxSharees)
	}
	if len(req.Set)+len(req.Remove) == 0 {
		return req, dav.BadRequest("a CS:share sets or removes at least one sharee")
	}
	return req, nil
}

// apiShares answers GET /api/shares: the user's grants to others and the
// collections shared with them, each with its state (accepted, invited,
// declined).
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
		Status     string `json:"status"`
		Since      string `json:"invited_at,omitempty"`
	}
	conv := func(in []account.Share) []share {
		out := []share{}
		for _, sh := range in {
			since := ""
			if sh.Status == account.StatusInvited {
				since = sh.Since.Format(time.RFC3339)
			}
			out = append(out, share{sh.Owner, sh.Collection, sh.Kind, sh.Sharee, sh.Access, sh.Status, since})
		}
		return out
	}
	writeJSON(w, http.StatusOK, map[string]any{"shared_by_me": conv(mine), "shared_with_me": conv(withMe)})
}

// apiShare answers POST /api/shares {"collection","sharee","access"}: the
// signed-in user invites sharee to "read" or "read-write" access to one of
// their collections (the sharee accepts with POST /api/shares/reply or
// CS:invite-reply), or with access "" takes the grant back.
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
	if err := account.Invite(r.Context(), s.store, userFrom(r.Context()), b.Collection, b.Sharee, b.Access, time.Now()); err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	s.apiShares(w, r)
}

// apiShareReply answers POST /api/shares/reply {"owner","collection",
// "accept"}: the signed-in user accepts or declines an invitation (or,
// declining, leaves an accepted share).
func (s *Server) apiShareReply(w http.ResponseWriter, r *http.Request) {
	var b struct {
		Owner      string `json:"owner"`
		Collection string `json:"collection"`
		Accept     *bool  `json:"accept"`
	}
	dec := json.NewDecoder(io.LimitReader(r.Body, 4096))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&b); err != nil {
		s.writeAPIError(w, r, dav.BadRequest("body: %v", err))
		return
	}
	if b.Accept == nil {
		s.writeAPIError(w, r, dav.BadRequest("body: \"accept\" (true or false) is required"))
		return
	}
	if err := s.ownerNotRecovering(b.Owner); err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	if _, err := account.Reply(r.Context(), s.store, userFrom(r.Context()), b.Owner, b.Collection, *b.Accept, time.Now()); err != nil {
		s.writeAPIError(w, r, err)
		return
	}
	s.apiShares(w, r)
}
