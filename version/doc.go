// Package version says which pimvault this is: the release (set at build
// time with -ldflags "-X github.com/pimvault/pimvault/version.Release=1.2.3",
// else the module version, else "dev") and the commit it was built from
// (the Go toolchain's vcs.revision build setting).
//
// The on-disk formats a build reads and writes are storage's business
// (storage.Formats); this package only names the build.
package version
