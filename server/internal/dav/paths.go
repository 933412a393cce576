package dav

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/pimvault/pimvault/storage"
)

// URL layout:
//
//	/dav/                                  root
//	/dav/principals/<user>/                principal
//	/dav/addressbooks/                     the collection of address book homes
//	/dav/addressbooks/<user>/              address book home
//	/dav/addressbooks/<user>/<book>/       address book
//	/dav/addressbooks/<user>/<book>/<obj>  vCard
//	/dav/calendars/<user>/…                the same for calendars
//	/dav/files/<user>/<path…>              generic WebDAV area (files_path.go)
const (
	HomeCards       = "addressbooks"
	HomeCalendars   = "calendars"
	homePrincipals  = "principals"
	KindAddressBook = "addressbook"
	KindCalendar    = "calendar"
	DefaultBook     = "contacts"
)

// Prefix is the path of the DAV tree: "/dav/" under the base path the server
// runs under (SetBasePath). Every href and Location the server writes starts
// with it, and ParsePath accepts nothing else.
var Prefix = "/dav/"

// basePath is the path prefix the server runs under behind a reverse proxy
// ("" at the root).
var basePath = ""

// SetBasePath makes the server answer under base ("/pim": the DAV tree at
// /pim/dav/, the API at /pim/api/): the path a reverse proxy forwards
// unchanged. It is set once, when the server is built, before it serves;
// "" is the root.
func SetBasePath(base string) error {
	if err := CheckBasePath(base); err != nil {
		return err
	}
	if base == basePath {
		// Unchanged: nothing is written, so servers made side by side in
		// one process (tests, the load tool's) do not race on it.
		return nil
	}
	basePath, Prefix = base, base+"/dav/"
	return nil
}

// BasePath returns the base path set by SetBasePath.
func BasePath() string { return basePath }

// CheckBasePath checks a base path: empty, or "/" followed by path segments
// of letters, digits, '-', '_', '.' and '~' (no "." or ".." segment), without
// a trailing slash.
func CheckBasePath(base string) error {
	if base == "" {
		return nil
	}
	if !strings.HasPrefix(base, "/") || strings.HasSuffix(base, "/") || len(base) > 200 {
		return fmt.Errorf("base path %q must start with / and not end with one", base)
	}
	for _, seg := range strings.Split(base[1:], "/") {
		if seg == "" || seg == "." || seg == ".." {
			return fmt.Errorf("base path %q has an empty, . or .. segment", base)
		}
		for _, r := range seg {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_.~", r)) {
				return fmt.Errorf("base path %q: only letters, digits, - _ . ~ and / are allowed", base)
			}
		}
	}
	return nil
}

type resKind int

const (
	ResRoot resKind = iota
	ResPrincipals
	ResPrincipal
	ResHomes // /dav/calendars/ or /dav/addressbooks/: lists the user's own home
	ResHome
	ResCollection
	ResObject
	ResFiles // anything under /dav/files/<user>/, resolved by files_path.go
)

// Path is a parsed, validated request path.
type Path struct {
	Kind       resKind
	Home       string // homeCards, homeCalendars or homePrincipals
	User       string
	Collection string
	Object     string
	Files      []string // resFiles: the path below the user's files root
}

// Href returns the canonical, escaped URL path of p.
func (p Path) Href() string {
	switch p.Kind {
	case ResRoot:
		return Prefix
	case ResPrincipals:
		return Prefix + homePrincipals + "/"
	case ResHomes:
		return Prefix + p.Home + "/"
	case ResPrincipal, ResHome:
		return Prefix + p.Home + "/" + url.PathEscape(p.User) + "/"
	case ResCollection:
		return Prefix + p.Home + "/" + url.PathEscape(p.User) + "/" + url.PathEscape(p.Collection) + "/"
	}
	return Prefix + p.Home + "/" + url.PathEscape(p.User) + "/" + url.PathEscape(p.Collection) + "/" + url.PathEscape(p.Object)
}

func (p Path) CollectionKind() string {
	if p.Home == HomeCalendars {
		return KindCalendar
	}
	return KindAddressBook
}

func PrincipalHref(user string) string {
	return Path{Kind: ResPrincipal, Home: homePrincipals, User: user}.Href()
}

func HomeHref(home, user string) string {
	return Path{Kind: ResHome, Home: home, User: user}.Href()
}

var errBadPath = &Error{Status: http.StatusNotFound, Msg: "no such resource"}

