package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/pimvault/pimvault/admin"
)

// stdin is where --password-stdin reads from (replaced in tests).
var stdin io.Reader = os.Stdin

func runUser(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	const usageText = "usage: pimvault user add|passwd|disable|enable|admin|unadmin NAME [--password-stdin] [--data DIR]\n       pimvault user email NAME [ADDRESS...] [--data DIR]   (no address: clear them)\n       pimvault user birthdays NAME on|off [--data DIR]\n       pimvault user list [--data DIR]\n"
	if len(args) == 0 {
		fmt.Fprint(stderr, usageText)
		return 2
	}
	verb := args[0]
	fs := newFlagSet("user "+verb, stderr)
	var sf storeFlags
	sf.register(fs)
	pwStdin := fs.Bool("password-stdin", false, "read the password from the first line of standard input (otherwise one is generated and printed)")
	// Accept flags before and after NAME.
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
	cmds := map[string]string{"add": "user-add", "passwd": "user-passwd", "disable": "user-disable", "enable": "user-enable", "admin": "user-admin", "unadmin": "user-unadmin", "list": "user-list", "email": "user-email", "birthdays": "user-birthdays"}
	name, ok := cmds[verb]
	if !ok {
		fmt.Fprintf(stderr, "pimvault user: unknown action %q\n%s", verb, usageText)
		return 2
	}
	want := 1
	switch verb {
	case "list":
		want = 0
	case "birthdays":
		want = 2 // NAME on|off
	}
	if verb == "birthdays" {
		if len(positional) != 2 || (positional[1] != "on" && positional[1] != "off") {
			fmt.Fprint(stderr, usageText)
			return 2
		}
		return adminRun(ctx, sf, name, admin.Request{User: positional[0], On: positional[1] == "on"}, nil, stdout, stderr)
	}
	if verb == "email" && len(positional) >= 1 {
		return adminRun(ctx, sf, name, admin.Request{User: positional[0], Emails: positional[1:]}, nil, stdout, stderr)
	}
	if len(positional) != want {
		fmt.Fprint(stderr, usageText)
		return 2
	}
	var a admin.Request
	if want == 1 {
		a.User = positional[0]
	}
	if *pwStdin {
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
