package layout

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// pkg is the part of `go list -json` output the rules need.
type pkg struct {
	ImportPath   string
	Imports      []string // direct, non-test
	Deps         []string // transitive, non-test
	TestImports  []string
	XTestImports []string
	Error        *struct{ Err string }
}

// rule forbids packages matching from (a module-relative path: "device"
// means device and device/...) to depend on to: a module-relative path
// (matched the same way) or a standard-library path (matched exactly), or
// "non-std", meaning anything outside the standard library.
//
// Transitive rules look at every package the non-test build pulls in, plus
// the direct imports of the package's tests; direct rules look only at the
// import declarations, tests included.
type rule struct {
	from, to   string
	transitive bool
	why        string
}

// lowerLayers never import upperLayers: the direction is
// cmd → server, web, admin, account, transfer, device → storage, calendar, card → syncproto.
var (
	lowerLayers = []string{"syncproto", "storage", "calendar", "card", "schedule", "internal/collation"}
	upperLayers = []string{"server", "web", "admin", "account", "transfer", "device", "cmd"}
)

func importRules() []rule {
	rules := []rule{
		{"device", "server", true, "a device talks to a server only over HTTP (the contract is in syncproto)"},
		{"device", "storage", true, "a device keeps its own replica; the server's store is not its business"},
		{"storage", "net/http", true, "storage knows nothing of HTTP; server maps its errors to statuses"},
		{"storage", "encoding/xml", true, "storage knows nothing of DAV XML"},
		{"syncproto", "non-std", true, "syncproto is pure decisions on the standard library, usable by server and device alike"},
		{"server", "transfer", true, "server is HTTP only; export and import reach it through admin (its tests may use transfer to compare PUT and import)"},
	}
	for _, lo := range []string{"syncproto", "storage", "calendar", "card", "schedule"} {
		rules = append(rules, rule{"internal/collation", lo, true, "internal/collation is the bottom layer, shared by calendar and card"})
	}
	for _, lo := range lowerLayers {
		for _, up := range upperLayers {
			rules = append(rules, rule{lo, up, true, lo + " is a lower layer than " + up})
		}
	}
	return rules
}

// serverImportAllowed is the rule for module packages outside server/: none
// may import a server/... package, except that a command (cmd/...) may
// import server itself, which builds the whole HTTP handler (its
// sub-packages, such as server/internal/dav and server/files, are wired
// inside it). The Go toolchain already refuses server/internal/... outside
// server/; this rule extends that to every sub-package of server.
func serverImportAllowed(from, to string) bool {
	if !within(to, "server") || within(from, "server") {
		return true
	}
	return within(from, "cmd") && to == "server"
}

// within reports whether the module-relative path p is dir or below it.
func within(p, dir string) bool {
	return p == dir || strings.HasPrefix(p, dir+"/")
}

// violations applies the rules to pkgs (module packages, module the
// module path) and returns one line per broken rule, sorted.
func violations(module string, pkgs []pkg) []string {
	rel := func(path string) (string, bool) {
		if path == module {
			return ".", true
		}
		r, ok := strings.CutPrefix(path, module+"/")
		return r, ok
	}
	isStd := func(path string) bool {
		first, _, _ := strings.Cut(path, "/")
		return !strings.Contains(first, ".")
	}
	var out []string
	rules := importRules()
	for _, p := range pkgs {
		from, ok := rel(p.ImportPath)
		if !ok {
			continue
		}
		tests := append(append([]string{}, p.TestImports...), p.XTestImports...)
		direct := append(append([]string{}, p.Imports...), tests...)
		transitive := append(append([]string{}, p.Deps...), tests...)
		for _, r := range rules {
			if !within(from, r.from) {
				continue
			}
			set := direct
			if r.transitive {
				set = transitive
			}
			for _, imp := range set {
				var bad bool
				switch to, inModule := rel(imp); {
				case r.to == "non-std":
					bad = !isStd(imp)
				case inModule:
					bad = within(to, r.to)
				default:
					bad = imp == r.to
				}
				testOnly := contains(tests, imp) && !contains(p.Deps, imp)
				if bad && !(testOnly && (r.to == "non-std" || r.to == "transfer")) {
					out = append(out, from+" depends on "+imp+": "+r.why)
				}
			}
		}
		for _, imp := range direct {
			if to, inModule := rel(imp); inModule && !serverImportAllowed(from, to) {
				out = append(out, from+" imports "+imp+": outside server/ only cmd/... may import server, and only server itself")
			}
		}
	}
	sort.Strings(out)
	return slicesCompact(out)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func slicesCompact(s []string) []string {
	var out []string
	for i, x := range s {
		if i == 0 || x != s[i-1] {
			out = append(out, x)
		}
	}
	return out
}

// moduleRoot is the directory of go.mod, two levels up from this package.
func moduleRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root: %v", err)
	}
	return root
}

