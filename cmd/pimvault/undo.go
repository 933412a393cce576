package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/pimvault/pimvault/admin"
	"github.com/pimvault/pimvault/storage"
)

// runUndo brings a user's data (or one collection, or one object) back to
// how it was at a time, by writing new journal records: devices receive
// ordinary changes and keep their sync tokens.
func runUndo(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("undo", stderr)
	var sf storeFlags
	sf.register(fs)
	user := fs.String("user", "", "account whose data to bring back (required)")
	collection := fs.String("collection", "", "only this collection (its name, e.g. contacts)")
	object := fs.String("object", "", "only this object of --collection (its name, e.g. 1234.vcf)")
	toTime := fs.String("to-time", "", "bring the data back to how it was at this time ("+storage.TimeArgFormat+"; from 1970 to now)")
	toSeq := fs.Uint64("to-seq", 0, "bring the data back to how it was after this journal sequence")
	dryRun := fs.Bool("dry-run", false, "print what would be re-added, changed back and removed (per collection), change nothing")
	yes := fs.Bool("yes", false, "apply an undo that removes a collection or more objects than the server's --undo-confirm-over (without it such an undo is refused with the counts)")
	if code, ok := parseArgs(fs, args, stdout); !ok {
		return code
	}
	if *user == "" || (*toTime == "" && *toSeq == 0) {
		fmt.Fprintln(stderr, "pimvault undo: --user and one of --to-time or --to-seq are required")
		return 2
	}
	if *toTime != "" {
		if _, err := storage.ParseTimeArg("--to-time", *toTime, time.Now()); err != nil {
			fmt.Fprintf(stderr, "pimvault undo: %v\n", err)
			return 2
		}
	}
	a := admin.Request{User: *user, Collection: *collection, Object: *object, ToTime: *toTime, ToSeq: *toSeq, DryRun: *dryRun, Confirm: *yes}
	return adminRun(ctx, sf, "undo", a, nil, stdout, stderr)
}
