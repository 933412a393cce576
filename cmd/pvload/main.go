// Command pvload drives a running CardDAV server over HTTP and measures it:
// PUT throughput, a phone's first sync (PROPFIND Depth 1 + multiget) and the
// cost of an incremental sync-collection against the size of the address
// book. It speaks plain CardDAV, so it runs against pimvault and Radicale
// alike (make bench-server, make bench-radicale). The calendar scenario
// (--scenario calendar) does the same for CalDAV: PUT of events,
// then one-month calendar-query reports without and with expand.
//
// `pvload storm setup|run` is the reconnect storm of make bench-storm:
// thousands of phones over many accounts after a server restart.
//
// `pvload mixed` is the steady mixed load of make bench-mixed: phones over
// many accounts, each looping over a periodic sync (PROPFIND, sync-collection,
// PUT, multiget, calendar-query) for a fixed time.
//
// pvload only ever connects to the URL it is given, and only to a loopback
// address: load is allowed on loopback only. Every request loop is bounded
// in count and by --timeout, every response is checked (status codes, hrefs,
// ETags, counts), and any error ends the run with a non-zero exit.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Bounds on the flags, so a typo cannot start an unbounded run.
const (
	maxContacts    = 1_000_000
	maxConcurrency = 256
	maxRepeats     = 100_000
)

// config is one run's settings, from the flags.
type config struct {
	URL              string
	User             string
	Password         string
	Book             string // address book URL path; "" discovers it
	SyncBook         string // the sync scenario's own book; "" is a sibling of Book
	Contacts         int
	Concurrency      int
	Scenarios        []string // put, firstsync, sync, in that order
	Sizes            []int
	PID              int
	JSON             bool
	Timeout          time.Duration
	RequestTimeout   time.Duration
	Seed             uint64
	Batch            int // hrefs per multiget
	Changes          int // changes before each timed sync-collection
	SyncRepeats      int
	FirstSyncRepeats int
	CPUProfile       string
	WriteDir         string // write the contacts as files here instead of running scenarios
	WriteBook        string // main or sync
	Events           int    // calendar scenario: events to PUT
	QueryRepeats     int    // calendar scenario: timed reports of each kind
	NoExpand         bool   // calendar scenario: skip the expand reports (a server without expand)
}

var allScenarios = []string{"put", "firstsync", "sync"}

// knownScenarios are all scenarios in the order they run; calendar is not
// part of "all", which stays the CardDAV run.
var knownScenarios = []string{"put", "firstsync", "sync", "calendar"}

// defaults returns the configuration the flags start from.
func defaults() config {
	return config{
		Contacts: 10000, Concurrency: 8, Scenarios: allScenarios, Sizes: []int{1000, 10000, 50000},
		Timeout: 10 * time.Minute, RequestTimeout: 2 * time.Minute, Seed: 1, Batch: 100, Changes: 10,
		SyncRepeats: 200, FirstSyncRepeats: 3, Events: 10000, QueryRepeats: 100,
	}
}

