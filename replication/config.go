package replication

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Mode says when a write is acknowledged.
type Mode string

const (
	// Sync: a client hears "done" only when its records are fsynced in the
	// local journal and acknowledged by the stream (stored and fsynced by a
	// majority of its replicas).
	Sync Mode = "sync"
	// Async: a client hears "done" after the local fsync; the stream follows
	// within a bounded lag (Config.MaxLagRecords, MaxLagTime).
	Async Mode = "async"
)

// DefaultStream is the stream name when none is given.
const DefaultStream = "PIMVAULT"

// subjectPrefix is the start of every journal subject: one subject per
// store, so a stream can later carry several stores (shards), each with
// its own single writer.
const subjectPrefix = "pimvault.journal."

// Subject is the stream subject of the store storeID.
func Subject(storeID string) string { return subjectPrefix + storeID }

// Config says where the stream is and how to use it.
type Config struct {
	URLs   string // comma-separated nats:// URLs of the cluster
	Creds  string // NATS credentials file ("" for none)
	Stream string // stream name (default DefaultStream)
	Mode   Mode
	// MaxLagRecords and MaxLagTime bound an async primary's unreplicated
	// tail: beyond either, writes are refused (503) until the stream catches up.
	MaxLagRecords uint64
	MaxLagTime    time.Duration
	// AllowSingleReplica accepts a stream with fewer than three replicas in
	// sync mode (tests, or an operator who knows).
	AllowSingleReplica bool
	// Timeout bounds one publish (its acknowledgement) and each stream call.
	Timeout time.Duration
	// LeaseTTL is how long the primary's lease lives without renewal.
	LeaseTTL time.Duration
	// MaxRecord is the largest journal frame the store can write; the
	// servers' max_payload must take it.
	MaxRecord int64
	// AutoFailover (standby): once the primary's lease has expired and
	// stays expired for AutoFailoverGrace, promote this standby as
	// 'pimvault promote' would, without force. Two standbys that try at
	// once cannot both win: the lease is created with a revision check.
	AutoFailover bool
	// AutoFailoverGrace is how long the lease must stay absent; default a
	// quarter of LeaseTTL.
	AutoFailoverGrace time.Duration
	// SeedBucket (standby): a JetStream object store bucket whose newest
	// verified snapshot a standby in an empty directory starts from, so
	// that it can follow a stream trimmed below it.
	SeedBucket string
	Log        *slog.Logger
}

// MinReplicas is the replica count sync mode needs.
const MinReplicas = 3

func (c Config) withDefaults() Config {
	if c.Stream == "" {
		c.Stream = DefaultStream
	}
	if c.Mode == "" {
		c.Mode = Sync
	}
	if c.MaxLagRecords == 0 {
		c.MaxLagRecords = 1000
	}
	if c.MaxLagTime == 0 {
		c.MaxLagTime = 10 * time.Second
	}
	if c.Timeout == 0 {
		c.Timeout = 5 * time.Second
	}
	if c.LeaseTTL == 0 {
		c.LeaseTTL = 10 * time.Second
	}
	if c.AutoFailoverGrace == 0 {
		c.AutoFailoverGrace = c.LeaseTTL / 4
	}
	if c.Log == nil {
		c.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return c
}

// Validate reports a configuration that cannot work.
func (c Config) Validate() error {
	switch {
	case strings.TrimSpace(c.URLs) == "":
		return errors.New("no NATS URL")
	case c.Mode != "" && c.Mode != Sync && c.Mode != Async:
		return fmt.Errorf("replication mode %q: want sync or async", c.Mode)
	case c.Stream != "" && strings.ContainsAny(c.Stream, ". *>\t\r\n"):
		return fmt.Errorf("stream name %q: no dots, spaces or wildcards", c.Stream)
	case c.LeaseTTL != 0 && c.LeaseTTL < time.Second:
		return fmt.Errorf("lease TTL %s: at least 1s", c.LeaseTTL)
	}
	for _, u := range strings.Split(c.URLs, ",") {
		if u = strings.TrimSpace(u); !strings.HasPrefix(u, "nats://") && !strings.HasPrefix(u, "tls://") {
			return fmt.Errorf("NATS URL %q: want nats://host:port or tls://host:port", u)
		}
	}
	return nil
}

// conn is a connection to the cluster and the stream.
type conn struct {
	nc     *nats.Conn
	js     jetstream.JetStream
	stream jetstream.Stream
	cfg    Config
}

// dial connects to the cluster (retrying in the background when servers
// go away) and opens or creates the stream.
func dial(ctx context.Context, cfg Config, name string, create bool) (*conn, error) {
	opts := []nats.Option{nats.Name(name), nats.MaxReconnects(-1), nats.ReconnectWait(250 * time.Millisecond),
		nats.RetryOnFailedConnect(false), nats.Timeout(cfg.Timeout)}
	if cfg.Creds != "" {
		opts = append(opts, nats.UserCredentials(cfg.Creds))
	}
	log := cfg.Log
	opts = append(opts,
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) { log.Warn("replication: disconnected from NATS", "err", err) }),
		nats.ReconnectHandler(func(nc *nats.Conn) { log.Info("replication: reconnected to NATS", "server", nc.ConnectedUrlRedacted()) }))
	nc, err := nats.Connect(cfg.URLs, opts...)
	if err != nil {
		return nil, fmt.Errorf("connect to NATS %s: %w", cfg.URLs, err)
	}
	c := &conn{nc: nc, cfg: cfg}
	c.js, err = jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, err
	}
	if err := c.openStream(ctx, create); err != nil {
		nc.Close()
		return nil, err
	}
	return c, nil
}

