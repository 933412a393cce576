package version

import (
	"runtime"
	"runtime/debug"
	"strings"
)

// Release is the release name of this build. Builds set it with
// -ldflags "-X github.com/pimvault/pimvault/version.Release=…"; left empty,
// Name falls back to the module version, then to "dev".
var Release = ""

// Name returns the release name of this build.
func Name() string {
	if Release != "" {
		return Release
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if v := bi.Main.Version; v != "" && v != "(devel)" {
			return strings.TrimPrefix(v, "v")
		}
	}
	return "dev"
}

// Commit returns the VCS revision this build was made from, with
// "+modified" when the work tree had uncommitted changes, or "unknown".
func Commit() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	var rev, modified string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				modified = "+modified"
			}
		}
	}
	if rev == "" {
		return "unknown"
	}
	return rev + modified
}

// Go returns the Go version the build was made with.
func Go() string { return runtime.Version() }
