package server

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/pimvault/pimvault/storage"
)

// URL layout (DESIGN.md §6):
//
//	/dav/                                  root
//	/dav/principals/<user>/                principal
//	/dav/addressbooks/<user>/              address book home
//	/dav/addressbooks/<user>/<book>/       address book
//	/dav/addressbooks/<user>/<book>/<obj>  vCard
//	/dav/calendars/<user>/…                the same for calendars
//	/dav/files/<user>/<path…>              generic WebDAV area (files_path.go)
const (
	davPrefix       = "/dav/"
	homeCards       = "addressbooks"
	homeCalendars   = "calendars"
	homePrincipals  = "principals"
	kindAddressBook = "addressbook"
	kindCalendar    = "calendar"
	defaultBook     = "contacts"
)

type resKind int

const (
	resRoot resKind = iota
	resPrincipals
	resPrincipal
	resHome
	resCollection
	resObject
	resFiles // anything under /dav/files/<user>/, resolved by files_path.go
)

// davPath is a parsed, validated request path.
type davPath struct {
	kind       resKind
	home       string // homeCards, homeCalendars or homePrincipals
	user       string
	collection string
	object     string
	files      []string // resFiles: the path below the user's files root
}

// href returns the canonical, escaped URL path of p.
func (p davPath) href() string {
	switch p.kind {
	case resRoot:
		return davPrefix
	case resPrincipals:
		return davPrefix + homePrincipals + "/"
	case resPrincipal, resHome:
		return davPrefix + p.home + "/" + url.PathEscape(p.user) + "/"
	case resCollection:
		return davPrefix + p.home + "/" + url.PathEscape(p.user) + "/" + url.PathEscape(p.collection) + "/"
	}
	return davPrefix + p.home + "/" + url.PathEscape(p.user) + "/" + url.PathEscape(p.collection) + "/" + url.PathEscape(p.object)
}

func (p davPath) collectionKind() string {
	if p.home == homeCalendars {
		return kindCalendar
	}
	return kindAddressBook
}

func principalHref(user string) string {
	return davPath{kind: resPrincipal, home: homePrincipals, user: user}.href()
}

func homeHref(home, user string) string {
	return davPath{kind: resHome, home: home, user: user}.href()
}

var errBadPath = &DAVXError{Status: http.StatusNotFound, msg: "no such resource"}

// parseDAVPath parses an escaped URL path (from a request or an href in a
// body). Each segment is unescaped on its own, so an encoded slash never
// becomes a separator; empty, "." and ".." segments and names the store
// would refuse are rejected.
func parseDAVPath(escaped string) (davPath, error) {
	if u, err := url.Parse(escaped); err == nil && (u.Scheme != "" || u.Host != "") {
		escaped = u.EscapedPath()
	}
	if escaped == "/dav" || escaped == "/" {
		return davPath{kind: resRoot}, nil
	}
	if !strings.HasPrefix(escaped, davPrefix) {
		return davPath{}, errBadPath
	}
	rest := strings.TrimPrefix(escaped, davPrefix)
	trailing := strings.HasSuffix(rest, "/")
	rest = strings.TrimSuffix(rest, "/")
	if rest == "" {
		return davPath{kind: resRoot}, nil
	}
	raw := strings.Split(rest, "/")
	segs := make([]string, len(raw))
	for i, s := range raw {
		v, err := url.PathUnescape(s)
		if err != nil || v == "" || v == "." || v == ".." || strings.ContainsAny(v, "/\\") {
			return davPath{}, errBadPath
		}
		if i > 0 && storage.ValidateName("path segment", v) != nil {
			return davPath{}, errBadPath
		}
		segs[i] = v
	}
	p := davPath{home: segs[0]}
	switch p.home {
	case homePrincipals:
		switch len(segs) {
		case 1:
			p.kind = resPrincipals
		case 2:
			p.kind, p.user = resPrincipal, segs[1]
		default:
			return davPath{}, errBadPath
		}
		return p, nil
	case homeFiles:
		return parseFilesPath(segs)
	case homeCards, homeCalendars:
		if len(segs) > 2 && isFilesCollection(segs[2]) {
			return davPath{}, errBadPath // reserved for the files area's storage names
		}
	default:
		return davPath{}, errBadPath
	}
	switch len(segs) {
	case 2:
		p.kind, p.user = resHome, segs[1]
	case 3:
		p.kind, p.user, p.collection = resCollection, segs[1], segs[2]
	case 4:
		if trailing {
			return davPath{}, errBadPath // no collections inside collections
		}
		p.kind, p.user, p.collection, p.object = resObject, segs[1], segs[2], segs[3]
	default:
		return davPath{}, errBadPath
	}
	return p, nil
}
