package server

import (
	"encoding/xml"
	"io"
	"log/slog"
	"testing"

	"github.com/pimvault/pimvault/server/internal/dav"
	"github.com/pimvault/pimvault/storage"
)

// TestMemberListerMatchesPropSet: the Depth 1 member path writes the same
// bytes as objectProps and PropSet.Pick, for every shape of request by name.
func TestMemberListerMatchesPropSet(t *testing.T) {
	s := New(nil, Config{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	o := storage.Object{Name: "a b&c.vcf", ETag: "e1", Size: 123, Time: 1780300800123456789}
	lists := [][]xml.Name{
		{dav.NameGetETag},
		{dav.NameGetETag, dav.NameGetContentType, dav.NameResourceType},
		{dav.NameGetLastModified, dav.NameGetContentLength, dav.NameOwner, {Space: "urn:z", Local: "dead"}, {Space: "", Local: "bare"}},
		{dav.NameSyncToken, dav.NameDisplayName, dav.NameGetETag},
		nil,
	}
	for _, home := range []string{dav.HomeCards, dav.HomeCalendars} {
		p := dav.Path{Kind: dav.ResCollection, Home: home, User: "al ice", Collection: "con tacts"}
		for i, names := range lists {
			req := &dav.PropfindRequest{Prop: &dav.PropList{Names: namesToAny(names)}}
			fast, slow := dav.NewMultistatus(nil, nil, names), dav.NewMultistatus(nil, nil, names)
			s.newMemberLister(p, req).respond(fast, o)
			op := dav.Path{Kind: dav.ResObject, Home: p.Home, User: p.User, Collection: p.Collection, Object: o.Name}
			found, missing := s.objectProps(op, o, p.User, false).Pick(req)
			slow.PropResponse(op.Href(), found, missing, false)
			if fast.String() != slow.String() {
				t.Errorf("%s, list %d:\nfast %s\nslow %s", home, i, fast.String(), slow.String())
			}
		}
	}
}
