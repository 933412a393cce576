package main

import (
	"context"
	"fmt"
	"io"

	"github.com/pimvault/pimvault/admin"
)

var recoveryActions = [][2]string{
	{"open", "put an account into RECOVERING (--user, --reason)"},
	{"close", "accept an account's recovery as done (--user)"},
	{"status", "show an account's recovery state and devices (--user, --window-days)"},
}

// runRecovery is 'pimvault recovery open|close|status --user NAME': the
// RECOVERING state of an account (invariant 4 of docs/ARCHITECTURE.md), through the admin
// socket while the server runs, on the store directly otherwise.
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
	cmds := map[string]string{"open": "recovery-open", "close": "recovery-close", "status": "recovery-status"}
	name, ok := cmds[verb]
	if !ok {
		fmt.Fprintf(stderr, "pimvault recovery: unknown action %q\n\n", verb)
		actionUsage(stderr, "recovery", recoveryActions)
		return 2
	}
	fs := newFlagSet("recovery "+verb, stderr)
	var sf storeFlags
	sf.register(fs)
	user := fs.String("user", "", "account name (required)")
	var reason *string
	var windowDays *int
	switch verb {
	case "open":
		reason = fs.String("reason", "", "why (shown by status)")
	case "status":
		windowDays = fs.Int("window-days", 30, "devices seen within this many days hold up an automatic close")
	}
	if code, ok := parseArgs(fs, args[1:], stdout); !ok {
		return code
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
	commands["recovery"] = command{"an account's RECOVERING state: open, close, status", runRecovery}
}
