package server

import (
	"encoding/xml"
	"net/url"
	"strconv"

	"github.com/pimvault/pimvault/server/internal/dav"
	"github.com/pimvault/pimvault/storage"
)

// memberLister answers the members of a PROPFIND Depth 1 listing that asks
// for properties by name (what clients ask for): the values every member
// shares (its owner, content type, privileges …) are made once for the
// listing, and each member adds only its own (ETag, length, time), without
// a property map per member. It writes exactly what objectProps and
// PropSet.Pick would.
type memberLister struct {
	names   []xml.Name
	shared  map[xml.Name]string // the values that are the same for every member
	prefix  string              // the collection's href
	found   []dav.PropValue     // reused between members
	missing []xml.Name
}

// newMemberLister returns nil when the request is not by name (allprop and
// propname keep the general path).
func (s *Server) newMemberLister(p dav.Path, req *dav.PropfindRequest) *memberLister {
	if req.Prop == nil {
		return nil
	}
	sample := s.objectProps(dav.Path{Kind: dav.ResObject, Home: p.Home, User: p.User, Collection: p.Collection, Object: "x"}, storage.Object{}, p.User, false)
	shared := map[xml.Name]string{}
	for _, pv := range sample.All() {
		switch pv.Name {
		case dav.NameGetETag, dav.NameGetContentLength, dav.NameGetLastModified:
		default:
			shared[pv.Name] = pv.Inner
		}
	}
	return &memberLister{names: req.Prop.XMLNames(), shared: shared, prefix: p.Href()}
}

// respond writes o's response into ms.
func (l *memberLister) respond(ms *dav.Multistatus, o storage.Object) {
	l.found, l.missing = l.found[:0], l.missing[:0]
	for _, n := range l.names {
		var v string
		switch n {
		case dav.NameGetETag:
			v = dav.XMLEscape(dav.QuoteETag(o.ETag))
		case dav.NameGetContentLength:
			v = strconv.FormatInt(o.Size, 10)
		case dav.NameGetLastModified:
			v = dav.HTTPTime(o.Time)
		default:
			var ok bool
			if v, ok = l.shared[n]; !ok {
				l.missing = append(l.missing, n)
				continue
			}
		}
		l.found = append(l.found, dav.PropValue{Name: n, Inner: v})
	}
	ms.PropResponse(l.prefix+url.PathEscape(o.Name), l.found, l.missing, false)
}
