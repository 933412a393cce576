package main

import (
	"context"
	"fmt"
	"io"

	"github.com/pimvault/pimvault/admin"
)

// runHistory: pimvault history --user U [--collection C] [--limit N], the
// journal's latest changes to a user's data, naming who made each.
func runHistory(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("history", stderr)
	var sf storeFlags
	sf.register(fs)
	user := fs.String("user", "", "account whose changes to list (required)")
	collection := fs.String("collection", "", "only this collection (its name, e.g. calendar)")
	limit := fs.Int("limit", 50, "at most this many changes, newest first")
	if code, ok := parseArgs(fs, args, stdout); !ok {
		return code
	}
	if *user == "" || fs.NArg() != 0 {
		fmt.Fprintln(stderr, "usage: pimvault history --user NAME [--collection NAME] [--limit N] [--data DIR]")
		return 2
	}
	if *limit < 1 {
		fmt.Fprintln(stderr, "pimvault history: --limit must be at least 1")
		return 2
	}
	return adminRun(ctx, sf, "history", admin.Request{User: *user, Collection: *collection, Limit: *limit}, nil, stdout, stderr)
}
