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

var recoveryActions = [][2]string{
	{"open", "put an account into RECOVERING (--user, --reason)"},
	{"close", "accept an account's recovery as done (--user)"},
	{"status", "show an account's recovery state and devices (--user, --window-days)"},
	{"expect", "name the devices a recovery waits for (--user, --device ID … or --from BACKUP-OR-STORE.DB)"},
	{"reapply", "write back what a former primary never replicated (--from DIR.diverged-TIME, --dry-run)"},
}

// runRecovery is 'pimvault recovery ACTION': the RECOVERING state of an
// account (invariant 4 of docs/ARCHITECTURE.md), through the admin socket
// while the server runs, on the store directly otherwise. Each action has
// only its own flags.
func runRecovery(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		actionUsage(stderr, "recovery", recoveryActions)
		return 2
	}
	verb := args[0]
	if wantsHelp(args[:1]) {
		actionUsage(stdout, "recovery", recoveryActions)
		return 0
	}
	cmds := map[string]string{"open": "recovery-open", "close": "recovery-close", "status": "recovery-status", "expect": "recovery-expect", "reapply": "recovery-reapply"}
	name, ok := cmds[verb]
	if !ok {
		fmt.Fprintf(stderr, "pimvault recovery: unknown action %q\n\n", verb)
		actionUsage(stderr, "recovery", recoveryActions)
		return 2
	}
	fs := newFlagSet("recovery "+verb, stderr)
	var sf storeFlags
	sf.register(fs)
	var user, reason, from *string
	var windowDays *int
	var dryRun *bool
	var devices stringList
	if verb != "reapply" {
		user = fs.String("user", "", "account name (required)")
	}
	switch verb {
	case "open":
		reason = fs.String("reason", "", "why (shown by status)")
	case "status":
		windowDays = fs.Int("window-days", 30, "devices seen within this many days hold up an automatic close")
	case "expect":
		windowDays = fs.Int("window-days", 30, "devices seen within this many days hold up an automatic close")
		fs.Var(&devices, "device", "a device known before the loss (repeatable)")
		from = fs.String("from", "", "read the account's devices from this backup file, older store.db or stopped data directory")
	case "reapply":
		from = fs.String("from", "", "the directory a rejoin set aside (DIR.diverged-TIME; required)")
		dryRun = fs.Bool("dry-run", false, "list what would be written and change nothing")
	}
	if code, ok := parseArgs(fs, args[1:], stdout); !ok {
		return code
	}
	if verb == "reapply" {
		if *from == "" || fs.NArg() != 0 {
			fmt.Fprintln(stderr, "pimvault recovery reapply: --from DIR.diverged-TIME is required and no other arguments are taken")
			fs.Usage()
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
		fmt.Fprintf(stderr, "pimvault recovery %s: --user NAME is required and no other arguments are taken\n", verb)
		fs.Usage()
		return 2
	}
	a := admin.Request{User: *user}
	if reason != nil {
		a.Reason = *reason
	}
	if verb == "expect" {
		if (len(devices) == 0) == (*from == "") {
			fmt.Fprintln(stderr, "pimvault recovery expect: give --device IDs or --from FILE (one of them)")
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
	if windowDays != nil {
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
