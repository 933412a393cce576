package server

import (
	"mime"
	"net/http"
	"strings"

	"github.com/pimvault/pimvault/card"
	"github.com/pimvault/pimvault/server/internal/dav"
	"github.com/pimvault/pimvault/storage"
)

// putCard stores a vCard (RFC 6352 §5.1): card.Validate checks the body,
// which is stored exactly as sent with its UID (a vCard 2.1 is stored as the
// 3.0 card.Validate made of it, answered without an ETag).
func (s *Server) putCard(w http.ResponseWriter, r *http.Request, p dav.Path) {
	if p.Kind != dav.ResObject {
		s.writeError(w, r, &dav.Error{Status: http.StatusMethodNotAllowed, Msg: "PUT is only allowed on objects inside a collection"})
		return
	}
	if _, err := s.collection(p); err != nil {
		s.writeError(w, r, &dav.Error{Status: http.StatusConflict, Msg: "the collection does not exist"})
		return
	}
	tooBig := dav.Forbidden(dav.NSCardDAV, "max-resource-size", "body over %d bytes", s.cfg.MaxResourceSize)
	body, err := s.readPutBody(r, tooBig, checkCardContentType)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	info, err := card.Validate(body)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	asSent := info.Body == nil
	if !asSent {
		s.log.Info("vCard rewritten before storing", "user", p.User, "collection", p.Collection, "object", p.Object, "fixed", strings.Join(info.Fixed, "; "))
		body = info.Body
	}
	c := storage.Change{Op: storage.OpPut, Principal: p.User, Collection: p.Collection, Name: p.Object,
		// A UID the server made for a card without one changes with each
		// edit of the card, so it does not bind the object.
		Body: body, Meta: storage.ObjectMeta{UID: info.UID, Component: "VCARD"}, KeepUID: !info.UIDMade,
		// A stock client's identical re-put is still a change (its token and
		// CTag move); a pimvault device's replay of one writes nothing.
		Touch: deviceOf(r) == ""}
	s.commitPutBody(w, r, p, c, asSent, func() { s.syncBirthdays(r, p.User, p.Collection, info.UID, body) })
}

// checkCardContentType accepts text/vcard (and its old aliases) or no type.
func checkCardContentType(r *http.Request) error {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return nil
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return dav.Forbidden(dav.NSCardDAV, "supported-address-data", "bad Content-Type %q", ct)
	}
	switch mt {
	case "text/vcard", "text/x-vcard", "text/directory":
		return nil
	}
	return dav.Forbidden(dav.NSCardDAV, "supported-address-data", "Content-Type %s is not a vCard", mt)
}
