package main

import (
	"context"
	"fmt"
	"io"

	"github.com/pimvault/pimvault/admin"
)

// appPasswordUsage is the usage of 'pimvault user app-password' (or
// 'user token', its other name).
func appPasswordUsage(name string) string {
	return "       pimvault user " + name + " add NAME --label LABEL [--data DIR]\n" +
		"       pimvault user " + name + " list NAME [--data DIR]          (label, created, last use, devices)\n" +
		"       pimvault user " + name + " revoke NAME ID [--data DIR]     (its devices are marked; a recovery stops waiting for them)\n"
}

// runAppPassword manages an account's per-device app passwords: add prints
// the new token once, list shows labels, last use and the devices that
// signed in with each, revoke removes one and marks its devices.
func runAppPassword(ctx context.Context, name string, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, "usage:\n"+appPasswordUsage(name))
		return 2
	}
	verb := args[0]
	fs := newFlagSet("user "+name+" "+verb, stderr)
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
		fmt.Fprint(stderr, "usage:\n"+appPasswordUsage(name))
		return 2
	}
	req := admin.Request{User: positional[0], Label: *label}
	if verb == "revoke" {
		req.ID = positional[1]
	}
	if verb == "add" && *label == "" {
		fmt.Fprintf(stderr, "pimvault user %s add: --label is required (say which device it is for)\n", name)
		return 2
	}
	return adminRun(ctx, sf, "app-password-"+verb, req, nil, stdout, stderr)
}
