package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// The configuration of 'serve' comes from four places, each flag from the
// first that sets it: the command line, a PIMVAULT_* environment variable
// (PIMVAULT_METRICS_ADDR for --metrics-addr), the TOML file that --config
// (or PIMVAULT_CONFIG) names, whose keys are the flag names, and the
// flag's default. The keys are read from serve's flag set itself, so every
// flag added to serve can be set in all four places.

// configFlag names the flag that points at the file; it cannot be set in
// the file itself.
const configFlag = "config"

// flagSource says where a flag's effective value came from.
type flagSource map[string]string

// envName is the environment variable for a flag.
func envName(flagName string) string {
	return "PIMVAULT_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// applyConfig sets every flag of fs that the command line did not set from
// the environment (getenv) or else from the TOML file, and reports where
// each flag's value came from. fs must have been parsed.
func applyConfig(fs *flag.FlagSet, getenv func(string) string) (flagSource, error) {
	src := flagSource{}
	fs.VisitAll(func(f *flag.Flag) { src[f.Name] = "default" })
	fs.Visit(func(f *flag.Flag) { src[f.Name] = "flag" })
	path := ""
	if f := fs.Lookup(configFlag); f != nil {
		if path = f.Value.String(); path == "" {
			if path = getenv(envName(configFlag)); path != "" {
				fs.Set(configFlag, path)
				src[configFlag] = "env " + envName(configFlag)
			}
		}
	}
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		if err != nil || src[f.Name] != "default" || f.Name == configFlag {
			return
		}
		if v := getenv(envName(f.Name)); v != "" {
			vals := []string{v}
			if isList(f) {
				vals = strings.Split(v, ",")
			}
			for _, one := range vals {
				if serr := fs.Set(f.Name, strings.TrimSpace(one)); serr != nil {
					err = fmt.Errorf("%s=%q: %v", envName(f.Name), v, serr)
					return
				}
			}
			src[f.Name] = "env " + envName(f.Name)
		}
	})
	if err != nil || path == "" {
		return src, err
	}
	file, err := readConfigFile(fs, path)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(file))
	for k := range file {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		if src[k] != "default" {
			continue // set on the command line or in the environment
		}
		for _, v := range file[k] {
			if err := fs.Set(k, v); err != nil {
				return nil, fmt.Errorf("%s: key %q: %v", path, k, err)
			}
		}
		src[k] = "file " + path
	}
	return src, nil
}

// isList reports whether a flag is repeatable (--trusted-proxy A
// --trusted-proxy B): its value is not one of the flag package's own types.
// In the file it takes a list, in the environment a comma-separated one.
func isList(f *flag.Flag) bool {
	_, ok := f.Value.(flag.Getter)
	return !ok
}

// readConfigFile reads a TOML file whose keys are the flag names of fs and
// returns each value as the flag would take it on the command line (a list
// for a repeatable flag). An unknown key, a table, or a list for a flag
// that is not repeatable is refused, naming the key.
func readConfigFile(fs *flag.FlagSet, path string) (map[string][]string, error) {
	var raw map[string]any
	if _, err := toml.DecodeFile(path, &raw); err != nil {
		return nil, fmt.Errorf("config file %s: %v", path, err)
	}
	out := map[string][]string{}
	for k, v := range raw {
		f := fs.Lookup(k)
		if k == configFlag || f == nil {
			return nil, fmt.Errorf("config file %s: unknown key %q (the keys are the flags of 'pimvault serve'; 'pimvault serve -h' lists them)", path, k)
		}
		if list, ok := v.([]any); ok && isList(f) {
			out[k] = []string{}
			for _, e := range list {
				s, err := scalar(e)
				if err != nil {
					return nil, fmt.Errorf("config file %s: key %q: %v", path, k, err)
				}
				out[k] = append(out[k], s)
			}
			continue
		}
		s, err := scalar(v)
		if err != nil {
			return nil, fmt.Errorf("config file %s: key %q: %v", path, k, err)
		}
		out[k] = []string{s}
	}
	return out, nil
}

// scalar renders a TOML value as a flag value.
func scalar(v any) (string, error) {
	switch v := v.(type) {
	case string:
		return v, nil
	case bool:
		return strconv.FormatBool(v), nil
	case int64:
		return strconv.FormatInt(v, 10), nil
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64), nil
	}
	return "", fmt.Errorf("want a string, number or boolean (a list only for a repeatable flag), not %T", v)
}

// writeEffective prints fs's values as a TOML file (which --config
// accepts), each with where it came from.
func writeEffective(w io.Writer, fs *flag.FlagSet, src flagSource) {
	fs.VisitAll(func(f *flag.Flag) {
		if f.Name == configFlag {
			fmt.Fprintf(w, "# config file: %q (%s)\n", f.Value.String(), src[f.Name])
			return
		}
		fmt.Fprintf(w, "%s = %s  # %s\n", f.Name, tomlValue(f), src[f.Name])
	})
}

// tomlValue renders a flag's value as a TOML value.
func tomlValue(f *flag.Flag) string {
	if g, ok := f.Value.(flag.Getter); ok {
		switch v := g.Get().(type) {
		case bool:
			return strconv.FormatBool(v)
		case int, int64, uint, uint64:
			return fmt.Sprint(v)
		case float64:
			return strconv.FormatFloat(v, 'g', -1, 64)
		case time.Duration:
			return strconv.Quote(v.String())
		}
		return strconv.Quote(f.Value.String())
	}
	// A repeatable flag: a list of the values set.
	var parts []string
	if v := f.Value.String(); v != "" {
		for _, p := range strings.Split(v, ",") {
			parts = append(parts, strconv.Quote(p))
		}
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// runConfig is 'pimvault config check [--config FILE]': the effective
// configuration of 'serve', or why it is refused.
func runConfig(_ context.Context, args []string, stdout, stderr io.Writer) int {
	actions := [][2]string{{"check", "print the effective configuration of 'serve' (flags > PIMVAULT_* environment > --config file > defaults) as TOML, or refuse it"}}
	if len(args) == 0 {
		actionUsage(stderr, "config", actions)
		return 2
	}
	if wantsHelp(args[:1]) {
		actionUsage(stdout, "config", actions)
		return 0
	}
	if args[0] != "check" {
		fmt.Fprintf(stderr, "pimvault config: unknown action %q\n\n", args[0])
		actionUsage(stderr, "config", actions)
		return 2
	}
	fs := newFlagSet("config check", stderr)
	var o serveOptions
	o.register(fs)
	if code, ok := parseArgs(fs, args[1:], stdout); !ok {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintln(stderr, "pimvault config check: no arguments are taken (give the file with --config FILE)")
		return 2
	}
	src, err := applyConfig(fs, os.Getenv)
	if err == nil {
		err = o.check()
	}
	if err != nil {
		fmt.Fprintf(stderr, "pimvault config check: %v\n", err)
		return 1
	}
	writeEffective(stdout, fs, src)
	return 0
}

func init() {
	commands["config"] = command{"check the configuration of 'serve' (--config file, PIMVAULT_* environment, flags)", runConfig}
}
