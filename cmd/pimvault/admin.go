package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/pimvault/pimvault/admin"
	"github.com/pimvault/pimvault/storage"
)

// storeFlags are the flags every command that touches a data directory has.
type storeFlags struct {
	data           string
	journalDir     string
	expectID       string
	assumeComplete bool
}

func (f *storeFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.data, "data", "./data", "data directory")
	fs.StringVar(&f.journalDir, "journal-dir", "", "journal directory (default <data>/journal)")
	fs.StringVar(&f.expectID, "expect-store-id", "", "refuse a data directory whose IDENTITY names another store (see 'pimvault status'); guards against a wrong --data")
	fs.BoolVar(&f.assumeComplete, "assume-journal-complete", false, "when store.db and HIGHWATER are both missing, trust that the journal is complete instead of putting every account into RECOVERING")
}

func (f *storeFlags) options() storage.Options {
	return storage.Options{JournalDir: f.journalDir, ExpectStoreID: f.expectID, AssumeJournalComplete: f.assumeComplete}
}

// checkStore refuses, before anything is opened or created, a data
// directory that is not the store --expect-store-id names.
func (f *storeFlags) checkStore() error {
	if f.expectID == "" {
		return nil
	}
	return storage.CheckStoreID(f.data, f.expectID)
}

// adminRun runs an admin command where the store is: through the admin socket
// when a server holds the data directory, otherwise on the store opened here.
// offline, when set, replaces opening the store (rebuild must work on a
// store.db that does not open).
func adminRun(ctx context.Context, sf storeFlags, name string, req admin.Request, offline func() (admin.Result, error), stdout, stderr io.Writer) int {
	if err := sf.checkStore(); err != nil {
		fmt.Fprintf(stderr, "pimvault %s: %v\n", name, err)
		return 1
	}
	locked, err := storage.IsLocked(sf.data)
	if err != nil {
		fmt.Fprintf(stderr, "pimvault %s: %v\n", name, err)
		return 1
	}
	var res admin.Result
	switch {
	case locked:
		res, err = admin.Call(ctx, sf.data, name, req)
	case offline != nil:
		res, err = offline()
	default:
		var s *storage.Store
		s, err = storage.OpenExisting(sf.data, sf.options())
		if err == nil {
			res, err = admin.Run(ctx, name, s, req)
			if cerr := s.Close(); err == nil {
				err = cerr
			}
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "pimvault %s: %v\n", name, err)
		return 1
	}
	fmt.Fprint(stdout, res.Output)
	if res.Failed {
		return 1
	}
	return 0
}

func runVerify(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("verify", stderr)
	var sf storeFlags
	sf.register(fs)
	drill := fs.Bool("drill", false, "restore the newest snapshot plus the journal into a temporary directory and compare state hashes with the live store")
	tmp := fs.String("tmp", "", "directory for the scratch copy (default: the data directory); it needs about the size of store.db free, plus the journal's for --drill")
	if code, ok := parseArgs(fs, args, stdout); !ok {
		return code
	}
	var a admin.Request
	if *tmp != "" {
		abs, err := filepath.Abs(*tmp) // the server's working directory is not ours
		if err != nil {
			fmt.Fprintf(stderr, "pimvault verify: --tmp: %v\n", err)
			return 2
		}
		if st, err := os.Stat(abs); err != nil || !st.IsDir() {
			fmt.Fprintf(stderr, "pimvault verify: --tmp %s: not a directory\n", *tmp)
			return 2
		}
		a.Tmp = abs
	}
	if *drill {
		return adminRun(ctx, sf, "drill", a, nil, stdout, stderr)
	}
	return adminRun(ctx, sf, "verify", a, nil, stdout, stderr)
}

func runStatus(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("status", stderr)
	var sf storeFlags
	sf.register(fs)
	if code, ok := parseArgs(fs, args, stdout); !ok {
		return code
	}
	return adminRun(ctx, sf, "status", admin.Request{}, nil, stdout, stderr)
}

func runRebuild(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlagSet("rebuild", stderr)
	var sf storeFlags
	sf.register(fs)
	if code, ok := parseArgs(fs, args, stdout); !ok {
		return code
	}
	offline := func() (admin.Result, error) {
		q, err := storage.RebuildDir(sf.data, sf.options())
		if err != nil {
			return admin.Result{}, err
		}
		s, err := storage.OpenExisting(sf.data, sf.options())
		if err != nil {
			return admin.Result{}, err
		}
		defer s.Close()
		hash, seq, err := s.StateHash()
		if err != nil {
			return admin.Result{}, err
		}
		kept := "there was no store.db"
		if q != "" {
			kept = "previous store.db kept at " + q
		}
		return admin.Result{Output: fmt.Sprintf("rebuilt store.db from the journal up to sequence %d\nstate hash: %s\n%s\n", seq, hash, kept)}, nil
	}
	return adminRun(ctx, sf, "rebuild", admin.Request{}, offline, stdout, stderr)
}
