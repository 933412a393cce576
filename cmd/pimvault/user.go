package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/pimvault/pimvault/account"
	"github.com/pimvault/pimvault/admin"
)

// stdin is where --password-stdin reads from (replaced in tests).
var stdin io.Reader = os.Stdin

// userActions are the actions of 'pimvault user', each an admin command.
var userActions = [][2]string{
	{"add", "create an account (NAME; a password is generated and printed unless --password-stdin)"},
	{"passwd", "set an account's password (NAME)"},
	{"disable", "stop an account from signing in; its data stays (NAME)"},
	{"enable", "let a disabled account sign in again (NAME)"},
	{"delete", "delete an account and its collections with a journalled tombstone; 'pimvault undo' brings it back (NAME)"},
	{"admin", "let an account use the admin web pages (NAME)"},
	{"unadmin", "take the admin web pages away from an account (NAME)"},
	{"email", "set an account's e-mail addresses (NAME [ADDRESS...]; none: clear them)"},
	{"birthdays", "turn the birthday calendar on or off (NAME on|off)"},
	{"list", "list the accounts"},
	{"app-password", "per-device app passwords: add NAME --label LABEL, list NAME, revoke NAME ID"},
	{"token", "the same as app-password"},
}

func runUser(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		actionUsage(stderr, "user", userActions)
		return 2
	}
	verb := args[0]
	if verb == "app-password" || verb == "token" {
		return runAppPassword(ctx, verb, args[1:], stdout, stderr)
	}
	if wantsHelp(args[:1]) {
		actionUsage(stdout, "user", userActions)
		return 0
	}
	known := false
	for _, a := range userActions {
		known = known || a[0] == verb
	}
	if !known {
		fmt.Fprintf(stderr, "pimvault user: unknown action %q\n\n", verb)
		actionUsage(stderr, "user", userActions)
		return 2
	}
	fs := newFlagSet("user "+verb, stderr)
	var sf storeFlags
	sf.register(fs)
	var pwStdin *bool
	if verb == "add" || verb == "passwd" {
		pwStdin = fs.Bool("password-stdin", false, "read the password from the first line of standard input (otherwise one is generated and printed)")
	}
	// Flags may come before and after NAME.
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
	name := "user-" + verb
	want := 1
	switch verb {
	case "list":
		want = 0
	case "birthdays":
		want = 2 // NAME on|off
	}
	if verb == "birthdays" {
		if len(positional) != 2 || (positional[1] != "on" && positional[1] != "off") {
			fmt.Fprintln(stderr, "pimvault user birthdays: want NAME on|off")
			fs.Usage()
			return 2
		}
		return adminRun(ctx, sf, name, admin.Request{User: positional[0], On: positional[1] == "on"}, nil, stdout, stderr)
	}
	if verb == "email" && len(positional) >= 1 {
		return adminRun(ctx, sf, name, admin.Request{User: positional[0], Emails: positional[1:]}, nil, stdout, stderr)
	}
	if len(positional) != want {
		fmt.Fprintf(stderr, "pimvault user %s: want %d argument(s), got %d\n", verb, want, len(positional))
		fs.Usage()
		return 2
	}
	var a admin.Request
	if want == 1 {
		a.User = positional[0]
	}
	if verb == "add" {
		if err := account.ValidateName(a.User); err != nil {
			fmt.Fprintf(stderr, "pimvault user add: %v\n", err)
			return 2
		}
	}
	if pwStdin != nil && *pwStdin {
		line, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil && err != io.EOF {
			fmt.Fprintf(stderr, "pimvault user: read password: %v\n", err)
			return 1
		}
		a.Password = strings.TrimRight(line, "\r\n")
		if a.Password == "" {
			fmt.Fprintln(stderr, "pimvault user: --password-stdin given but standard input is empty")
			return 1
		}
	}
	return adminRun(ctx, sf, name, a, nil, stdout, stderr)
}
