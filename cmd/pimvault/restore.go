package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/pimvault/pimvault/replication"
	"github.com/pimvault/pimvault/storage"
)

// runRestore builds a new store in an empty directory from a snapshot plus
// the journal up to a point in time or a sequence, and starts a new epoch.
// It only reads the source, so it works while a server runs on it.
func runRestore(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("restore", stderr)
	var sf storeFlags
	sf.register(fs)
	from := fs.String("from", "", "snapshot file to start from (default: the newest verified one in <data>/snapshots at or before the target); when --data holds no store, the file alone is restored")
	toTime := fs.String("to-time", "", "restore the state as of this time ("+storage.TimeArgFormat+"; from 1970 to now)")
	toSeq := fs.Uint64("to-seq", 0, "restore the state after this journal sequence")
	out := fs.String("out", "", "new data directory (must be empty or not exist)")
	fromStream := fs.String("from-stream", "", "restore from the NATS JetStream stream alone (nats://h1:4222,…) up to --to-seq or its end")
	fromObject := fs.String("from-nats-object", "", "restore from the newest verified snapshot in a JetStream object store bucket (nats://h1:4222,…/BUCKET, as 'backup --to' wrote it) plus the stream after it, up to --to-seq or the stream's end")
	var rf replicationFlags
	rf.registerCommon(fs)
	if code, ok := parseArgs(fs, args, stdout); !ok {
		return code
	}
	if *out == "" {
		fmt.Fprintln(stderr, "pimvault restore: --out EMPTYDIR is required")
		return 2
	}
	if *fromStream != "" || *fromObject != "" {
		if *from != "" || *toTime != "" || (*fromStream != "" && *fromObject != "") {
			fmt.Fprintln(stderr, "pimvault restore: --from-stream or --from-nats-object (one of them) takes --to-seq, not --from or --to-time")
			return 2
		}
		log := slog.New(slog.NewTextHandler(stderr, nil))
		var rep replication.StreamRestoreReport
		var err error
		if *fromObject != "" {
			urls, bucket, perr := replication.ParseObjectURL(*fromObject)
			if perr != nil {
				fmt.Fprintf(stderr, "pimvault restore: --from-nats-object %v\n", perr)
				return 2
			}
			rep, err = replication.RestoreFromObjectStore(ctx, rf.config(urls, log, 0), bucket, *out, rf.storeID, *toSeq, storage.Options{Logger: log})
		} else {
			rep, err = replication.RestoreFromStream(ctx, rf.config(*fromStream, log, 0), *out, rf.storeID, *toSeq, storage.Options{Logger: log})
		}
		if err != nil {
			fmt.Fprintf(stderr, "pimvault restore: %v\n", err)
			return 1
		}
		fmt.Fprint(stdout, rep.String())
		fmt.Fprintf(stdout, "start it with: pimvault serve --data %s\n", *out)
		return 0
	}
	if err := sf.checkStore(); err != nil {
		fmt.Fprintf(stderr, "pimvault restore: %v\n", err)
		return 1
	}
	o := storage.RestoreOptions{DataDir: sf.data, JournalDir: sf.journalDir, From: *from, ToSeq: *toSeq, Out: *out,
		Logger: slog.New(slog.NewTextHandler(stderr, nil))}
	if *toTime != "" {
		t, err := storage.ParseTimeArg("--to-time", *toTime, time.Now())
		if err != nil {
			fmt.Fprintf(stderr, "pimvault restore: %v\n", err)
			return 2
		}
		o.ToTime = t
	}
	rep, err := storage.Restore(ctx, o)
	if err != nil {
		fmt.Fprintf(stderr, "pimvault restore: %v\n", err)
		return 1
	}
	fmt.Fprint(stdout, rep.String())
	fmt.Fprintf(stdout, "start it with: pimvault serve --data %s\n", *out)
	return 0
}
