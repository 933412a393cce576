package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"

	"github.com/pimvault/pimvault/admin"
)

// runExport writes every collection of a user to a zip file: one .vcf/.ics
// per collection, each object byte for byte, and a manifest with properties.
func runExport(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("export", stderr)
	var sf storeFlags
	sf.register(fs)
	user := fs.String("user", "", "account to export (required)")
	out := fs.String("out", "", "zip file to write (must not exist; required)")
	if code, ok := parseArgs(fs, args, stdout); !ok {
		return code
	}
	if *user == "" || *out == "" {
		fmt.Fprintln(stderr, "pimvault export: --user and --out are required")
		return 2
	}
	abs, err := filepath.Abs(*out)
	if err != nil {
		fmt.Fprintf(stderr, "pimvault export: %v\n", err)
		return 2
	}
	return adminRun(ctx, sf, "export", admin.Request{User: *user, Out: abs}, nil, stdout, stderr)
}