func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return filepath.Join(runtime.GOROOT(), "bin", "go")
}

// listPackages runs `go list -e -json ./...` in the module root.
func listPackages(t *testing.T, root string) (module string, pkgs []pkg) {
	t.Helper()
	cmd := exec.Command(goTool(), "list", "-e", "-json", "./...")
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p pkg
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("decode go list output: %v", err)
		}
		if p.Error != nil {
			t.Errorf("go list %s: %s", p.ImportPath, p.Error.Err)
		}
		pkgs = append(pkgs, p)
	}
	mod := exec.Command(goTool(), "list", "-m")
	mod.Dir = root
	m, err := mod.Output()
	if err != nil {
		t.Fatalf("go list -m: %v", err)
	}
	return strings.TrimSpace(string(m)), pkgs
}

// TestImportDirection fails on any import that breaks the direction of
// docs/ARCHITECTURE.md (the rules are importRules and serverImportAllowed).
func TestImportDirection(t *testing.T) {
	module, pkgs := listPackages(t, moduleRoot(t))
	if len(pkgs) < 5 {
		t.Fatalf("go list found %d packages; the module has more", len(pkgs))
	}
	for _, v := range violations(module, pkgs) {
		t.Error(v)
	}
}

// TestImportRulesCatchViolations feeds the rules packages that break each
// of them, so a rule that stopped matching would be noticed.
func TestImportRulesCatchViolations(t *testing.T) {
	const m = "example.org/pv"
	for _, tc := range []struct {
		name string
		p    pkg
		want string // substring of an expected violation; "" for none
	}{
		{"device imports server", pkg{ImportPath: m + "/device", Imports: []string{m + "/server"}, Deps: []string{m + "/server"}}, "device depends on " + m + "/server"},
		{"device reaches storage through a dependency", pkg{ImportPath: m + "/device/sub", Deps: []string{m + "/x", m + "/storage"}}, "device/sub depends on " + m + "/storage"},
		{"device test imports storage", pkg{ImportPath: m + "/device", XTestImports: []string{m + "/storage"}}, "device depends on " + m + "/storage"},
		{"storage imports net/http", pkg{ImportPath: m + "/storage", Imports: []string{"net/http"}, Deps: []string{"net/http"}}, "storage depends on net/http"},
		{"storage reaches encoding/xml", pkg{ImportPath: m + "/storage", Deps: []string{"encoding/xml"}}, "storage depends on encoding/xml"},
		{"syncproto imports a third-party module", pkg{ImportPath: m + "/syncproto", Deps: []string{"github.com/x/y"}}, "syncproto depends on github.com/x/y"},
		{"calendar imports server", pkg{ImportPath: m + "/calendar", Deps: []string{m + "/server"}}, "calendar depends on " + m + "/server"},
		{"server imports transfer", pkg{ImportPath: m + "/server", Deps: []string{m + "/transfer"}}, "server depends on " + m + "/transfer"},
		{"transfer imports server/files", pkg{ImportPath: m + "/transfer", Imports: []string{m + "/server/files"}}, "transfer imports " + m + "/server/files"},
		{"admin imports server", pkg{ImportPath: m + "/admin", Imports: []string{m + "/server"}}, "admin imports " + m + "/server"},
		{"cmd imports server/internal/dav", pkg{ImportPath: m + "/cmd/pimvault", Imports: []string{m + "/server/internal/dav"}}, "cmd/pimvault imports " + m + "/server/internal/dav"},
		{"cmd test imports server/files", pkg{ImportPath: m + "/cmd/pvload", TestImports: []string{m + "/server/files"}}, "cmd/pvload imports " + m + "/server/files"},
		{"cmd imports server", pkg{ImportPath: m + "/cmd/pimvault", Imports: []string{m + "/server", m + "/device", m + "/storage"}}, ""},
		{"server imports its own sub-packages", pkg{ImportPath: m + "/server", Imports: []string{m + "/server/internal/dav", m + "/storage", "net/http"}}, ""},
		{"device uses syncproto and HTTP", pkg{ImportPath: m + "/device", Deps: []string{m + "/syncproto", "net/http", "encoding/xml"}}, ""},
		{"syncproto tests may use anything", pkg{ImportPath: m + "/syncproto", Deps: []string{"strings"}, TestImports: []string{"github.com/x/y"}}, ""},
	} {
		got := violations(m, []pkg{tc.p})
		switch {
		case tc.want == "" && len(got) != 0:
			t.Errorf("%s: want no violation, got %q", tc.name, got)
		case tc.want != "" && !strings.Contains(strings.Join(got, "\n"), tc.want):
			t.Errorf("%s: want a violation containing %q, got %q", tc.name, tc.want, got)
		}
	}
}

