package server

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/pimvault/pimvault/storage"
	"github.com/pimvault/pimvault/transfer"
)

// Admin-socket commands for backups (issue 6). They run inside the server
// that holds the store, or on a store the admin tool opened itself.
func init() {
	adminCommands["backup"] = adminBackup
	adminCommands["drill"] = adminDrill
}

// adminBackup writes a verified hot snapshot to args["out"] (an absolute
// path), or into the data directory's snapshots/ when out is empty.
func adminBackup(ctx context.Context, s *storage.Store, args map[string]string) (AdminResult, error) {
	out := args["out"]
	var info storage.SnapshotInfo
	var err error
	if out == "" {
		info, _, err = s.SnapshotScheduled(ctx, 0)
	} else {
		if !filepath.IsAbs(out) {
			return AdminResult{}, fmt.Errorf("backup: output path %q must be absolute", out)
		}
		info, err = s.Snapshot(ctx, out)
	}
	if err != nil {
		return AdminResult{}, err
	}
	return AdminResult{Output: snapshotLines(info)}, nil
}

func snapshotLines(info storage.SnapshotInfo) string {
	return fmt.Sprintf("snapshot: %s (tag %s.json)\nsequence: %d\nchain hash: %s\nepoch: %s\nstate hash: %s\nsize: %d bytes\nverified: the copy opens read-only and its state hash equals the store's at sequence %d\n",
		info.Path, info.Path, info.Seq, info.ChainHash, info.Epoch, info.StateHash, info.Size, info.Seq)
}

// adminDrill runs a restore drill; args "tmp": its scratch directory
// (absolute; default the data directory).
func adminDrill(ctx context.Context, s *storage.Store, args map[string]string) (AdminResult, error) {
	res, err := s.DrillIn(ctx, args["tmp"])
	if err != nil {
		return AdminResult{}, err
	}
	return AdminResult{Output: res.String(), Failed: !res.OK}, nil
}

// backupStatus is the part of 'pimvault status' about snapshots and drills.
func backupStatus(dir string) string {
	var b strings.Builder
	snaps, err := storage.ListSnapshots(filepath.Join(dir, storage.SnapshotDir))
	switch {
	case err != nil:
		fmt.Fprintf(&b, "snapshots: %v\n", err)
	case len(snaps) == 0:
		fmt.Fprintf(&b, "snapshots: none\n")
	default:
		last := snaps[len(snaps)-1]
		fmt.Fprintf(&b, "snapshots: %d, newest at sequence %d (%s)\n", len(snaps), last.Seq, last.Created.Format(time.RFC3339))
	}
	d, err := storage.LastDrill(dir)
	switch {
	case err != nil:
		fmt.Fprintf(&b, "last restore drill: %v\n", err)
	case d == nil:
		fmt.Fprintf(&b, "last restore drill: never\n")
	case d.OK:
		fmt.Fprintf(&b, "last restore drill: OK at %s (sequence %d, %d ms)\n", d.Time.Format(time.RFC3339), d.Seq, d.TookMillis)
	default:
		why := d.Error
		if why == "" {
			why = "restore state hash " + d.RestoreHash + " differs from live " + d.LiveHash
		}
		fmt.Fprintf(&b, "last restore drill: FAILED at %s (sequence %d): %s\n", d.Time.Format(time.RFC3339), d.Seq, why)
	}
	return b.String()
}

func init() { adminCommands["undo"] = adminUndo }

// adminUndo runs a forward undo for args user, collection, object, to-time
// (RFC 3339) or to-seq, dry-run ("true"), yes ("true": confirm an undo that
// removes a collection or many objects).
func adminUndo(ctx context.Context, s *storage.Store, args map[string]string) (AdminResult, error) {
	req, err := undoRequestFrom(args["user"], args["collection"], args["object"], args["to-time"], args["to-seq"])
	if err != nil {
		return AdminResult{}, err
	}
	req.DryRun, req.Confirm = args["dry-run"] == "true", args["yes"] == "true"
	rep, err := s.Undo(ctx, req)
	var ce *storage.ConfirmationError
	if errors.As(err, &ce) {
		return AdminResult{Output: ce.Report.String() + err.Error() + "\n", Failed: true}, nil
	}
	if err != nil {
		return AdminResult{}, err
	}
	return AdminResult{Output: rep.String(), Failed: rep.Failed > 0}, nil
}

func init() {
	adminCommands["export"] = adminExport
	adminCommands["import"] = adminImport
}

// adminExport writes args["user"]'s collections to the zip args["out"]
// (absolute, must not exist), through a temporary file renamed when complete.
func adminExport(_ context.Context, s *storage.Store, args map[string]string) (AdminResult, error) {
	out := args["out"]
	if !filepath.IsAbs(out) {
		return AdminResult{}, fmt.Errorf("export: output path %q must be absolute", out)
	}
	if _, err := os.Lstat(out); err == nil {
		return AdminResult{}, fmt.Errorf("export: %s exists; choose a new file", out)
	}
	tmp := out + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return AdminResult{}, err
	}
	rep, err := transfer.Export(s, args["user"], f)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, out)
	}
	if err != nil {
		os.Remove(tmp) // our own partial file
		return AdminResult{}, err
	}
	return AdminResult{Output: fmt.Sprintf("exported %d collections, %d objects of %s to %s\n", rep.Collections, rep.Objects, args["user"], out)}, nil
}

// adminImport validates everything at args["path"] (absolute) first and
// imports nothing when anything is bad.
func adminImport(ctx context.Context, s *storage.Store, args map[string]string) (AdminResult, error) {
	p := args["path"]
	if !filepath.IsAbs(p) {
		return AdminResult{}, fmt.Errorf("import: path %q must be absolute", p)
	}
	src, errs := transfer.Load(p, args["collection"])
	if len(errs) > 0 {
		var b strings.Builder
		for _, e := range errs {
			fmt.Fprintf(&b, "error: %v\n", e)
		}
		fmt.Fprintf(&b, "nothing imported: fix the %d errors above and run the import again\n", len(errs))
		return AdminResult{Output: b.String(), Failed: true}, nil
	}
	rep, err := transfer.Import(ctx, s, args["user"], src, args["dry-run"] == "true")
	if err != nil {
		return AdminResult{}, err
	}
	return AdminResult{Output: rep.String(), Failed: len(rep.Failed) > 0}, nil
}
