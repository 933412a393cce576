package storage

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// The high-water mark. HIGHWATER, beside IDENTITY, records the highest
// sequence the store has acknowledged and the chain hash at it:
//
//	{"store_id": "…", "seq": 1234, "chain_hash": "…64 hex…", "written": "…"}
//
// It is written atomically (temporary file, fsync, rename) after Open, on a
// clean Close and after every HighWaterEvery records, always after the
// records it names are fsynced in the journal, so it never claims more than
// was acknowledged (and costs one small file write per HighWaterEvery
// records).
//
// At Open, a store whose journal ends before the mark, or whose record at
// the mark has another chain hash (a journal and store.db rolled back,
// replaced, or copied from an older data directory, with IDENTITY and
// HIGHWATER left in place), holds less than it acknowledged: the store
// starts a new epoch and puts every principal into RECOVERING (invariant
// 4 of docs/ARCHITECTURE.md), with a log line saying why. It does not refuse to open: the
// devices rebuild what is missing.
//
// A copy of a whole older data directory, HIGHWATER included, cannot be
// caught here; the first client token ahead of the head does it (the server
// then starts a new epoch and the principal becomes RECOVERING).

const highWaterFile = "HIGHWATER"

// HighWaterEvery is how many records may be acknowledged between two writes
// of the high-water mark while the store runs.
const HighWaterEvery = 1024

type highWater struct {
	StoreID   string    `json:"store_id"`
	Seq       uint64    `json:"seq"`
	ChainHash string    `json:"chain_hash"`
	Written   time.Time `json:"written"`
}

func readHighWater(dir string) (*highWater, error) {
	b, err := os.ReadFile(filepath.Join(dir, highWaterFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var hw highWater
	if err := json.Unmarshal(b, &hw); err != nil {
		return nil, &CorruptionError{Path: filepath.Join(dir, highWaterFile), Offset: -1,
			What: "HIGHWATER is not valid JSON: " + err.Error(), Advice: "move HIGHWATER aside to start without the check"}
	}
	return &hw, nil
}

// writeHighWater records seq and hash as the mark.
func (s *Store) writeHighWater(seq uint64, hash [32]byte) error {
	hw := highWater{StoreID: s.id.StoreID, Seq: seq, ChainHash: hex.EncodeToString(hash[:]), Written: time.Now().UTC()}
	b, _ := json.MarshalIndent(hw, "", "  ")
	if err := writeFileSync(filepath.Join(s.dir, highWaterFile), append(b, '\n')); err != nil {
		return fmt.Errorf("write %s: %w", highWaterFile, err)
	}
	s.hwSeq = seq
	return nil
}

// checkHighWater compares the opened journal with the mark. It returns why
// the store holds less than it acknowledged, or "" when it does not. It
// runs before the committer starts.
func (s *Store) checkHighWater() (string, error) {
	hw, err := readHighWater(s.dir)
	if err != nil || hw == nil {
		return "", err
	}
	if hw.StoreID != s.id.StoreID {
		return fmt.Sprintf("HIGHWATER names store %s, IDENTITY %s", hw.StoreID, s.id.StoreID), nil
	}
	head := s.j.lastSeq
	switch {
	case hw.Seq > head:
		return fmt.Sprintf("the journal ends at sequence %d but the store acknowledged up to %d (HIGHWATER written %s): it was rolled back or replaced",
			head, hw.Seq, hw.Written.Format(time.RFC3339)), nil
	case hw.Seq == 0:
		return "", nil
	case hw.Seq == head:
		if hex.EncodeToString(s.j.lastHash[:]) != hw.ChainHash {
			return fmt.Sprintf("the record at sequence %d is not the one the store acknowledged (chain hash differs): the journal was replaced", hw.Seq), nil
		}
		return "", nil
	}
	var prev [32]byte
	found := false
	err = s.j.replay(hw.Seq, func(r *Record, _ [32]byte) error {
		prev, found = r.Prev, true
		return errStopScan
	})
	if err != nil {
		return "", err
	}
	want, _ := hex.DecodeString(hw.ChainHash)
	if !found || !bytes.Equal(prev[:], want) {
		return fmt.Sprintf("the record at sequence %d is not the one the store acknowledged (chain hash differs): the journal was replaced", hw.Seq), nil
	}
	return "", nil
}

// holdsLess acts on a failed high-water check: a new epoch, and every
// principal RECOVERING.
func (s *Store) holdsLess(ctx context.Context, why string, freshEpoch bool) error {
	s.log.Error("this store holds less than it acknowledged; every account is RECOVERING until its devices restore it", "why", why)
	if !freshEpoch {
		if _, err := s.StartEpoch(ctx, "high-water check: "+why); err != nil {
			return err
		}
	}
	ps, err := s.Principals()
	if err != nil {
		return err
	}
	for _, p := range ps {
		if _, err := s.OpenRecovery(ctx, p.Name, "store holds less than it acknowledged: "+why, ""); err != nil {
			return err
		}
	}
	return nil
}
