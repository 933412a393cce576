package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"github.com/pimvault/pimvault/admin"
	"io"
	"log/slog"
	"time"

	"github.com/pimvault/pimvault/replication"
	"github.com/pimvault/pimvault/storage"
)

// replicationFlags are serve's and restore's NATS JetStream settings.
type replicationFlags struct {
	replicate   string
	follow      string
	mode        string
	creds       string
	stream      string
	storeID     string
	allowSingle bool
	maxLag      uint64
	maxLagTime  time.Duration
	leaseTTL    time.Duration
	timeout     time.Duration
	autoFail    bool
	seedBucket  string
}

func (rf *replicationFlags) registerServe(fs *flag.FlagSet) {
	fs.StringVar(&rf.replicate, "replicate", "", "publish every journal record to NATS JetStream at these URLs (nats://h1:4222,nats://h2:4222,…) before answering (sync) or within --max-lag (async)")
	fs.StringVar(&rf.follow, "follow", "", "run as a standby of the store on the stream at these NATS URLs: read-only, writes answered 503 until 'pimvault promote'")
	fs.StringVar(&rf.mode, "replication", "sync", "sync (a write is answered once the stream acknowledged it) or async (bounded lag)")
	fs.Uint64Var(&rf.maxLag, "max-lag", 1000, "async: refuse writes (503) once this many records are not yet on the stream")
	fs.DurationVar(&rf.maxLagTime, "max-lag-time", 10*time.Second, "async: refuse writes (503) once the oldest record not yet on the stream is this old")
	fs.BoolVar(&rf.autoFail, "auto-failover", false, "with --follow: promote this standby by itself once the primary's lease has expired and stays expired (a quarter of --lease-ttl); of several standbys only one wins")
	fs.StringVar(&rf.seedBucket, "seed-bucket", "", "with --follow into an empty directory: start from the newest verified snapshot in this JetStream object store bucket (needed once the stream was trimmed)")
	fs.DurationVar(&rf.leaseTTL, "lease-ttl", 10*time.Second, "the primary's lease lifetime without renewal (a standby can be promoted this long after the primary died)")
	rf.registerCommon(fs)
}

func (rf *replicationFlags) registerCommon(fs *flag.FlagSet) {
	fs.StringVar(&rf.creds, "nats-creds", "", "NATS credentials file")
	fs.StringVar(&rf.stream, "stream", replication.DefaultStream, "JetStream stream name")
	fs.StringVar(&rf.storeID, "store-id", "", "the store to follow or restore when the stream holds several (default: the only one)")
	fs.BoolVar(&rf.allowSingle, "allow-single-replica", false, "accept a stream with fewer than 3 replicas in sync mode")
	fs.DurationVar(&rf.timeout, "nats-timeout", 5*time.Second, "bound on one publish acknowledgement and each stream call")
}

func (rf *replicationFlags) config(urls string, log *slog.Logger, maxBody int64) replication.Config {
	if maxBody == 0 {
		maxBody = storage.DefaultMaxBodySize
	}
	return replication.Config{URLs: urls, Creds: rf.creds, Stream: rf.stream, Mode: replication.Mode(rf.mode),
		MaxLagRecords: rf.maxLag, MaxLagTime: rf.maxLagTime, AllowSingleReplica: rf.allowSingle,
		Timeout: rf.timeout, LeaseTTL: rf.leaseTTL, MaxRecord: maxBody + 64<<10, AutoFailover: rf.autoFail, SeedBucket: rf.seedBucket, Log: log}
}

func (rf *replicationFlags) validate() error {
	if rf.replicate != "" && rf.follow != "" {
		return errors.New("--replicate and --follow exclude each other (a standby publishes once promoted)")
	}
	if (rf.autoFail || rf.seedBucket != "") && rf.follow == "" {
		return errors.New("--auto-failover and --seed-bucket need --follow (they are a standby's settings)")
	}
	if rf.mode != string(replication.Sync) && rf.mode != string(replication.Async) {
		return fmt.Errorf("--replication %q: want sync or async", rf.mode)
	}
	return nil
}

// openServeStore opens the store serve runs on: a standby following the
// stream (--follow), or the store, publishing its journal (--replicate).
// closeRepl stops replication; call it before the store closes.
func openServeStore(ctx context.Context, dir string, opts storage.Options, rf *replicationFlags, log *slog.Logger) (s *storage.Store, standby bool, closeRepl func(), err error) {
	closeRepl = func() {}
	switch {
	case rf.follow != "":
		cfg := rf.config(rf.follow, log, opts.MaxBodySize)
		id, err := replication.DiscoverStore(ctx, cfg, dir, rf.storeID)
		if err != nil {
			return nil, false, nil, err
		}
		s, f, err := replication.OpenStandby(ctx, dir, id, opts, cfg)
		if err != nil {
			return nil, false, nil, err
		}
		return s, true, func() { f.Close() }, nil
	case rf.replicate != "":
		s, err := storage.Open(dir, opts)
		if err != nil {
			return nil, false, nil, err
		}
		p, err := replication.StartPublisher(ctx, s, rf.config(rf.replicate, log, opts.MaxBodySize))
		if err != nil {
			s.Close()
			if errors.Is(err, replication.ErrFenced) || errors.Is(err, replication.ErrLeaseHeld) {
				err = fmt.Errorf("%w\nthis store has another primary now: rejoin as its standby with 'pimvault serve --follow URLS --data %s' (records never replicated are set aside in %s.diverged-TIME)", err, dir, dir)
			}
			return nil, false, nil, err
		}
		return s, false, func() { p.Close() }, nil
	}
	s, err = storage.Open(dir, opts)
	return s, false, closeRepl, err
}

// runPromote makes a running standby the primary.
func runPromote(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("promote", stderr)
	var sf storeFlags
	sf.register(fs)
	force := fs.Bool("force", false, "take the primary's lease at once instead of waiting for it to expire (only when the old primary is surely dead; it is fenced either way)")
	if code, ok := parseArgs(fs, args, stdout); !ok {
		return code
	}
	locked, err := storage.IsLocked(sf.data)
	if err != nil || !locked {
		fmt.Fprintf(stderr, "pimvault promote: no standby is running on %s (start it with 'pimvault serve --follow URLS --data %s')\n", sf.data, sf.data)
		return 1
	}
	return adminRun(ctx, sf, "promote", admin.Request{Force: *force}, nil, stdout, stderr)
}
