package dav

import (
	"net/url"
	"strings"
	"testing"
)

// FuzzCheckBasePath: an accepted base path is a clean absolute path whose DAV
// tree parses back to the root and whose hrefs round-trip through ParsePath.
func FuzzCheckBasePath(f *testing.F) {
	for _, s := range []string{"", "/pim", "/a/b", "/pim/", "pim", "/../x", "/a b", "/ä", "//", "/~u.s-e_r"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, base string) {
		if CheckBasePath(base) != nil {
			return
		}
		defer SetBasePath("")
		if err := SetBasePath(base); err != nil {
			t.Fatalf("SetBasePath refused what CheckBasePath accepted: %v", err)
		}
		if u, err := url.Parse(base); err != nil || u.Path != base || strings.Contains(base, "//") {
			t.Fatalf("accepted base %q is not a clean path", base)
		}
		p, err := ParsePath(Prefix)
		if err != nil || p.Kind != ResRoot {
			t.Fatalf("ParsePath(%q) = %+v, %v", Prefix, p, err)
		}
		obj := Path{Kind: ResObject, Home: HomeCalendars, User: "u", Collection: "c", Object: "o.ics"}
		back, err := ParsePath(obj.Href())
		if err != nil || back.Href() != obj.Href() || back.Object != obj.Object || back.Kind != obj.Kind {
			t.Fatalf("href %q parses to %+v, %v", obj.Href(), back, err)
		}
	})
}
