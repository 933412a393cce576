package main

import (
	"context"
	"fmt"
	"io"

	"github.com/pimvault/pimvault/admin"
)

// runShare: pimvault share add|remove|list.
func runShare(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	const usageText = "usage: pimvault share add OWNER COLLECTION SHAREE [--read-write] [--data DIR]\n" +
		"       pimvault share remove OWNER COLLECTION SHAREE [--data DIR]\n" +
		"       pimvault share list [OWNER] [--data DIR]\n"
	if len(args) == 0 {
		fmt.Fprint(stderr, usageText)
		return 2
	}
	verb := args[0]
	if wantsHelp(args[:1]) {
		fmt.Fprint(stdout, usageText)
		return 0
	}
	fs := newFlagSet("share "+verb, stderr)
	var sf storeFlags
	sf.register(fs)
	rw := new(bool)
	if verb == "add" {
		rw = fs.Bool("read-write", false, "the sharee may change the collection's contents (default: read only)")
	}
	rest := args[1:]
	var positional []string
	for {
		if code, ok := parseArgs(fs, rest, stdout); !ok {
			return code
		}
		if fs.NArg() == 0 {
			break
		}
		positional = append(positional, fs.Arg(0))
		rest = fs.Args()[1:]
	}
	var req admin.Request
	var name string
	switch {
	case (verb == "add" || verb == "remove") && len(positional) == 3:
		req.User, req.Collection, req.Sharee = positional[0], positional[1], positional[2]
		name = "share-" + verb
		if *rw {
			req.Access = "read-write"
		}
	case verb == "list" && len(positional) <= 1:
		name = "share-list"
		if len(positional) == 1 {
			req.User = positional[0]
		}
	default:
		fmt.Fprint(stderr, usageText)
		return 2
	}
	return adminRun(ctx, sf, name, req, nil, stdout, stderr)
}