// ParsePath parses an escaped URL path (from a request or an href in a
// body). Each segment is unescaped on its own, so an encoded slash never
// becomes a separator; empty, "." and ".." segments and names the store
// would refuse are rejected.
func ParsePath(escaped string) (Path, error) {
	if u, err := url.Parse(escaped); err == nil && (u.Scheme != "" || u.Host != "") {
		escaped = u.EscapedPath()
	}
	if escaped == strings.TrimSuffix(Prefix, "/") || escaped == basePath+"/" || escaped == "/" {
		return Path{Kind: ResRoot}, nil
	}
	if !strings.HasPrefix(escaped, Prefix) {
		return Path{}, errBadPath
	}
	rest := strings.TrimPrefix(escaped, Prefix)
	trailing := strings.HasSuffix(rest, "/")
	rest = strings.TrimSuffix(rest, "/")
	if rest == "" {
		return Path{Kind: ResRoot}, nil
	}
	raw := strings.Split(rest, "/")
	segs := make([]string, len(raw))
	for i, s := range raw {
		v, err := url.PathUnescape(s)
		if err != nil || v == "" || v == "." || v == ".." || strings.ContainsAny(v, "/\\") {
			return Path{}, errBadPath
		}
		if i > 0 && storage.ValidateName("path segment", v) != nil {
			return Path{}, errBadPath
		}
		segs[i] = v
	}
	p := Path{Home: segs[0]}
	switch p.Home {
	case homePrincipals:
		switch len(segs) {
		case 1:
			p.Kind = ResPrincipals
		case 2:
			p.Kind, p.User = ResPrincipal, segs[1]
		default:
			return Path{}, errBadPath
		}
		return p, nil
	case HomeFiles:
		return parseFilesPath(segs)
	case HomeCards, HomeCalendars:
		if len(segs) > 2 && IsFilesCollection(segs[2]) {
			return Path{}, errBadPath // reserved for the files area's storage names
		}
	default:
		return Path{}, errBadPath
	}
	switch len(segs) {
	case 1:
		p.Kind = ResHomes
	case 2:
		p.Kind, p.User = ResHome, segs[1]
	case 3:
		p.Kind, p.User, p.Collection = ResCollection, segs[1], segs[2]
	case 4:
		if trailing {
			return Path{}, errBadPath // no collections inside collections
		}
		p.Kind, p.User, p.Collection, p.Object = ResObject, segs[1], segs[2], segs[3]
	default:
		return Path{}, errBadPath
	}
	return p, nil
}

// ParseDestination reads the Destination header of a COPY or MOVE (RFC
// 4918 §10.3): an absolute URI or an absolute path. A URI naming another
// origin (scheme, host or port) is a 502 Bad Gateway (§9.8.5, §9.9.4): this
// server copies only within itself. The request's origin is its Host with
// the scheme it came in on; X-Forwarded-Proto and X-Forwarded-Host stand in
// for them behind a reverse proxy (believing them lets a client do no more
// than name a destination it could name anyway). A missing or unparsable
// Destination is a 400.
func ParseDestination(r *http.Request) (Path, error) {
	raw := r.Header.Get("Destination")
	if raw == "" {
		return Path{}, BadRequest("%s needs a Destination header", r.Method)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return Path{}, BadRequest("Destination is not a URI: %v", err)
	}
	if u.Scheme != "" || u.Host != "" {
		if u.User != nil || u.Opaque != "" {
			return Path{}, BadRequest("Destination is not an http URI")
		}
		if want, got := RequestOrigin(r), OriginOf(u.Scheme, u.Host); got != want {
			return Path{}, &Error{Status: http.StatusBadGateway, Msg: "Destination " + got + " is another server than " + want}
		}
	}
	return ParsePath(u.EscapedPath())
}

// RequestOrigin is scheme://host:port of the request as the client sent it.
func RequestOrigin(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if p := r.Header.Get("X-Forwarded-Proto"); p != "" {
		scheme, _, _ = strings.Cut(p, ",")
	}
	host := r.Host
	if h := r.Header.Get("X-Forwarded-Host"); h != "" {
		host, _, _ = strings.Cut(h, ",")
	}
	return OriginOf(strings.TrimSpace(scheme), strings.TrimSpace(host))
}

// OriginOf normalises scheme and host: lower case, the default port made
// explicit.
func OriginOf(scheme, host string) string {
	scheme, host = strings.ToLower(scheme), strings.ToLower(host)
	if _, _, err := net.SplitHostPort(host); err != nil {
		switch scheme {
		case "https":
			host = net.JoinHostPort(strings.Trim(host, "[]"), "443")
		default:
			host = net.JoinHostPort(strings.Trim(host, "[]"), "80")
		}
	}
	return scheme + "://" + host
}