// goFiles returns the module's .go files (module-relative), leaving out
// testdata and hidden directories.
func goFiles(t *testing.T, root string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != root && (d.Name() == "testdata" || strings.HasPrefix(d.Name(), ".") || strings.HasPrefix(d.Name(), "_")) {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(p, ".go") {
			r, _ := filepath.Rel(root, p)
			files = append(files, filepath.ToSlash(r))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 20 {
		t.Fatalf("found %d .go files under %s; the module has more", len(files), root)
	}
	return files
}

const maxLines = 600

var generated = regexp.MustCompile(`(?m)^// Code generated .* DO NOT EDIT\.$`)

// citation matches a comment or string that cites a work item or a path
// outside the repository. Built from pieces so that this file does not match
// its own pattern (nor the grep of the same pattern).
var citation = regexp.MustCompile(`(?i)` + strings.Join([]string{
	`\biss` + `ue #?[0-9]`,
	`\bproto` + `col item`,
	`/wo` + `rk/`,
	`\.\./sha` + `red`,
	`DESI` + `GN\.md`,
}, "|"))

// TestFileRules: no hand-written .go file over 600 lines, none citing a work
// item or a path outside the repository.
func TestFileRules(t *testing.T) {
	root := moduleRoot(t)
	for _, f := range goFiles(t, root) {
		b, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range fileViolations(f, b) {
			t.Error(v)
		}
	}
}

// fileViolations checks one file's content.
func fileViolations(name string, b []byte) []string {
	var out []string
	if n := bytes.Count(b, []byte("\n")); n > maxLines && !generated.Match(b) {
		out = append(out, name+": "+strconv.Itoa(n)+" lines, more than "+strconv.Itoa(maxLines)+": split it by job")
	}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for line := 1; sc.Scan(); line++ {
		if m := citation.FindString(sc.Text()); m != "" {
			out = append(out, name+":"+strconv.Itoa(line)+": cites "+strings.TrimSpace(m)+": say what the code does, or refer to docs/ARCHITECTURE.md")
		}
	}
	return out
}

// TestFileRulesCatchViolations checks fileViolations on made-up files.
func TestFileRulesCatchViolations(t *testing.T) {
	long := strings.Repeat("x\n", maxLines+1)
	for _, tc := range []struct {
		name, body string
		want       int
	}{
		{"a.go", "package a\n// Fixes iss" + "ue 12.\n", 1},
		{"b.go", "package b\n// see /wo" + "rk/shared/x\n", 1},
		{"c.go", "package c\n// per proto" + "col item 3\n", 1},
		{"d.go", "package d\n// invariant 4 of DESI" + "GN.md\n", 1},
		{"e.go", long, 1},
		{"f.go", "// Code generated by x. DO NOT EDIT.\n" + long, 0},
		{"g.go", strings.Repeat("x\n", maxLines), 0},
		{"h.go", "package h\n// the issue is that a tiss" + "ue 3 mm thick tore\n", 0},
	} {
		if got := fileViolations(tc.name, []byte(tc.body)); len(got) != tc.want {
			t.Errorf("%s: want %d violations, got %q", tc.name, tc.want, got)
		}
	}
}
