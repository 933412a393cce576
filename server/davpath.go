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
	DAVXPrefix       = "/dav/"
	DAVXHomeCards       = "addressbooks"
	DAVXHomeCalendars   = "calendars"
	homePrincipals  = "principals"
	DAVXKindAddressBook = "addressbook"
	DAVXKindCalendar    = "calendar"
	DAVXDefaultBook     = "contacts"
)

type resKind int

const (
	DAVXResRoot resKind = iota
	DAVXResPrincipals
	DAVXResPrincipal
	DAVXResHome
	DAVXResCollection
	DAVXResObject
	DAVXResFiles // anything under /dav/files/<user>/, resolved by files_path.go
)

// DAVXPath is a parsed, validated request path.
type DAVXPath struct {
	Kind       resKind
	Home       string // homeCards, homeCalendars or homePrincipals
	User       string
	Collection string
	Object     string
	Files      []string // resFiles: the path below the user's files root
}

// Href returns the canonical, escaped URL path of p.
func (p DAVXPath) Href() string {
	switch p.Kind {
	case DAVXResRoot:
		return DAVXPrefix
	case DAVXResPrincipals:
		return DAVXPrefix + homePrincipals + "/"
	case DAVXResPrincipal, DAVXResHome:
		return DAVXPrefix + p.Home + "/" + url.PathEscape(p.User) + "/"
	case DAVXResCollection:
		return DAVXPrefix + p.Home + "/" + url.PathEscape(p.User) + "/" + url.PathEscape(p.Collection) + "/"
	}
	return DAVXPrefix + p.Home + "/" + url.PathEscape(p.User) + "/" + url.PathEscape(p.Collection) + "/" + url.PathEscape(p.Object)
}

func (p DAVXPath) CollectionKind() string {
	if p.Home == DAVXHomeCalendars {
		return DAVXKindCalendar
	}
	return DAVXKindAddressBook
}

func DAVXPrincipalHref(user string) string {
	return DAVXPath{Kind: DAVXResPrincipal, Home: homePrincipals, User: user}.Href()
}

func DAVXHomeHref(home, user string) string {
	return DAVXPath{Kind: DAVXResHome, Home: home, User: user}.Href()
}

var errBadPath = &DAVXError{Status: http.StatusNotFound, Msg: "no such resource"}

// DAVXParsePath parses an escaped URL path (from a request or an href in a
// body). Each segment is unescaped on its own, so an encoded slash never
// becomes a separator; empty, "." and ".." segments and names the store
// would refuse are rejected.
func DAVXParsePath(escaped string) (DAVXPath, error) {
	if u, err := url.Parse(escaped); err == nil && (u.Scheme != "" || u.Host != "") {
		escaped = u.EscapedPath()
	}
	if escaped == "/dav" || escaped == "/" {
		return DAVXPath{Kind: DAVXResRoot}, nil
	}
	if !strings.HasPrefix(escaped, DAVXPrefix) {
		return DAVXPath{}, errBadPath
	}
	rest := strings.TrimPrefix(escaped, DAVXPrefix)
	trailing := strings.HasSuffix(rest, "/")
	rest = strings.TrimSuffix(rest, "/")
	if rest == "" {
		return DAVXPath{Kind: DAVXResRoot}, nil
	}
	raw := strings.Split(rest, "/")
	segs := make([]string, len(raw))
	for i, s := range raw {
		v, err := url.PathUnescape(s)
		if err != nil || v == "" || v == "." || v == ".." || strings.ContainsAny(v, "/\\") {
			return DAVXPath{}, errBadPath
		}
		if i > 0 && storage.ValidateName("path segment", v) != nil {
			return DAVXPath{}, errBadPath
		}
		segs[i] = v
	}
	p := DAVXPath{Home: segs[0]}
	switch p.Home {
	case homePrincipals:
		switch len(segs) {
		case 1:
			p.Kind = DAVXResPrincipals
		case 2:
			p.Kind, p.User = DAVXResPrincipal, segs[1]
		default:
			return DAVXPath{}, errBadPath
		}
		return p, nil
	case DAVXHomeFiles:
		return parseFilesPath(segs)
	case DAVXHomeCards, DAVXHomeCalendars:
		if len(segs) > 2 && DAVXIsFilesCollection(segs[2]) {
			return DAVXPath{}, errBadPath // reserved for the files area's storage names
		}
	default:
		return DAVXPath{}, errBadPath
	}
	switch len(segs) {
	case 2:
		p.Kind, p.User = DAVXResHome, segs[1]
	case 3:
		p.Kind, p.User, p.Collection = DAVXResCollection, segs[1], segs[2]
	case 4:
		if trailing {
			return DAVXPath{}, errBadPath // no collections inside collections
		}
		p.Kind, p.User, p.Collection, p.Object = DAVXResObject, segs[1], segs[2], segs[3]
	default:
		return DAVXPath{}, errBadPath
	}
	return p, nil
}
