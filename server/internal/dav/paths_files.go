package dav

import "strings"

// The files area: /dav/files/<user>/ is a plain WebDAV (RFC 4918) tree of
// collections and resources of any content type, not advertised to CardDAV
// or CalDAV clients. Storage keeps collections flat per principal, with names
// that cannot contain '/', so a collection at the relative path a/b/c is the
// storage collection of kind "files" named
//
//	"files:" + escape("a") + "%2F" + escape("b") + "%2F" + escape("c")
//
// where escape replaces '%' by "%25". Every '%' of a name is then followed by
// "25" or "2F", so the mapping is reversible, and the sub-collections of a/b,
// at any depth, are exactly the names starting with "files:a%2Fb%2F" (a
// prefix scan). The files root itself is the collection "files:". A
// resource's storage name is its last path segment, in its parent's storage
// collection.
const (
	HomeFiles        = "files"
	KindFiles        = "files"
	FilesCollPrefix  = "files:"
	FilesSep         = "%2F"
	maxFilesPathSegs = 32
)

// parseFilesPath takes the unescaped, validated segments of a path whose
// first segment is "files".
func parseFilesPath(segs []string) (Path, error) {
	if len(segs) < 2 || len(segs)-2 > maxFilesPathSegs {
		return Path{}, errBadPath
	}
	return Path{Kind: ResFiles, Home: HomeFiles, User: segs[1], Files: segs[2:]}, nil
}

// IsFilesCollection reports whether a storage collection name belongs to the
// files area (such names are refused elsewhere).
func IsFilesCollection(name string) bool { return strings.HasPrefix(name, FilesCollPrefix) }
