// Command pimvault is the one binary: the server and every admin tool.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"syscall"
)

// command is one subcommand with its own flag set.
type command struct {
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) int
}

var commands = map[string]command{
	"device":  {"a device replica: init, sync, status, add, edit, delete, export", runDevice},
	"serve":   {"run the server", runServe},
	"verify":  {"check the journal's hash chain and that store.db equals a replay of it", runVerify},
	"rebuild": {"rebuild store.db from the journal alone", runRebuild},
	"status":  {"print the store id, epoch, head sequence and state hash", runStatus},
	"user":    {"manage accounts: add, passwd, disable, enable, delete, email, birthdays, list, app-password", runUser},
	"imip":    {"iMIP mail: receive (a reply from another server's attendee, from an MTA pipe), queue (the mail waiting to be sent)", runIMIP},
	"share":   {"share an address book or calendar with another account: add, remove, list", runShare},
	"backup":  {"write a verified hot snapshot of the store", runBackup},
	"restore": {"build a new store from a snapshot plus the journal up to a time or sequence", runRestore},
	"promote": {"make a running standby (serve --follow) the primary of its store", runPromote},
	"prune":   {"move old journal segments a verified snapshot covers to quarantine (journal retention)", runPrune},
	"undo":    {"bring a user's data back to an earlier time with new changes (devices keep syncing)", runUndo},
	"history": {"list a user's latest changes, each with who made it (the user, or a sharee)", runHistory},
	"export":  {"write a user's collections to a zip file", runExport},
	"import":  {"import .vcf/.ics files, exports and Radicale folders, merging by UID", runImport},
	"upgrade": {"migrate a data directory written by an older pimvault (--check: say what would change)", runUpgrade},
	"version": {"print the release, commit and the on-disk formats this build reads and writes", runVersion},
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: pimvault <command> [flags]\n\ncommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nrun 'pimvault <command> -h' for its flags")
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stdout)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	if args[0] == "--version" || args[0] == "-version" {
		printVersion(stdout)
		return 0
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "pimvault: unknown command %q\n\n", args[0])
		usage(stderr)
		return 2
	}
	return cmd.run(ctx, args[1:], stdout, stderr)
}
