package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// serveFlagSet is the flag set 'serve' parses, with its options.
func serveFlagSet() (*flag.FlagSet, *serveOptions) {
	fs := newFlagSet("serve", io.Discard)
	o := &serveOptions{}
	o.register(fs)
	return fs, o
}

// otherValue returns, for a flag, a value unlike its default, as TOML and
// as the flag prints it once set.
func otherValue(f *flag.Flag) (tomlV, want string) {
	g, ok := f.Value.(flag.Getter)
	if !ok { // a repeatable flag: the only one serve has takes addresses
		if f.Name != "trusted-proxy" {
			panic("a repeatable serve flag the round-trip test has no sample value for: " + f.Name)
		}
		return `["10.0.0.0/8", "192.0.2.7"]`, "10.0.0.0/8,192.0.2.7/32"
	}
	switch v := g.Get().(type) {
	case bool:
		return fmt.Sprint(!v), fmt.Sprint(!v)
	case int, int64, uint, uint64:
		return "7", "7"
	case float64:
		return "1.5", "1.5"
	case time.Duration:
		return `"1h30m"`, "1h30m0s"
	}
	return fmt.Sprintf("%q", "value-of-"+f.Name), "value-of-" + f.Name
}

// TestConfigFileRoundTripsEveryFlag: every serve flag, set in a TOML file
// by its name, takes that value; nothing is left out, since the keys come
// from the flag set itself.
func TestConfigFileRoundTripsEveryFlag(t *testing.T) {
	fs, _ := serveFlagSet()
	var file strings.Builder
	want := map[string]string{}
	fs.VisitAll(func(f *flag.Flag) {
		if f.Name == configFlag {
			return
		}
		v, w := otherValue(f)
		fmt.Fprintf(&file, "%s = %s\n", f.Name, v)
		want[f.Name] = w
	})
	path := filepath.Join(t.TempDir(), "pimvault.toml")
	if err := os.WriteFile(path, []byte(file.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	fs, _ = serveFlagSet()
	if err := fs.Parse([]string{"--config", path}); err != nil {
		t.Fatal(err)
	}
	src, err := applyConfig(fs, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	if len(want) < 20 {
		t.Fatalf("only %d serve flags: the flag set was not read", len(want))
	}
	for name, w := range want {
		if got := fs.Lookup(name).Value.String(); got != w {
			t.Errorf("%s: got %q, want %q", name, got, w)
		}
		if src[name] != "file "+path {
			t.Errorf("%s: source %q, want the file", name, src[name])
		}
	}
	// The effective configuration config check prints is itself a config
	// file that gives the same values.
	var out bytes.Buffer
	writeEffective(&out, fs, src)
	again := filepath.Join(t.TempDir(), "effective.toml")
	os.WriteFile(again, out.Bytes(), 0o600)
	fs2, _ := serveFlagSet()
	fs2.Parse([]string{"--config", again})
	if _, err := applyConfig(fs2, func(string) string { return "" }); err != nil {
		t.Fatalf("config check's output is not a valid config file: %v\n%s", err, out.String())
	}
	for name, w := range want {
		if got := fs2.Lookup(name).Value.String(); got != w {
			t.Errorf("%s after a second round: got %q, want %q", name, got, w)
		}
	}
}

// TestConfigPrecedence: flags > PIMVAULT_* environment > file > defaults;
// unknown keys and bad values are refused with the key's name.
func TestConfigPrecedence(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "c.toml")
	os.WriteFile(path, []byte("addr = \"127.0.0.1:1111\"\nmetrics-addr = \"127.0.0.1:2222\"\nlog-level = \"warn\"\nkeep-snapshots = 3\n"), 0o600)
	env := map[string]string{"PIMVAULT_METRICS_ADDR": "127.0.0.1:3333", "PIMVAULT_LOG_LEVEL": "debug"}
	fs, o := serveFlagSet()
	fs.Parse([]string{"--config", path, "--log-level", "error"})
	src, err := applyConfig(fs, func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ got, want, src, wantSrc string }{
		{o.addr, "127.0.0.1:1111", src["addr"], "file " + path},
		{o.metricsAddr, "127.0.0.1:3333", src["metrics-addr"], "env PIMVAULT_METRICS_ADDR"},
		{o.logLevel, "error", src["log-level"], "flag"},
		{fmt.Sprint(o.backups.keepSnapshots), "3", src["keep-snapshots"], "file " + path},
		{o.logFormat, "text", src["log-format"], "default"},
	} {
		if c.got != c.want || c.src != c.wantSrc {
			t.Errorf("got %q from %q, want %q from %q", c.got, c.src, c.want, c.wantSrc)
		}
	}
	// PIMVAULT_CONFIG names the file when --config does not.
	fs, o = serveFlagSet()
	fs.Parse(nil)
	if _, err := applyConfig(fs, func(k string) string { return map[string]string{"PIMVAULT_CONFIG": path}[k] }); err != nil || o.addr != "127.0.0.1:1111" {
		t.Errorf("PIMVAULT_CONFIG: addr %q, %v", o.addr, err)
	}
	for body, wantErr := range map[string]string{
		"adr = \"x\"\n":               `unknown key "adr"`,
		"config = \"other.toml\"\n":   `unknown key "config"`,
		"keep-snapshots = \"many\"\n": `key "keep-snapshots"`,
		"snapshot-every = 6\n":        `key "snapshot-every"`,
		"addr = [\"a\", \"b\"]\n":     `key "addr"`,
		"[server]\naddr = \"x\"\n":    `key "server"`,
		"addr = \n":                   "config file",
	} {
		os.WriteFile(path, []byte(body), 0o600)
		fs, _ := serveFlagSet()
		fs.Parse([]string{"--config", path})
		if _, err := applyConfig(fs, func(string) string { return "" }); err == nil || !strings.Contains(err.Error(), wantErr) {
			t.Errorf("%q: %v, want an error naming %s", body, err, wantErr)
		}
	}
	// A repeatable flag takes a comma-separated list from the environment.
	fs, _ = serveFlagSet()
	fs.Parse(nil)
	if _, err := applyConfig(fs, func(k string) string { return map[string]string{"PIMVAULT_TRUSTED_PROXY": "10.0.0.1, 10.1.0.0/16"}[k] }); err != nil || fs.Lookup("trusted-proxy").Value.String() != "10.0.0.1/32,10.1.0.0/16" {
		t.Errorf("PIMVAULT_TRUSTED_PROXY: %q, %v", fs.Lookup("trusted-proxy").Value.String(), err)
	}
	fs, _ = serveFlagSet()
	fs.Parse(nil)
	if _, err := applyConfig(fs, func(k string) string { return map[string]string{"PIMVAULT_KEEP_SNAPSHOTS": "lots"}[k] }); err == nil || !strings.Contains(err.Error(), "PIMVAULT_KEEP_SNAPSHOTS") {
		t.Errorf("bad environment value: %v", err)
	}
}

// TestConfigCheckAcceptsTheExample: the example in contrib/ passes 'config
// check' of the real binary, which prints its values and their sources;
// a file with an unknown key or a remote metrics address fails.
func TestConfigCheckAcceptsTheExample(t *testing.T) {
	t.Parallel()
	example, _ := filepath.Abs("../../contrib/pimvault.toml")
	res := pimvault(t, "config", "check", "--config", example)
	if res.code != 0 {
		t.Fatalf("config check of contrib/pimvault.toml:\n%s", res)
	}
	for _, w := range []string{`data = "/var/lib/pimvault/data"  # file `, `snapshot-every = "6h0m0s"`, `metrics-addr = "127.0.0.1:9232"`, `log-format = "json"`, `init = false  # default`} {
		if !strings.Contains(res.stdout, w) {
			t.Errorf("config check output lacks %s:\n%s", w, res.stdout)
		}
	}
	bad := filepath.Join(t.TempDir(), "bad.toml")
	os.WriteFile(bad, []byte("metrics-addr = \"0.0.0.0:9232\"\n"), 0o600)
	if res := pimvault(t, "config", "check", "--config", bad); res.code == 0 || !strings.Contains(res.stderr, "loopback") {
		t.Errorf("a remote metrics address passed config check:\n%s", res)
	}
	os.WriteFile(bad, []byte("metrics-addr = \"0.0.0.0:9232\"\nmetrics-allow-remote = true\n"), 0o600)
	if res := pimvault(t, "config", "check", "--config", bad); res.code != 0 {
		t.Errorf("--metrics-allow-remote in the file did not allow it:\n%s", res)
	}
	os.WriteFile(bad, []byte("snapshot_every = \"6h\"\n"), 0o600)
	if res := pimvault(t, "serve", "--config", bad); res.code != 2 || !strings.Contains(res.stderr, `unknown key "snapshot_every"`) {
		t.Errorf("serve with an unknown key: want exit 2 naming it, got\n%s", res)
	}
}

// TestSystemdUnitVerifies: contrib/pimvault.service passes systemd-analyze
// verify without a warning (its ExecStart pointed at the built binary).
func TestSystemdUnitVerifies(t *testing.T) {
	t.Parallel()
	sa, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze is not installed (package systemd): the unit is not checked here")
	}
	unit, err := os.ReadFile("../../contrib/pimvault.service")
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"User=pimvault", "ProtectSystem=strict", "ReadWritePaths=/var/lib/pimvault", "NoNewPrivileges=yes", "PrivateTmp=yes", "ProtectHome=yes", "RestrictAddressFamilies=", "SystemCallFilter=@system-service"} {
		if !bytes.Contains(unit, []byte(w)) {
			t.Errorf("the unit lacks %s", w)
		}
	}
	path := filepath.Join(t.TempDir(), "pimvault.service")
	os.WriteFile(path, bytes.ReplaceAll(unit, []byte("/usr/local/bin/pimvault"), []byte(pimvaultBin)), 0o644)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, sa, "verify", path).CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}

// FuzzConfigFile: any file content is either refused with an error or
// sets only flags of serve; it never panics.
func FuzzConfigFile(f *testing.F) {
	for _, s := range []string{"addr = \"x\"\n", "keep-snapshots = 3\ninit = true\n", "[a]\nb=1\n", "snapshot-every = \"6h\"\n", "x = [1,2]\n", "log-level = 1.5\n", "\"\" = 1\n"} {
		f.Add(s)
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, body string) {
		path := filepath.Join(dir, "f.toml")
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		fs, _ := serveFlagSet()
		fs.Parse([]string{"--config", path})
		src, err := applyConfig(fs, func(string) string { return "" })
		if err != nil {
			return
		}
		for name, from := range src {
			if fs.Lookup(name) == nil {
				t.Fatalf("source for unknown flag %q", name)
			}
			if from != "default" && from != "flag" && from != "file "+path {
				t.Fatalf("%s: source %q", name, from)
			}
		}
	})
}
