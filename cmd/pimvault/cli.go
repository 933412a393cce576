package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
)

// synopses are the positional arguments of the commands and actions that
// take some, shown in their help.
var synopses = map[string]string{
	"import":         "[flags] FILE.vcf|FILE.ics|EXPORT.zip|RADICALE-USER-FOLDER",
	"user add":       "NAME [flags]",
	"user passwd":    "NAME [flags]",
	"user disable":   "NAME [flags]",
	"user enable":    "NAME [flags]",
	"user delete":    "NAME [flags]",
	"user admin":     "NAME [flags]",
	"user unadmin":   "NAME [flags]",
	"user email":     "NAME [ADDRESS...] [flags]",
	"user birthdays": "NAME on|off [flags]",
	"config check":   "[--config FILE]",
	"share add":      "OWNER COLLECTION SHAREE [flags]",
	"share remove":   "OWNER COLLECTION SHAREE [flags]",
	"share list":     "[OWNER] [flags]",
	"imip receive":   "[flags] < MESSAGE",
	"recovery open":  "--user NAME [flags]",
	"recovery close": "--user NAME [flags]",
}

// newFlagSet returns the flag set of one command or action (name is
// "serve", "user add", …). Its help lists only its own flags.
func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("pimvault "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		syn := synopses[name]
		if syn == "" {
			syn = "[flags]"
		}
		fmt.Fprintf(fs.Output(), "usage: pimvault %s %s\n", name, syn)
		n := 0
		fs.VisitAll(func(*flag.Flag) { n++ })
		if n > 0 {
			fmt.Fprintln(fs.Output(), "\nflags:")
			fs.PrintDefaults()
		}
	}
	return fs
}

// wantsHelp reports whether args ask for help (-h, -help, --help) before
// a "--".
func wantsHelp(args []string) bool {
	for _, a := range args {
		switch a {
		case "--":
			return false
		case "-h", "-help", "--help":
			return true
		}
	}
	return false
}

// parseArgs parses args into fs. Help is printed to stdout and ends the
// command with status 0; a flag error (already printed with the usage to
// stderr) with status 2. ok is true when the command should go on.
func parseArgs(fs *flag.FlagSet, args []string, stdout io.Writer) (code int, ok bool) {
	if wantsHelp(args) {
		fs.SetOutput(stdout)
		fs.Usage()
		return 0, false
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0, false
		}
		return 2, false
	}
	return 0, true
}

// actionUsage prints a command's actions for 'pimvault CMD' and
// 'pimvault CMD --help'.
func actionUsage(w io.Writer, cmd string, actions [][2]string) {
	fmt.Fprintf(w, "usage: pimvault %s <action> [flags]\n\nactions:\n", cmd)
	for _, a := range actions {
		fmt.Fprintf(w, "  %-9s %s\n", a[0], a[1])
	}
	fmt.Fprintf(w, "\nrun 'pimvault %s <action> -h' for an action's flags\n", cmd)
}
