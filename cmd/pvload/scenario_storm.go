package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/pimvault/pimvault/internal/storm"
)

// runStorm is `pvload storm setup|run`: a reconnect storm (package storm)
// in two steps, so the server can be restarted between them.
//
//	pvload storm setup --url U --accounts FILE   # FILE: [{"name","password"}]; writes back book and token
//	pvload storm run --url U --accounts FILE --clients N [--pid P]
func runStorm(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || (args[0] != "setup" && args[0] != "run") {
		fmt.Fprintln(stderr, "usage: pvload storm setup|run --url URL --accounts FILE [--clients N --pid PID --json]")
		return 2
	}
	fs := flag.NewFlagSet("pvload storm "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	url := fs.String("url", "", "base URL of the server (loopback only)")
	file := fs.String("accounts", "", "JSON file of the accounts: [{\"name\":…,\"password\":…}]; setup adds each one's book and token")
	clients := fs.Int("clients", 1000, "clients, spread over the accounts in turn (run)")
	before := fs.Int("before", 40, "contacts per account before the token the clients hold (setup)")
	after := fs.Int("after", 10, "contacts per account after it (setup)")
	pid := fs.Int("pid", 0, "the server's pid, for its VmHWM and open descriptors (run)")
	deadline := fs.Duration("deadline", 10*time.Minute, "the whole storm (run)")
	reqTimeout := fs.Duration("request-timeout", 60*time.Second, "a client's wait for one answer before it counts as unanswered (run)")
	asJSON := fs.Bool("json", false, "print the report as JSON on stdout (run)")
	if err := fs.Parse(args[1:]); err != nil {
		return 2
	}
	if *url == "" || *file == "" {
		fmt.Fprintln(stderr, "pvload storm: --url and --accounts are required")
		return 2
	}
	if *clients < 1 || *clients > 100_000 {
		fmt.Fprintln(stderr, "pvload storm: --clients must be 1..100000")
		return 2
	}
	b, err := os.ReadFile(*file)
	var accts []storm.Account
	if err == nil {
		err = json.Unmarshal(b, &accts)
	}
	if err == nil && len(accts) == 0 {
		err = errors.New("no accounts")
	}
	if err != nil {
		fmt.Fprintf(stderr, "pvload storm: %s: %v\n", *file, err)
		return 1
	}
	if args[0] == "setup" {
		accts, err = storm.Setup(ctx, storm.SetupConfig{URL: *url, Accounts: accts, Before: *before, After: *after, Workers: 8})
		if err == nil {
			b, err = json.MarshalIndent(accts, "", "  ")
		}
		if err == nil {
			err = os.WriteFile(*file, b, 0o600)
		}
		if err != nil {
			fmt.Fprintf(stderr, "pvload storm setup: %v\n", err)
			return 1
		}
		fmt.Fprintf(stderr, "pvload storm setup: %d accounts with %d+%d contacts\n", len(accts), *before, *after)
		return 0
	}
	rep, err := storm.Run(ctx, storm.Config{URL: *url, Accounts: accts, Clients: *clients, Deadline: *deadline,
		RequestTimeout: *reqTimeout, PID: *pid})
	if err != nil {
		fmt.Fprintf(stderr, "pvload storm run: %v\n", err)
		return 1
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.Encode(rep)
		rep.WriteText(stderr)
	} else {
		rep.WriteText(stdout)
	}
	if rep.ViolationCount > 0 || rep.Finished != rep.Clients {
		fmt.Fprintf(stderr, "pvload storm: FAILED: %d violations, %d of %d clients finished\n", rep.ViolationCount, rep.Finished, rep.Clients)
		return 1
	}
	return 0
}
