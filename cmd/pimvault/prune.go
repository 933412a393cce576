package main

import (
	"context"
	"fmt"
	"io"

	"github.com/pimvault/pimvault/admin"
)

// runPrune applies journal retention: through the admin socket when a
// server holds the data directory, else on the store opened here.
func runPrune(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("prune", stderr)
	var sf storeFlags
	sf.register(fs)
	retention := fs.Duration("retention", 0, "prune sealed journal segments whose newest record is older than this (e.g. 720h) and that a verified snapshot in <data>/snapshots covers; required")
	dryRun := fs.Bool("dry-run", false, "print what would be pruned and change nothing")
	if code, ok := parseArgs(fs, args, stdout); !ok {
		return code
	}
	if *retention <= 0 {
		fmt.Fprintln(stderr, "pimvault prune: give --retention, a positive duration such as 720h (the default keeps everything)")
		return 2
	}
	return adminRun(ctx, sf, "prune", admin.Request{Retention: *retention, DryRun: *dryRun}, nil, stdout, stderr)
}
