package main

import (
	"bytes"
	"context"
	"sort"
	"strings"
	"testing"
)

// TestHelpForEveryCommandAndAction: -h and --help exit 0 for every command
// and every action, print to standard output, and list that action's flags
// and none of its siblings'.
func TestHelpForEveryCommandAndAction(t *testing.T) {
	t.Parallel()
	type tc struct {
		args []string
		want []string // flags (or words) the help lists
		not  []string // flags it must not list
	}
	cases := []tc{
		{[]string{}, []string{"serve", "user", "recovery", "config", "version"}, nil},
		{[]string{"serve"}, []string{"-data", "-init", "-config", "-metrics-addr", "-log-format", "-log-level", "-expect-store-id", "-drain-delay"}, nil},
		{[]string{"verify"}, []string{"-data", "-drill", "-expect-store-id"}, nil},
		{[]string{"rebuild"}, []string{"-data"}, []string{"-drill"}},
		{[]string{"status"}, []string{"-data"}, nil},
		{[]string{"backup"}, []string{"-out"}, nil},
		{[]string{"restore"}, []string{"-to-time", "-to-seq", "-out", "RFC 3339"}, nil},
		{[]string{"prune"}, []string{"-retention", "-dry-run"}, nil},
		{[]string{"undo"}, []string{"-user", "-to-time", "-collection"}, nil},
		{[]string{"history"}, []string{"-user", "-collection", "-limit", "-data"}, []string{"-to-time"}},
		{[]string{"export"}, []string{"-user", "-out"}, nil},
		{[]string{"import"}, []string{"-user", "-collection", "FILE.vcf"}, nil},
		{[]string{"upgrade"}, []string{"-check"}, nil},
		{[]string{"promote"}, []string{"-force", "-data"}, nil},
		{[]string{"share"}, []string{"add", "remove", "list"}, nil},
		{[]string{"share", "add"}, []string{"OWNER COLLECTION SHAREE", "-read-write", "-data"}, nil},
		{[]string{"share", "remove"}, []string{"OWNER COLLECTION SHAREE", "-data"}, []string{"-read-write"}},
		{[]string{"share", "list"}, []string{"-data"}, []string{"-read-write"}},
		{[]string{"imip"}, []string{"receive", "queue"}, nil},
		{[]string{"imip", "receive"}, []string{"MESSAGE", "-data"}, []string{"-user"}},
		{[]string{"imip", "queue"}, []string{"-user", "-data"}, []string{"MESSAGE"}},
		{[]string{"version"}, []string{"usage: pimvault version"}, []string{"-data"}},
		{[]string{"user"}, []string{"add", "passwd", "disable", "enable", "delete", "list"}, nil},
		{[]string{"user", "add"}, []string{"NAME", "-password-stdin", "-data"}, nil},
		{[]string{"user", "passwd"}, []string{"NAME", "-password-stdin"}, nil},
		{[]string{"user", "disable"}, []string{"NAME", "-data"}, []string{"-password-stdin"}},
		{[]string{"user", "enable"}, []string{"NAME"}, []string{"-password-stdin"}},
		{[]string{"user", "delete"}, []string{"NAME", "-data"}, []string{"-password-stdin"}},
		{[]string{"user", "list"}, []string{"-data"}, []string{"-password-stdin"}},
		{[]string{"recovery"}, []string{"open", "close", "status"}, nil},
		{[]string{"recovery", "open"}, []string{"-user", "-reason"}, []string{"-window-days"}},
		{[]string{"recovery", "close"}, []string{"-user"}, []string{"-reason", "-window-days"}},
		{[]string{"recovery", "status"}, []string{"-user", "-window-days"}, []string{"-reason"}},
		{[]string{"recovery", "expect"}, []string{"-user", "-device", "-from", "-window-days"}, []string{"-reason", "-dry-run"}},
		{[]string{"recovery", "reapply"}, []string{"-from", "-dry-run"}, []string{"-user", "-reason", "-window-days"}},
		{[]string{"config"}, []string{"check"}, nil},
		{[]string{"config", "check"}, []string{"-config", "-metrics-addr"}, nil},
		{[]string{"device"}, []string{"init", "sync", "status", "export"}, nil},
		{[]string{"device", "init"}, []string{"-server", "-user", "-password-stdin", "-dir"}, []string{"-items", "-file"}},
		{[]string{"device", "sync"}, []string{"-dir", "-v"}, []string{"-server", "-items"}},
		{[]string{"device", "status"}, []string{"-items"}, []string{"-server", "-file"}},
		{[]string{"device", "add"}, []string{"-collection", "-file"}, []string{"-server"}},
		{[]string{"device", "edit"}, []string{"-item", "-file"}, []string{"-server"}},
		{[]string{"device", "delete"}, []string{"-item"}, []string{"-server"}},
		{[]string{"device", "export"}, []string{"-out"}, []string{"-server", "-file"}},
	}
	// Every command in the table has a case.
	covered := map[string]bool{}
	for _, c := range cases {
		if len(c.args) > 0 {
			covered[c.args[0]] = true
		}
	}
	var names []string
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if !covered[n] {
			t.Errorf("command %s has no help case", n)
		}
	}
	// In process (the same run the binary's main calls): 70 starts of a
	// race-built binary take minutes on a loaded machine. The real binary's
	// exit status is checked for a few below.
	for _, c := range cases {
		for _, h := range []string{"-h", "--help"} {
			args := append(append([]string{}, c.args...), h)
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), args, &stdout, &stderr)
			res := cliResult{code: code, stdout: stdout.String(), stderr: stderr.String()}
			name := strings.Join(args, " ")
			if res.code != 0 {
				t.Errorf("pimvault %s: exit %d, want 0\n%s", name, res.code, res)
				continue
			}
			for _, w := range c.want {
				if !strings.Contains(res.stdout, w) {
					t.Errorf("pimvault %s: help does not list %s:\n%s", name, w, res.stdout)
				}
			}
			for _, w := range c.not {
				if strings.Contains(res.stdout, w+" ") || strings.Contains(res.stdout, w+"\n") {
					t.Errorf("pimvault %s: help lists %s, which belongs to another action:\n%s", name, w, res.stdout)
				}
			}
		}
	}
}