// openStream opens the stream, creating it (R3, file storage, nothing ever
// discarded) when create is set and it does not exist, and checks that its
// settings keep every record.
func (c *conn) openStream(ctx context.Context, create bool) error {
	var st jetstream.Stream
	var err error
	for attempt := 0; ; attempt++ {
		cctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
		st, err = c.js.Stream(cctx, c.cfg.Stream)
		if errors.Is(err, jetstream.ErrStreamNotFound) && create {
			replicas := MinReplicas
			st, err = c.js.CreateStream(cctx, c.streamConfig(replicas))
			if err != nil && c.cfg.AllowSingleReplica {
				c.cfg.Log.Warn("replication: could not create a 3-replica stream; creating one replica as --allow-single-replica permits", "err", err)
				st, err = c.js.CreateStream(cctx, c.streamConfig(1))
			}
		}
		cancel()
		// A cluster that just started may not have elected its JetStream
		// leader yet: retry for a while.
		if err == nil || errors.Is(err, jetstream.ErrStreamNotFound) || attempt >= 20 || ctx.Err() != nil {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	if err != nil {
		return fmt.Errorf("stream %s: %w", c.cfg.Stream, err)
	}
	info := st.CachedInfo()
	sc := info.Config
	switch {
	case sc.Storage != jetstream.FileStorage:
		return fmt.Errorf("stream %s uses memory storage: pimvault needs file storage", c.cfg.Stream)
	case sc.MaxAge != 0 || sc.MaxMsgs > 0 || sc.MaxBytes > 0 || sc.MaxMsgsPerSubject > 0:
		return fmt.Errorf("stream %s has limits (max age %s, max msgs %d, max bytes %d, per subject %d) that would discard journal records: remove them", c.cfg.Stream, sc.MaxAge, sc.MaxMsgs, sc.MaxBytes, sc.MaxMsgsPerSubject)
	case sc.Replicas < MinReplicas && c.cfg.Mode == Sync && !c.cfg.AllowSingleReplica:
		return fmt.Errorf("stream %s has %d replica(s): sync replication needs at least %d (or --allow-single-replica)", c.cfg.Stream, sc.Replicas, MinReplicas)
	}
	if sc.Replicas < MinReplicas {
		c.cfg.Log.Warn("replication: the stream has fewer than 3 replicas; a NATS node lost may lose records", "stream", c.cfg.Stream, "replicas", sc.Replicas)
	}
	if mp := c.nc.MaxPayload(); c.cfg.MaxRecord > 0 && mp < c.cfg.MaxRecord {
		return fmt.Errorf("the NATS servers take messages of at most %d bytes, a journal record may take %d: raise max_payload in the nats-server configuration (or lower --max-body)", mp, c.cfg.MaxRecord)
	}
	c.stream = st
	return nil
}

func (c *conn) streamConfig(replicas int) jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:        c.cfg.Stream,
		Description: "pimvault journals: one subject per store, records byte for byte as in the local journal",
		Subjects:    []string{subjectPrefix + ">"},
		Storage:     jetstream.FileStorage,
		Replicas:    replicas,
		Retention:   jetstream.LimitsPolicy,
		Discard:     jetstream.DiscardNew,
		MaxMsgs:     -1,
		MaxBytes:    -1,
		MaxAge:      0,
		Duplicates:  2 * time.Minute,
		DenyDelete:  true,
		AllowDirect: true,
	}
}

func (c *conn) replicas() int {
	if c.stream == nil {
		return 0
	}
	return c.stream.CachedInfo().Config.Replicas
}

func (c *conn) close() {
	if c.nc != nil {
		c.nc.Close()
	}
}
