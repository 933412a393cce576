package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/pimvault/pimvault/admin"
	"github.com/pimvault/pimvault/replication"
)

// runBackup writes a verified hot snapshot: through the admin socket when a
// server holds the data directory (writes go on), else on the store opened here.
func runBackup(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("backup", stderr)
	var sf storeFlags
	sf.register(fs)
	out := fs.String("out", "", "snapshot file to write (must not exist; its tag is written to FILE.json); default: <data>/snapshots/")
	to := fs.String("to", "", "also store the snapshot in a NATS JetStream object store bucket: nats://h1:4222[,h2:4222…]/BUCKET (read back and verified there)")
	trim := fs.Bool("trim-stream", false, "with --to: trim the replication stream below the newest verified snapshot in the bucket")
	var rf replicationFlags
	rf.registerCommon(fs)
	if code, ok := parseArgs(fs, args, stdout); !ok {
		return code
	}
	if *trim && *to == "" {
		fmt.Fprintln(stderr, "pimvault backup: --trim-stream needs --to nats://…/BUCKET")
		return 2
	}
	var urls, bucket string
	if *to != "" {
		var err error
		if urls, bucket, err = replication.ParseObjectURL(*to); err != nil {
			fmt.Fprintf(stderr, "pimvault backup: --to %v\n", err)
			return 2
		}
	}
	var a admin.Request
	if *out != "" {
		abs, err := filepath.Abs(*out)
		if err != nil {
			fmt.Fprintf(stderr, "pimvault backup: %v\n", err)
			return 2
		}
		// The snapshot's directory is created here (not by the server, which
		// may run as another user): a backup to a new folder just works.
		if err := os.MkdirAll(filepath.Dir(abs), 0o700); err != nil {
			fmt.Fprintf(stderr, "pimvault backup: %v\n", err)
			return 1
		}
		a.Out = abs
	}
	if *to == "" {
		return adminRun(ctx, sf, "backup", a, nil, stdout, stderr)
	}
	var res strings.Builder
	if code := adminRun(ctx, sf, "backup", a, nil, io.MultiWriter(stdout, &res), stderr); code != 0 {
		return code
	}
	path := a.Out
	if path == "" {
		m := snapshotLine.FindStringSubmatch(res.String())
		if m == nil {
			fmt.Fprintln(stderr, "pimvault backup: the backup did not name its snapshot file")
			return 1
		}
		path = m[1]
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	cfg := rf.config(urls, log, 0)
	scratch, err := os.MkdirTemp("", "pimvault-backup-")
	if err != nil {
		fmt.Fprintf(stderr, "pimvault backup: %v\n", err)
		return 1
	}
	defer os.RemoveAll(scratch)
	up, err := replication.UploadSnapshot(ctx, cfg, bucket, path, scratch)
	if err != nil {
		fmt.Fprintf(stderr, "pimvault backup: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "stored in bucket %s as %s; read back from the bucket and verified (state hash %s at sequence %d)\n", bucket, up.Name, up.Info.StateHash, up.Info.Seq)
	if *trim {
		kept, err := replication.TrimStream(ctx, cfg, bucket, up.Info.StoreID)
		if err != nil {
			fmt.Fprintf(stderr, "pimvault backup: trim the stream: %v\n", err)
			return 1
		}
		fmt.Fprintf(stdout, "stream %s trimmed below the newest verified snapshot in %s (sequence %d); restore with: pimvault restore --from-nats-object %s --out DIR\n", cfg.Stream, bucket, kept, *to)
	}
	return 0
}

// snapshotLine finds the snapshot file in the backup command's output.
var snapshotLine = regexp.MustCompile(`(?m)^snapshot: (.+) \(tag `)