// TestHelpExitStatusOfTheBinary: the process itself exits 0 on help.
func TestHelpExitStatusOfTheBinary(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"--help"}, {"serve", "-h"}, {"user", "--help"}, {"user", "add", "-h"}, {"recovery", "status", "--help"}, {"device", "-h"}} {
		if res := pimvault(t, args...); res.code != 0 || !strings.Contains(res.stdout, "usage: pimvault") {
			t.Errorf("pimvault %v: want exit 0 and the usage on stdout, got\n%s", args, res)
		}
	}
}

// TestCLIErrorsSayWhatTheyWant: a time argument names its format, a bad
// account name says the rule, and neither changes anything.
func TestCLIErrorsSayWhatTheyWant(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	rs := startServer(t, dir)
	rs.stop(t)
	for _, args := range [][]string{
		{"restore", "--data", dir, "--to-time", "yesterday", "--out", t.TempDir()},
		{"undo", "--data", dir, "--user", "admin", "--to-time", "yesterday"},
	} {
		res := pimvault(t, args...)
		if res.code != 2 || !strings.Contains(res.stderr, "RFC 3339") || !strings.Contains(res.stderr, "2026-11-27T12:00:00Z") || strings.Contains(res.stderr, "2006-01-02") {
			t.Errorf("%v: want exit 2 naming the RFC 3339 format with an example (not Go's layout), got\n%s", args, res)
		}
	}
	before := treeHash(t, dir)
	for _, name := range []string{"bad name", "a:b", "x/y", "bell\x07", strings.Repeat("n", 65)} {
		res := pimvault(t, "user", "add", name, "--data", dir)
		if res.code == 0 || !strings.Contains(res.stderr, "account name") {
			t.Errorf("user add %q: want a refusal that says the rule, got\n%s", name, res)
		}
	}
	if treeHash(t, dir) != before {
		t.Error("refused user adds changed the data directory")
	}
}
