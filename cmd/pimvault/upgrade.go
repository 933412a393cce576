package main

import (
	"context"
	"fmt"
	"io"

	"github.com/pimvault/pimvault/storage"
)

// runUpgrade migrates a data directory written by an older pimvault to
// the formats of this one, after writing a verified snapshot of store.db;
// with --check it only says what would happen.
func runUpgrade(_ context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("upgrade", stderr)
	var sf storeFlags
	sf.register(fs)
	check := fs.Bool("check", false, "say what an upgrade would do and change nothing")
	if code, ok := parseArgs(fs, args, stdout); !ok {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintln(stderr, "usage: pimvault upgrade [--check] [--data DIR] [--journal-dir DIR]")
		return 2
	}
	if err := sf.checkStore(); err != nil {
		fmt.Fprintf(stderr, "pimvault upgrade: %v\n", err)
		return 1
	}
	locked, err := storage.IsLocked(sf.data)
	if err != nil {
		fmt.Fprintf(stderr, "pimvault upgrade: %v\n", err)
		return 1
	}
	if locked {
		fmt.Fprintf(stderr, "pimvault upgrade: a server has %s open; 'pimvault serve' upgrades a store when it starts (its log names the snapshot it took), so there is nothing to do while it runs\n", sf.data)
		return 1
	}
	plan, err := storage.PlanUpgrade(sf.data, sf.options())
	if err != nil {
		fmt.Fprintf(stderr, "pimvault upgrade: %v\n", err)
		return 1
	}
	if *check || !plan.Needed() {
		fmt.Fprint(stdout, plan.String())
		return 0
	}
	opts := sf.options()
	opts.Upgrade = true
	s, err := storage.OpenExisting(sf.data, opts)
	if err != nil {
		fmt.Fprintf(stderr, "pimvault upgrade: %v\n", err)
		return 1
	}
	rep := s.Upgraded()
	hash, seq, herr := s.StateHash()
	if cerr := s.Close(); herr == nil {
		herr = cerr
	}
	if herr != nil {
		fmt.Fprintf(stderr, "pimvault upgrade: %v\n", herr)
		return 1
	}
	if rep == nil {
		fmt.Fprintln(stdout, "nothing was upgraded (store.db was rebuilt from the journal at the current schema when it opened)")
	} else {
		fmt.Fprint(stdout, rep.String())
		fmt.Fprintf(stdout, "to go back: stop pimvault, install the release you had, and restore that snapshot (docs/UPGRADING.md)\n")
	}
	fmt.Fprintf(stdout, "head sequence: %d\nstate hash: %s\n", seq, hash)
	return 0
}
