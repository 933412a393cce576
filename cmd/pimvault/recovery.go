package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/pimvault/pimvault/admin"
	"github.com/pimvault/pimvault/storage"
)

// runRecovery is 'pimvault recovery open|close|status --user NAME': the
// RECOVERING state of an account (invariant 4 of docs/ARCHITECTURE.md), through the admin
// socket while the server runs, on the store directly otherwise.
func runRecovery(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	const usageText = "usage: pimvault recovery open|close|status --user NAME [--reason TEXT] [--window-days N] [--data DIR]\n" +
		"       pimvault recovery expect --user NAME (--device ID … | --from BACKUP-OR-STORE.DB) [--window-days N] [--data DIR]\n" +
		"       pimvault recovery reapply --from DIR.diverged-TIME [--dry-run] [--data DIR]\n"
	if len(args) == 0 {
		fmt.Fprint(stderr, usageText)
		return 2
	}
	verb := args[0]
	cmds := map[string]string{"open": "recovery-open", "close": "recovery-close", "status": "recovery-status", "expect": "recovery-expect", "reapply": "recovery-reapply"}
	name, ok := cmds[verb]
	if !ok {
		fmt.Fprintf(stderr, "pimvault recovery: unknown action %q\n%s", verb, usageText)
		return 2
	}
	fs := newFlagSet("recovery "+verb, stderr)
	var sf storeFlags
	sf.register(fs)
	user := fs.String("user", "", "account name")
	reason := fs.String("reason", "", "open: why (shown by status)")
	windowDays := fs.Int("window-days", 30, "status, expect: devices seen within this many days hold up an automatic close")
	var devices stringList
	fs.Var(&devices, "device", "expect: a device known before the loss (repeatable)")
	from := fs.String("from", "", "expect: read the account's devices from this backup file, older store.db or stopped data directory; reapply: the directory a rejoin set aside")
	dryRun := fs.Bool("dry-run", false, "reapply: list what would be written and change nothing")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	if verb == "reapply" {
		if *from == "" || *user != "" || fs.NArg() != 0 {
			fmt.Fprint(stderr, usageText)
			return 2
		}
		abs, err := filepath.Abs(*from)
		if err != nil {
			fmt.Fprintf(stderr, "pimvault recovery reapply: %v\n", err)
			return 1
		}
		return adminRun(ctx, sf, name, admin.Request{Path: abs, DryRun: *dryRun}, nil, stdout, stderr)
	}
	if *user == "" || fs.NArg() != 0 {
		fmt.Fprint(stderr, usageText)
		return 2
	}
	a := admin.Request{User: *user, Reason: *reason}
	if verb == "expect" {
		if (len(devices) == 0) == (*from == "") {
			fmt.Fprintf(stderr, "pimvault recovery expect: give --device IDs or --from FILE (one of them)\n%s", usageText)
			return 2
		}
		a.Devices = devices
		if *from != "" {
			ids, err := storage.DevicesInCopy(*from, *user)
			if err != nil {
				fmt.Fprintf(stderr, "pimvault recovery expect: %v\n", err)
				return 1
			}
			if len(ids) == 0 {
				fmt.Fprintf(stderr, "pimvault recovery expect: %s lists no device of %s; name them with --device\n", *from, *user)
				return 1
			}
			a.Devices = ids
		}
	}
	if verb == "status" || verb == "expect" {
		if *windowDays <= 0 {
			fmt.Fprintf(stderr, "pimvault %s: window-days %d: want a positive number of days\n", name, *windowDays)
			return 1
		}
		a.WindowDays = *windowDays
	}
	return adminRun(ctx, sf, name, a, nil, stdout, stderr)
}

// Registered here rather than in the commands table so that the table's
// alignment (and its neighbours' lines) do not change.
func init() {
	commands["recovery"] = command{"an account's RECOVERING state: open, close, status, expect; reapply records a former primary never replicated", runRecovery}
}

// stringList is a repeatable string flag.
type stringList []string

func (l *stringList) String() string { return strings.Join(*l, ",") }

func (l *stringList) Set(v string) error {
	*l = append(*l, v)
	return nil
}
