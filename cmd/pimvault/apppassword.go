package main

import (
	"context"
	"fmt"
	"io"

	"github.com/pimvault/pimvault/admin"
)

const appPasswordUsage = "       pimvault user app-password add NAME --label LABEL [--data DIR]\n" +
	"       pimvault user app-password list NAME [--data DIR]\n" +
	"       pimvault user app-password revoke NAME ID [--data DIR]\n"

// runAppPassword manages an account's per-device app passwords: add prints
// the new token once, list shows labels and last use, revoke removes one.
func runAppPassword(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, "usage:\n"+appPasswordUsage)
		return 2
	}
	verb := args[0]
	fs := newFlagSet("user app-password "+verb, stderr)
	var sf storeFlags
	sf.register(fs)
	label := fs.String("label", "", "what the app password is for, e.g. \"Anna's iPhone\" (add)")
	rest := args[1:]
	var positional []string
	for {
		if err := fs.Parse(rest); err != nil {
			return 2
		}
		if fs.NArg() == 0 {
			break
		}
		positional = append(positional, fs.Arg(0))
		rest = fs.Args()[1:]
	}
	want := map[string]int{"add": 1, "list": 1, "revoke": 2}
	n, ok := want[verb]
	if !ok || len(positional) != n {
		fmt.Fprint(stderr, "usage:\n"+appPasswordUsage)
		return 2
	}
	req := admin.Request{User: positional[0], Label: *label}
	if verb == "revoke" {
		req.ID = positional[1]
	}
	if verb == "add" && *label == "" {
		fmt.Fprintln(stderr, "pimvault user app-password add: --label is required (say which device it is for)")
		return 2
	}
	return adminRun(ctx, sf, "app-password-"+verb, req, nil, stdout, stderr)
}
