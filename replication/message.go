package replication

import (
	"encoding/hex"
	"fmt"
	"strconv"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/pimvault/pimvault/storage"
)

// Message headers beside NATS's own (message id for de-duplication, expected
// last subject sequence for the single writer).
const (
	hdrStore = "Pimvault-Store" // store id
	hdrFirst = "Pimvault-First" // sequence of the first record in the message
	hdrLast  = "Pimvault-Last"  // sequence of the last record
	hdrChain = "Pimvault-Chain" // chain hash after the last record (hex)
)

// newMessage builds the message that carries frames (records first..last,
// back to back as in a journal segment) for the store, expecting that the
// subject's last message is at stream sequence expect (0: none yet).
func newMessage(storeID string, frames []storage.FrameInfo, expect uint64) *nats.Msg {
	m := nats.NewMsg(Subject(storeID))
	n := 0
	for _, f := range frames {
		n += len(f.Frame)
	}
	m.Data = make([]byte, 0, n)
	for _, f := range frames {
		m.Data = append(m.Data, f.Frame...)
	}
	first, last := frames[0], frames[len(frames)-1]
	m.Header.Set(jetstream.MsgIDHeader, fmt.Sprintf("%s-%d-%d", storeID, first.Seq, last.Seq))
	m.Header.Set(jetstream.ExpectedLastSubjSeqHeader, strconv.FormatUint(expect, 10))
	m.Header.Set(hdrStore, storeID)
	m.Header.Set(hdrFirst, strconv.FormatUint(first.Seq, 10))
	m.Header.Set(hdrLast, strconv.FormatUint(last.Seq, 10))
	m.Header.Set(hdrChain, hex.EncodeToString(last.Hash[:]))
	return m
}

// parseMessage checks a stream message of the store and returns its
// records: every frame checksummed and chained to the one before it, and
// the headers agreeing with the frames. It never trusts the headers alone.
func parseMessage(storeID string, h nats.Header, data []byte) ([]storage.FrameInfo, error) {
	if got := h.Get(hdrStore); got != storeID {
		return nil, fmt.Errorf("message of store %q in the subject of %s", got, storeID)
	}
	frames, err := storage.ParseFrames(data)
	if err != nil {
		return nil, err
	}
	if len(frames) == 0 {
		return nil, fmt.Errorf("message without records: %w", storage.ErrCorrupt)
	}
	first, last := frames[0], frames[len(frames)-1]
	if h.Get(hdrFirst) != strconv.FormatUint(first.Seq, 10) || h.Get(hdrLast) != strconv.FormatUint(last.Seq, 10) ||
		h.Get(hdrChain) != hex.EncodeToString(last.Hash[:]) {
		return nil, fmt.Errorf("message headers (records %s to %s) do not match its records (%d to %d): %w",
			h.Get(hdrFirst), h.Get(hdrLast), first.Seq, last.Seq, storage.ErrCorrupt)
	}
	return frames, nil
}

// lastRecordOf reads the last record sequence of a message from its header
// (for lag figures; the records themselves are checked when applied).
func lastRecordOf(h nats.Header) uint64 {
	v, _ := strconv.ParseUint(h.Get(hdrLast), 10, 64)
	return v
}
