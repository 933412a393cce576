package replication

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/pimvault/pimvault/storage"
)

// rejoin prepares dir, which holds a copy of storeID (a former primary,
// or a standby), to follow the stream: it finds the last record the local
// journal and the stream have in common (same sequence and chain hash).
// When the local journal has records after it that the stream does not
// (written by a primary that died or was cut off before they were
// replicated, so never acknowledged in sync mode), the directory is set
// aside whole as <dir>.diverged-<time> and replaced by a restore of it up to
// the common record, which the stream then extends. It returns the path
// set aside ("" when nothing was).
func rejoin(ctx context.Context, c *conn, dir, storeID string, opts storage.Options, log *slog.Logger) (string, error) {
	opts.Standby = true
	st, err := storage.Open(dir, opts)
	if err != nil {
		return "", err
	}
	head, headHash, err := st.ChainHash()
	var base storage.BaseInfo
	if err == nil {
		base, err = st.JournalBase()
	}
	// The local journal from its base on (a store seeded from a snapshot,
	// or pruned, holds nothing before it).
	local := make(map[uint64][32]byte, head-min(head, base.Seq))
	if err == nil {
		err = st.ReadFrames(base.Seq+1, head, func(f storage.FrameInfo) error { local[f.Seq] = f.Hash; return nil })
	}
	st.Close()
	if err != nil {
		return "", err
	}
	if head == 0 {
		return "", nil
	}
	streamLast, _, err := c.lastRecord(ctx, storeID)
	if err != nil {
		return "", err
	}
	common, err := commonPrefix(ctx, c, storeID, local, base.Seq+1, head, headHash, streamLast)
	if err != nil {
		return "", err
	}
	if common == head {
		return "", nil
	}
	aside := fmt.Sprintf("%s%s%s", filepath.Clean(dir), storage.DivergedSuffix, time.Now().UTC().Format("20060102T150405Z"))
	tmp := filepath.Clean(dir) + ".rejoin"
	os.RemoveAll(tmp) // a rejoin that died half way; dir itself is untouched until the renames
	if common == 0 {
		if err := os.Rename(dir, aside); err != nil {
			return "", err
		}
		log.Warn("replication: the local store shares no record with the stream; set aside whole, following from the start", "aside", aside)
		return aside, nil
	}
	if _, err := storage.Restore(ctx, storage.RestoreOptions{DataDir: dir, JournalDir: opts.JournalDir, ToSeq: common, Out: tmp, KeepEpoch: true}); err != nil {
		os.RemoveAll(tmp)
		return "", fmt.Errorf("rejoin: restore up to the common record %d: %w", common, err)
	}
	if err := os.Rename(dir, aside); err != nil {
		return "", err
	}
	if err := os.Rename(tmp, dir); err != nil {
		return "", fmt.Errorf("rejoin: %w (the former directory is at %s)", err, aside)
	}
	log.Warn("replication: records after the stream's were never replicated; the former directory is set aside and the standby continues from the common record",
		"common", common, "local_head", head, "aside", aside)
	return aside, nil
}

// commonPrefix reads the subject from its start and returns the last record
// whose chain hash equals the local one (records are chained, so all before
// it agree too). local holds the records from..head; records before from
// (pruned locally, or covered by the snapshot the store was seeded from)
// are not compared, and a stream record right after head that chains to
// headHash makes the whole local journal common.
func commonPrefix(ctx context.Context, c *conn, storeID string, local map[uint64][32]byte, from, head uint64, headHash [32]byte, streamLast uint64) (uint64, error) {
	if streamLast == 0 {
		return 0, nil
	}
	cons, err := c.stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{FilterSubjects: []string{Subject(storeID)}})
	if err != nil {
		return 0, err
	}
	it, err := cons.Messages()
	if err != nil {
		return 0, err
	}
	defer it.Stop()
	var common uint64
	for {
		m, err := it.Next()
		if err != nil {
			return 0, err
		}
		frames, err := parseMessage(storeID, m.Headers(), m.Data())
		if err != nil {
			return 0, err
		}
		for _, f := range frames {
			switch {
			case f.Seq < from:
				continue
			case f.Seq == head+1 && f.Prev == headHash:
				return head, nil
			case f.Seq > head || local[f.Seq] != f.Hash:
				return common, nil
			}
			common = f.Seq
		}
		if len(frames) == 0 || frames[len(frames)-1].Seq >= streamLast || common >= head {
			return common, nil
		}
	}
}
