package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/pimvault/pimvault/admin"
)

// runBackup writes a verified hot snapshot: through the admin socket when a
// server holds the data directory (writes go on), else on the store opened here.
func runBackup(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("backup", stderr)
	var sf storeFlags
	sf.register(fs)
	out := fs.String("out", "", "snapshot file to write (must not exist; its tag is written to FILE.json); default: <data>/snapshots/")
	if code, ok := parseArgs(fs, args, stdout); !ok {
		return code
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
	return adminRun(ctx, sf, "backup", a, nil, stdout, stderr)
}
