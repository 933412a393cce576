package server

import (
	"bytes"
	"encoding/xml"
	"strconv"
	"sync"

	"github.com/emersion/go-ical"

	"github.com/pimvault/pimvault/calendar"
	"github.com/pimvault/pimvault/server/internal/dav"
	"github.com/pimvault/pimvault/storage"
)

// collectionNote is what GET answers on a resource that is neither an object
// nor a calendar or address book (the root, principals, homes).
const collectionNote = "pimvault: this is a CardDAV/CalDAV collection; use a DAV client.\n"

// principalPage is what GET answers on a principal: where its homes are, for
// a person who opens the address a client was given in a browser.
func principalPage(user string) string {
	return "pimvault: the principal of " + user + "\n" +
		"calendar home: " + dav.HomeHref(dav.HomeCalendars, user) + "\n" +
		"address book home: " + dav.HomeHref(dav.HomeCards, user) + "\n" +
		"Give this address to a CalDAV or CardDAV client.\n"
}

// exportBody is what GET of a calendar or address book answers: the whole
// calendar as one VCALENDAR, or the address book's vCards one after another.
func (s *Server) exportBody(p dav.Path, c storage.Collection) ([]byte, error) {
	var buf bytes.Buffer
	if c.Kind == dav.KindCalendar {
		var cals []*ical.Calendar
		err := s.store.Objects(p.User, p.Collection, true, func(o storage.Object) error {
			cal, err := ical.NewDecoder(bytes.NewReader(o.Body)).Decode()
			if err != nil {
				s.log.Warn("stored calendar object does not parse; left out of the export", "user", p.User, "collection", p.Collection, "object", o.Name, "err", err)
				return nil
			}
			cals = append(cals, cal)
			return nil
		})
		if err != nil {
			return nil, err
		}
		merged, err := calendar.Export(cals, "-//pimvault//pimvault//EN")
		if err != nil {
			return nil, err
		}
		return []byte(encodeICal(merged)), nil
	}
	err := s.store.Objects(p.User, p.Collection, true, func(o storage.Object) error {
		buf.Write(o.Body)
		if !bytes.HasSuffix(o.Body, []byte("\n")) {
			buf.WriteString("\r\n")
		}
		return nil
	})
	return buf.Bytes(), err
}

// exportLengths remembers the length of each collection's export at the
// collection's last change, so that DAV:getcontentlength on a collection
// (RFC 4918 §15.4: the Content-Length of its GET) costs one export per
// change, not one per PROPFIND.
type exportLengths struct {
	mu sync.Mutex
	m  map[string]exportLength
}

type exportLength struct {
	seq uint64
	n   int
}

// maxExportLengths bounds the remembered lengths; past it the map starts over.
const maxExportLengths = 1024

// addExportLength adds DAV:getcontentlength to a calendar's or address book's
// properties when the PROPFIND names it: computing it means building the GET
// answer, which allprop and a listing that does not ask for it do not pay for.
func (s *Server) addExportLength(ps *dav.PropSet, req *dav.PropfindRequest, p dav.Path, c storage.Collection, epoch string) {
	if c.Kind != dav.KindCalendar && c.Kind != dav.KindAddressBook {
		return
	}
	if req.PropName != nil {
		ps.Add(dav.NameGetContentLength, "")
		return
	}
	if req.Prop == nil || !namesProp(req.Prop.XMLNames(), dav.NameGetContentLength) {
		return
	}
	key := epoch + "\x00" + p.User + "\x00" + p.Collection
	s.lengths.mu.Lock()
	l, ok := s.lengths.m[key]
	s.lengths.mu.Unlock()
	if !ok || l.seq != c.LastSeq {
		body, err := s.exportBody(p, c)
		if err != nil {
			s.log.Warn("could not size a collection's export", "user", p.User, "collection", p.Collection, "err", err)
			return // reported as not found
		}
		l = exportLength{seq: c.LastSeq, n: len(body)}
		s.lengths.mu.Lock()
		if s.lengths.m == nil || len(s.lengths.m) >= maxExportLengths {
			s.lengths.m = map[string]exportLength{}
		}
		s.lengths.m[key] = l
		s.lengths.mu.Unlock()
	}
	ps.Add(dav.NameGetContentLength, strconv.Itoa(l.n))
}

func namesProp(names []xml.Name, n xml.Name) bool {
	for _, m := range names {
		if m == n {
			return true
		}
	}
	return false
}