// Validate reports settings that cannot work.
func (c config) Validate() error {
	switch {
	case c.URL == "":
		return errors.New("--url is required")
	case c.User == "":
		return errors.New("--user is required")
	case c.Contacts < 1 || c.Contacts > maxContacts:
		return fmt.Errorf("--contacts %d: must be between 1 and %d", c.Contacts, maxContacts)
	case c.Concurrency < 1 || c.Concurrency > maxConcurrency:
		return fmt.Errorf("--concurrency %d: must be between 1 and %d", c.Concurrency, maxConcurrency)
	case c.Timeout <= 0 || c.RequestTimeout <= 0:
		return errors.New("--timeout and --request-timeout must be positive")
	case c.Batch < 1 || c.Batch > 1000:
		return fmt.Errorf("--batch %d: must be between 1 and 1000", c.Batch)
	case c.Changes < 3 || c.Changes > 1000:
		return fmt.Errorf("--changes %d: must be between 3 and 1000 (some edits, one add, one delete)", c.Changes)
	case c.SyncRepeats < 1 || c.SyncRepeats > maxRepeats || c.FirstSyncRepeats < 1 || c.FirstSyncRepeats > 100:
		return errors.New("--sync-repeats must be 1..100000 and --firstsync-repeats 1..100")
	case c.Events < 1 || c.Events > maxContacts || c.QueryRepeats < 1 || c.QueryRepeats > maxRepeats:
		return fmt.Errorf("--events must be 1..%d and --query-repeats 1..%d", maxContacts, maxRepeats)
	case len(c.Scenarios) == 0:
		return errors.New("--scenario: nothing to run")
	}
	for _, s := range c.Sizes {
		if s < c.Changes || s > maxContacts {
			return fmt.Errorf("--sizes %d: each size must be between --changes (%d) and %d", s, c.Changes, maxContacts)
		}
	}
	if _, err := checkLoopbackURL(c.URL); err != nil {
		return err
	}
	return nil
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := runMain(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// runMain parses the flags, runs the scenarios and writes the report: text on
// stdout, or JSON on stdout with --json (the text then goes to stderr). It
// returns the exit code.
func runMain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && args[0] == "storm" {
		return runStorm(ctx, args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "mixed" {
		return runMixed(ctx, args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "compare" {
		return runCompare(args[1:], stdout, stderr)
	}
	cfg, err := parseFlags(args, stderr)
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintf(stderr, "pvload: %v\n", err)
		}
		return 2
	}
	if cfg.WriteDir != "" {
		if err := writeFiles(cfg.WriteDir, cfg.WriteBook, cfg.Seed, cfg.Contacts); err != nil {
			fmt.Fprintf(stderr, "pvload: %v\n", err)
			return 1
		}
		fmt.Fprintf(stderr, "pvload: wrote %d contacts of the %s book (seed %d) to %s\n", cfg.Contacts, cfg.WriteBook, cfg.Seed, cfg.WriteDir)
		return 0
	}
	if cfg.CPUProfile != "" {
		f, err := os.Create(cfg.CPUProfile)
		if err != nil {
			fmt.Fprintf(stderr, "pvload: %v\n", err)
			return 1
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintf(stderr, "pvload: %v\n", err)
			return 1
		}
		defer f.Close()
		defer pprof.StopCPUProfile()
	}
	rep, err := run(ctx, cfg, stderr)
	if rep != nil {
		text := stdout
		if cfg.JSON {
			text = stderr
			enc := json.NewEncoder(stdout)
			enc.SetIndent("", "  ")
			if jerr := enc.Encode(rep); jerr != nil && err == nil {
				err = jerr
			}
		}
		rep.writeText(text)
	}
	if err != nil {
		fmt.Fprintf(stderr, "pvload: FAILED: %v\n", err)
		return 1
	}
	return 0
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	cfg := defaults()
	fs := flag.NewFlagSet("pvload", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.URL, "url", "", "base URL of the server (loopback only), e.g. http://127.0.0.1:5232")
	fs.StringVar(&cfg.User, "user", "", "account name")
	fs.StringVar(&cfg.Password, "password", "", "password (prefer --password-file)")
	pwFile := fs.String("password-file", "", "file whose first line is the password")
	fs.StringVar(&cfg.Book, "book", "", "address book URL path (default: discovered: current-user-principal → addressbook-home-set → first address book)")
	fs.StringVar(&cfg.SyncBook, "sync-book", "", "address book the sync scenario fills (default: pvload-sync-<seed>/ beside --book, created with extended MKCOL)")
	fs.IntVar(&cfg.Contacts, "contacts", cfg.Contacts, "contacts to PUT (put) and to list (firstsync)")
	fs.IntVar(&cfg.Concurrency, "concurrency", cfg.Concurrency, "concurrent PUT workers")
	scen := fs.String("scenario", "all", "put|firstsync|sync|calendar|all (put,firstsync,sync), or a comma-separated list")
	fs.IntVar(&cfg.Events, "events", cfg.Events, "calendar scenario: events to PUT (10% weekly recurring)")
	fs.IntVar(&cfg.QueryRepeats, "query-repeats", cfg.QueryRepeats, "calendar scenario: timed one-month calendar-query reports, without and with expand")
	fs.BoolVar(&cfg.NoExpand, "no-expand", false, "calendar scenario: skip the reports with expand (for servers that do not expand, such as Radicale 3.1)")
	sizes := fs.String("sizes", "1000,10000,50000", "address book sizes for the sync scenario")
	fs.IntVar(&cfg.PID, "pid", 0, "server process id: read VmRSS/VmHWM from /proc/PID/status after each step")
	fs.BoolVar(&cfg.JSON, "json", false, "write the report as JSON on stdout (text goes to stderr)")
	fs.DurationVar(&cfg.Timeout, "timeout", cfg.Timeout, "bound on the whole run")
	fs.DurationVar(&cfg.RequestTimeout, "request-timeout", cfg.RequestTimeout, "bound on one request")
	fs.Uint64Var(&cfg.Seed, "seed", cfg.Seed, "seed of the generated contacts (names, UIDs and bodies)")
	fs.IntVar(&cfg.Batch, "batch", cfg.Batch, "hrefs per addressbook-multiget")
	fs.IntVar(&cfg.Changes, "changes", cfg.Changes, "changes before the timed sync-collection (edits, one add, one delete)")
	fs.IntVar(&cfg.SyncRepeats, "sync-repeats", cfg.SyncRepeats, "timed sync-collection requests per size")
	fs.IntVar(&cfg.FirstSyncRepeats, "firstsync-repeats", cfg.FirstSyncRepeats, "first syncs to time")
	fs.StringVar(&cfg.WriteDir, "write-vcf", "", "write contacts 0..N-1 (--contacts) of a book as .vcf files into this folder, send nothing, and exit")
	fs.StringVar(&cfg.WriteBook, "write-book", "main", "with --write-vcf: the contacts of the main book or of the sync book")
	fs.StringVar(&cfg.CPUProfile, "cpuprofile", "", "write pvload's own CPU profile to this file (is the client the limit?)")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if *pwFile != "" {
		if cfg.Password != "" {
			return cfg, errors.New("give --password or --password-file, not both")
		}
		b, err := os.ReadFile(*pwFile)
		if err != nil {
			return cfg, err
		}
		cfg.Password = strings.TrimRight(strings.SplitN(string(b), "\n", 2)[0], "\r")
	}
	if cfg.WriteDir != "" {
		if cfg.Contacts < 1 || cfg.Contacts > maxContacts {
			return cfg, fmt.Errorf("--contacts %d: must be between 1 and %d", cfg.Contacts, maxContacts)
		}
		return cfg, nil
	}
	var err error
	if cfg.Scenarios, err = parseScenarios(*scen); err != nil {
		return cfg, err
	}
	if cfg.Sizes, err = parseSizes(*sizes); err != nil {
		return cfg, err
	}
	return cfg, cfg.Validate()
}

// parseScenarios returns the named scenarios in the order they run.
func parseScenarios(s string) ([]string, error) {
	want := map[string]bool{}
	for _, name := range strings.Split(s, ",") {
		name = strings.TrimSpace(name)
		switch name {
		case "all":
			for _, n := range allScenarios {
				want[n] = true
			}
		case "put", "firstsync", "sync", "calendar":
			want[name] = true
		default:
			return nil, fmt.Errorf("--scenario %q: want put, firstsync, sync, calendar or all", name)
		}
	}
	var out []string
	for _, n := range knownScenarios {
		if want[n] {
			out = append(out, n)
		}
	}
	return out, nil
}

// parseSizes parses "1000,10000,50000" (k and m suffixes allowed) into
// ascending, distinct sizes.
func parseSizes(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		f = strings.ToLower(strings.TrimSpace(f))
		mul := 1
		switch {
		case strings.HasSuffix(f, "k"):
			mul, f = 1000, strings.TrimSuffix(f, "k")
		case strings.HasSuffix(f, "m"):
			mul, f = 1_000_000, strings.TrimSuffix(f, "m")
		}
		n, err := strconv.Atoi(f)
		if err != nil || n <= 0 || n > maxContacts/mul {
			return nil, fmt.Errorf("--sizes: bad size %q", f)
		}
		out = append(out, n*mul)
	}
	sort.Ints(out)
	dedup := out[:0]
	for i, n := range out {
		if i == 0 || n != out[i-1] {
			dedup = append(dedup, n)
		}
	}
	return dedup, nil
}

// run runs the configured scenarios in order (put, firstsync, sync) and
// returns what they measured. It stops at the first error; the report then
// holds what was measured until then.
func run(ctx context.Context, cfg config, progress io.Writer) (*report, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	c, err := newDAVClient(cfg.URL, cfg.User, cfg.Password, cfg.Concurrency, cfg.RequestTimeout)
	if err != nil {
		return nil, err
	}
	defer c.close()
	logf := func(format string, args ...any) {
		fmt.Fprintf(progress, "pvload: "+format+"\n", args...)
	}
	rep := &report{URL: cfg.URL, Started: time.Now().UTC(), Seed: cfg.Seed, Scenarios: cfg.Scenarios}
	err = runScenarios(ctx, cfg, c, rep, logf)
	rep.Seconds = time.Since(rep.Started).Seconds()
	rep.Requests = c.requests.Load()
	rep.ServerHeader = c.serverHeader()
	if err == nil && ctx.Err() != nil {
		err = ctx.Err()
	}
	if errors.Is(err, context.DeadlineExceeded) {
		err = fmt.Errorf("%w (the whole run is bounded by --timeout %s)", err, cfg.Timeout)
	}
	return rep, err
}

func runScenarios(ctx context.Context, cfg config, c *davClient, rep *report, logf func(string, ...any)) error {
	book := cfg.Book
	if book == "" {
		var err error
		if book, err = discoverBook(ctx, c); err != nil {
			return fmt.Errorf("discovery: %w", err)
		}
		logf("discovered address book %s", book)
	} else if !strings.HasSuffix(book, "/") {
		book += "/"
	}
	rep.Book = book
	if err := rep.sampleMemory(cfg.PID, "start"); err != nil {
		return err
	}
	primary := newBookState(book, newContactGen(cfg.Seed, "m"))
	needMain := false
	for _, s := range cfg.Scenarios {
		needMain = needMain || s == "put" || s == "firstsync"
	}
	if needMain {
		if err := primary.load(ctx, c); err != nil {
			return err
		}
		logf("%s holds %d contacts", book, primary.count)
	}
	for _, s := range cfg.Scenarios {
		var err error
		switch s {
		case "put":
			logf("put: %d contacts, %d workers, If-None-Match: *", cfg.Contacts, cfg.Concurrency)
			rep.Put, err = runPut(ctx, c, primary, cfg)
		case "firstsync":
			logf("firstsync: PROPFIND Depth 1 + multiget in batches of %d, %d runs", cfg.Batch, cfg.FirstSyncRepeats)
			rep.FirstSync, err = runFirstSync(ctx, c, primary, cfg, logf)
		case "sync":
			syncBook := cfg.SyncBook
			if syncBook == "" {
				syncBook = parentPath(book) + fmt.Sprintf("pvload-sync-%d/", cfg.Seed)
			}
			logf("sync: sizes %v in %s, %d changes, %d timed reports per size", cfg.Sizes, syncBook, cfg.Changes, cfg.SyncRepeats)
			rep.Sync, err = runSync(ctx, c, syncBook, cfg, rep, logf)
		case "calendar":
			rep.Calendar, err = runCalendar(ctx, c, cfg, logf)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", s, err)
		}
		if err := rep.sampleMemory(cfg.PID, s); err != nil {
			return err
		}
	}
	return nil
}
