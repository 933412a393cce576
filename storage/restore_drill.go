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
func (s *Store) Drill(ctx context.Context) (*DrillResult, error) {
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
	tmp, err := os.MkdirTemp(s.dir, drillPrefix)
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp) // a throw-away copy made by this function
	rep, err := Restore(ctx, RestoreOptions{DataDir: s.dir, JournalDir: s.opts.JournalDir, ToSeq: res.Seq, Out: tmp, KeepEpoch: true, Logger: s.log})
	if err != nil {
		res.Error = err.Error()
	} else {
		res.Snapshot, res.SnapshotSeq, res.RestoreHash = rep.Snapshot, rep.SnapshotSeq, rep.StateHash
		res.OK = rep.StateHash == res.LiveHash
	}
	res.TookMillis = time.Since(start).Milliseconds()
	if err := os.MkdirAll(filepath.Join(s.dir, SnapshotDir), 0o700); err != nil {
		return res, err
	}
	b, _ := json.MarshalIndent(res, "", "  ")
	if err := writeFileSync(filepath.Join(s.dir, SnapshotDir, drillFile), append(b, '\n')); err != nil {
		return res, err
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
