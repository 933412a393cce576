package admin

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

// Admin commands for backups, undo, export and import. They run inside the
// server that holds the store, or on a store the admin tool opened itself.

// backup writes a verified hot snapshot to req.Out (an absolute path), or
// into the data directory's snapshots/ when Out is empty.
func backup(ctx context.Context, s *storage.Store, req Request) (Result, error) {
	out := req.Out
	var info storage.SnapshotInfo
	var err error
	if out == "" {
		info, _, err = s.SnapshotScheduled(ctx, 0)
	} else {
		if !filepath.IsAbs(out) {
			return Result{}, fmt.Errorf("backup: output path %q must be absolute", out)
		}
		info, err = s.Snapshot(ctx, out)
	}
	if err != nil {
		return Result{}, err
	}
	return Result{Output: snapshotLines(info)}, nil
}

func snapshotLines(info storage.SnapshotInfo) string {
	return fmt.Sprintf("snapshot: %s (tag %s.json)\nsequence: %d\nchain hash: %s\nepoch: %s\nstate hash: %s\nsize: %d bytes\nverified: the copy opens read-only and its state hash equals the store's at sequence %d\n",
		info.Path, info.Path, info.Seq, info.ChainHash, info.Epoch, info.StateHash, info.Size, info.Seq)
}

func drill(ctx context.Context, s *storage.Store, req Request) (Result, error) {
	res, err := s.DrillIn(ctx, req.Tmp)
	if err != nil {
		return Result{}, err
	}
	return Result{Output: res.String(), Failed: !res.OK}, nil
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

// undo runs a forward undo for req.User, narrowed by Collection and Object,
// back to ToTime (RFC 3339) or ToSeq, or only reports it (DryRun).
func undo(ctx context.Context, s *storage.Store, req Request) (Result, error) {
	ur := storage.UndoRequest{Principal: req.User, Collection: req.Collection, Object: req.Object, ToSeq: req.ToSeq, DryRun: req.DryRun, Confirm: req.Confirm}
	if req.ToTime != "" {
		t, err := storage.ParseTimeArg("to-time", req.ToTime, time.Now())
		if err != nil {
			return Result{}, err
		}
		ur.ToTime = t
	}
	if ur.ToTime.IsZero() && ur.ToSeq == 0 {
		return Result{}, fmt.Errorf("give to-time or to-seq")
	}
	rep, err := s.Undo(ctx, ur)
	var ce *storage.ConfirmationError
	if errors.As(err, &ce) {
		return Result{Output: ce.Report.String() + err.Error() + "\n", Failed: true}, nil
	}
	if err != nil {
		return Result{}, err
	}
	return Result{Output: rep.String(), Failed: rep.Failed > 0}, nil
}

// export writes req.User's collections to the zip req.Out (absolute, must
// not exist), through a temporary file renamed when complete.
func export(_ context.Context, s *storage.Store, req Request) (Result, error) {
	out := req.Out
	if !filepath.IsAbs(out) {
		return Result{}, fmt.Errorf("export: output path %q must be absolute", out)
	}
	if _, err := os.Lstat(out); err == nil {
		return Result{}, fmt.Errorf("export: %s exists; choose a new file", out)
	}
	tmp := out + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return Result{}, err
	}
	rep, err := transfer.Export(s, req.User, f)
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
		return Result{}, err
	}
	return Result{Output: fmt.Sprintf("exported %d collections, %d objects of %s to %s\n", rep.Collections, rep.Objects, req.User, out)}, nil
}

// importFrom validates everything at req.Path (absolute) first and imports
// nothing when anything is bad.
func importFrom(ctx context.Context, s *storage.Store, req Request) (Result, error) {
	p := req.Path
	if !filepath.IsAbs(p) {
		return Result{}, fmt.Errorf("import: path %q must be absolute", p)
	}
	src, errs := transfer.Load(p, req.Collection)
	if len(errs) > 0 {
		var b strings.Builder
		for _, e := range errs {
			fmt.Fprintf(&b, "error: %v\n", e)
		}
		fmt.Fprintf(&b, "nothing imported: fix the %d errors above and run the import again\n", len(errs))
		return Result{Output: b.String(), Failed: true}, nil
	}
	rep, err := transfer.Import(ctx, s, req.User, src, req.DryRun)
	if err != nil {
		return Result{}, err
	}
	return Result{Output: rep.String(), Failed: len(rep.Failed) > 0}, nil
}
