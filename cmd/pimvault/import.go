package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"

	"github.com/pimvault/pimvault/admin"
)

// runImport reads .vcf and .ics files, pimvault exports and Radicale storage
// folders, validates all of it, then merges it by UID.
func runImport(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("import", stderr)
	var sf storeFlags
	sf.register(fs)
	user := fs.String("user", "", "account to import into (required)")
	collection := fs.String("collection", "", "collection for a single .vcf/.ics file (default contacts or calendar)")
	dryRun := fs.Bool("dry-run", false, "validate and print what would be imported, change nothing")
	if code, ok := parseArgs(fs, args, stdout); !ok {
		return code
	}
	if *user == "" || fs.NArg() != 1 {
		fmt.Fprintln(stderr, "usage: pimvault import --user NAME [--collection C] [--dry-run] FILE.vcf|FILE.ics|EXPORT.zip|RADICALE-USER-FOLDER")
		return 2
	}
	abs, err := filepath.Abs(fs.Arg(0))
	if err != nil {
		fmt.Fprintf(stderr, "pimvault import: %v\n", err)
		return 2
	}
	return adminRun(ctx, sf, "import", admin.Request{User: *user, Path: abs, Collection: *collection, DryRun: *dryRun}, nil, stdout, stderr)
}
