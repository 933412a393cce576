package files

import (
	"slices"
	"strings"
	"testing"
)

// FuzzFilesCollName: the storage name of a files path decodes back to the
// path, and the prefix scan that finds sub-collections finds exactly the
// paths below it.
func FuzzFilesCollName(f *testing.F) {
	for _, s := range []string{"a", "a/b", "100%/x", "a%2Fb/c", "%25/%2F", "ж/😀", "litmus/ccsrc/subcoll"} {
		f.Add(s, "a")
	}
	f.Fuzz(func(t *testing.T, path, other string) {
		rel := splitRel(path)
		coll := filesColl(rel)
		back, ok := filesRel(coll)
		if !ok || !slices.Equal(back, rel) {
			t.Fatalf("filesRel(filesColl(%q)) = %q, %v", rel, back, ok)
		}
		o := splitRel(other)
		below := len(o) > len(rel) && slices.Equal(o[:len(rel)], rel)
		if got := strings.HasPrefix(filesColl(o), filesDescendantPrefix(rel)); got != below && len(o) > 0 {
			t.Fatalf("%q under %q: prefix scan says %v, paths say %v", o, rel, got, below)
		}
	})
}

// splitRel makes a path of non-empty segments without '/'.
func splitRel(s string) []string {
	var out []string
	for _, seg := range strings.Split(s, "/") {
		if seg != "" {
			out = append(out, seg)
		}
	}
	return out
}
