package storage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

const (
	drillFile   = "last-drill.result" // the result of the last drill, in snapshots/
	drillPrefix = "drill-"            // temporary restore directories of drills
)

var drillMu sync.Mutex

// DrillResult is the outcome of a restore drill.
type DrillResult struct {
	Time        time.Time `json:"time"`
	OK          bool      `json:"ok"`
	Seq         uint64    `json:"seq"`
	Snapshot    string    `json:"snapshot"` // "" when the whole journal was replayed
	SnapshotSeq uint64    `json:"snapshot_seq"`
	LiveHash    string    `json:"live_hash"`
	RestoreHash string    `json:"restore_hash"`
	Error       string    `json:"error,omitempty"`
	TookMillis  int64     `json:"took_ms"`
}

func (d *DrillResult) String() string {
	if d.Error != "" {
		return fmt.Sprintf("restore drill %s: FAILED: %s\n", d.Time.Format(time.RFC3339), d.Error)
	}
	from := "the whole journal"
	if d.Snapshot != "" {
		from = fmt.Sprintf("snapshot %s (sequence %d) plus the journal", filepath.Base(d.Snapshot), d.SnapshotSeq)
	}
	verdict := "OK: the restore equals the live store"
	if !d.OK {
		verdict = "DIFFERENT: the restore does not equal the live store"
	}
	return fmt.Sprintf("restore drill %s: restored %s up to sequence %d in %d ms\nlive state hash:    %s\nrestore state hash: %s\n%s\n",
		d.Time.Format(time.RFC3339), from, d.Seq, d.TookMillis, d.LiveHash, d.RestoreHash, verdict)
}

// Drill restores the newest snapshot plus the journal into a temporary
// directory (inside the data directory, removed afterwards) up to the
// current head, and compares its state hash with the live store's at that
// sequence. The result is kept in snapshots/last-drill.result (LastDrill).
// A failed drill is reported in the result; the error is for I/O trouble
// around it.
func (s *Store) Drill(ctx context.Context) (*DrillResult, error) { return s.DrillIn(ctx, "") }

// DrillIn is Drill with its restored copy in a temporary directory under
// scratch ("" for the data directory), which must have room for it
// (scratch.go). When the result cannot be kept (a full disk) it is still
// returned, and the failure logged.
func (s *Store) DrillIn(ctx context.Context, scratch string) (*DrillResult, error) {
	// One drill at a time (scheduled and asked for through the socket): the
	// data directory's lock keeps other processes out, drillMu this one's
	// goroutines. Copies a crashed drill left behind are removed first.
	drillMu.Lock()
	defer drillMu.Unlock()
	if stale, _ := filepath.Glob(filepath.Join(s.dir, drillPrefix+"*")); len(stale) > 0 {
		for _, d := range stale {
			os.RemoveAll(d)
		}
	}
	start := time.Now()
	res := &DrillResult{Time: start.UTC()}
	err := s.view(func(tx *bolt.Tx) error {
		res.Seq, _ = readApplied(tx)
		res.LiveHash = digestTx(tx).sum()
		return nil
	})
	if err != nil {
		return nil, err
	}
	need := s.scratchNeed(true)
	tmp, err := s.scratchDir(scratch, drillPrefix, "the restore drill", need)
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp) // a throw-away copy made by this function
	rep, err := Restore(ctx, RestoreOptions{DataDir: s.dir, JournalDir: s.opts.JournalDir, ToSeq: res.Seq, Out: tmp, KeepEpoch: true, Logger: s.log})
	if isNoSpace(err) {
		return nil, scratchWriteError("the restore drill", tmp, need, err)
	}
	if err != nil {
		res.Error = err.Error()
	} else {
		res.Snapshot, res.SnapshotSeq, res.RestoreHash = rep.Snapshot, rep.SnapshotSeq, rep.StateHash
		res.OK = rep.StateHash == res.LiveHash
	}
	res.TookMillis = time.Since(start).Milliseconds()
	b, _ := json.MarshalIndent(res, "", "  ")
	result := filepath.Join(s.dir, SnapshotDir, drillFile)
	err = os.MkdirAll(filepath.Dir(result), 0o700)
	if err == nil {
		err = writeFileSync(result, append(b, '\n'))
	}
	if err != nil {
		err = writeError("keep the drill result in", result, err)
		if !isNoSpace(err) {
			return res, err
		}
		s.log.Warn("could not keep the restore drill result", "err", err)
		os.Remove(result + ".tmp")
	}
	if !res.OK {
		s.log.Error("restore drill failed", "seq", res.Seq, "err", res.Error, "live", res.LiveHash, "restored", res.RestoreHash)
	} else {
		s.log.Info("restore drill passed", "seq", res.Seq, "took_ms", res.TookMillis)
	}
	return res, nil
}

// LastDrill returns the result of the last drill of the store in dir, or nil
// when none ran.
func LastDrill(dir string) (*DrillResult, error) {
	b, err := os.ReadFile(filepath.Join(dir, SnapshotDir, drillFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var d DrillResult
	if err := json.Unmarshal(b, &d); err != nil {
		return nil, fmt.Errorf("%s: %w", drillFile, err)
	}
	return &d, nil
}
