package main

import (
	"context"
	"fmt"
	"io"

	"github.com/pimvault/pimvault/storage"
	"github.com/pimvault/pimvault/version"
)

// runVersion prints the release, the commit and the on-disk formats this
// build reads and writes (a data directory with a newer one is refused).
func runVersion(_ context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("version", stderr)
	if code, ok := parseArgs(fs, args, stdout); !ok {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintln(stderr, "usage: pimvault version")
		return 2
	}
	printVersion(stdout)
	return 0
}

func printVersion(w io.Writer) {
	f := storage.CurrentFormats()
	fmt.Fprintf(w, "pimvault %s\n", version.Name())
	fmt.Fprintf(w, "commit: %s\n", version.Commit())
	fmt.Fprintf(w, "go: %s\n", version.Go())
	fmt.Fprintf(w, "journal segment format: %d\n", f.Segment)
	fmt.Fprintf(w, "journal record format: %d\n", f.Record)
	fmt.Fprintf(w, "journal operations: up to %d (%v)\n", f.HighOp, f.HighOp)
	fmt.Fprintf(w, "store.db schema: %d (older schemas are migrated by 'pimvault upgrade' or at serve start)\n", f.Schema)
	fmt.Fprintf(w, "IDENTITY format: %d\n", f.Identity)
}
