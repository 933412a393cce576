package storage

import (
	"fmt"
	"os"
	"sync/atomic"
	"syscall"

	bolt "go.etcd.io/bbolt"
)

// Replay transactions: a transaction ends after this many records or body
// bytes. Larger ones cost more in bbolt's spill and page copies, smaller ones
// rewrite the branch pages more often.
const (
	replayTxRecords = 5000
	replayTxBytes   = 16 << 20
	replayChunk     = 256 // records handed to the applier at a time

	syncFileRangeWrite = 2 // SYNC_FILE_RANGE_WRITE: start writeback, do not wait
)

// replayer applies journal records to a bbolt projection. The caller's
// goroutine reads, checks and decodes the journal and hands the records over
// in chunks; one applier goroutine writes them to bbolt in transactions of
// many records. So decoding and bbolt work run on two cores at once.
//
// A transaction stores the applied sequence and chain hash with its data, so
// store.db is a consistent projection at every transaction boundary.
type replayer struct {
	db   *bolt.DB
	bulk bool // a new projection is being filled: pack pages full

	cur   []*Record
	last  [32]byte
	ch    chan replayChunkMsg
	done  chan struct{}
	stop  atomic.Bool  // abort: the applier stops applying
	fail  atomic.Bool  // the applier failed; err says why
	err   error        // written by the applier before fail is set
	n     atomic.Int64 // records applied (committed)
	ended bool
	wb    *os.File // store.db, to start writing it back after each transaction
}

type replayChunkMsg struct {
	recs []*Record
	last [32]byte // chain hash of the last record
}

// replayMode says what a replay is for.
type replayMode int

const (
	replayCatchUp replayMode = iota // bring an existing store.db up to date
	replayScratch                   // fill a new database that is thrown away (verify)
	replayRebuild                   // fill a new store.db that will be kept
)

// newReplayer starts the applier. A new database (replayScratch,
// replayRebuild) gets its pages filled completely, since records arrive in
// sequence order; a kept one is also written back to disk as it goes. Every
// replayer must be ended with finish or abort.
func newReplayer(db *bolt.DB, mode replayMode) *replayer {
	rp := &replayer{db: db, bulk: mode != replayCatchUp, ch: make(chan replayChunkMsg, 8), done: make(chan struct{})}
	if mode == replayRebuild {
		// Best effort: without it the disk writes all wait for the fsync.
		rp.wb, _ = os.Open(db.Path())
	}
	rp.cur = make([]*Record, 0, replayChunk)
	go rp.apply()
	return rp
}

// add queues one record with its chain hash. It returns the applier's error
// once it has failed, so the scan stops.
func (rp *replayer) add(r *Record, h [32]byte) error {
	if rp.fail.Load() {
		return rp.err
	}
	rp.cur = append(rp.cur, r)
	rp.last = h
	if len(rp.cur) == replayChunk {
		rp.ch <- replayChunkMsg{recs: rp.cur, last: h}
		rp.cur = make([]*Record, 0, replayChunk)
	}
	return nil
}

// finish applies what is queued, commits and waits for the applier. It
// returns the first error of the applier.
func (rp *replayer) finish() error {
	if rp.ended {
		return rp.err
	}
	rp.ended = true
	if len(rp.cur) > 0 {
		rp.ch <- replayChunkMsg{recs: rp.cur, last: rp.last}
		rp.cur = nil
	}
	close(rp.ch)
	<-rp.done
	return rp.err
}

// abort stops the applier after the transaction in progress (which is rolled
// back) and waits for it.
func (rp *replayer) abort() {
	if rp.ended {
		return
	}
	rp.stop.Store(true)
	rp.ended = true
	close(rp.ch)
	<-rp.done
}

// records returns how many records were applied and committed.
func (rp *replayer) records() int { return int(rp.n.Load()) }

// apply is the applier goroutine.
func (rp *replayer) apply() {
	defer close(rp.done)
	if rp.wb != nil {
		defer rp.wb.Close()
	}
	for {
		m, ok := <-rp.ch
		if !ok {
			return
		}
		if rp.stop.Load() {
			continue
		}
		if err := rp.applyTx(m); err != nil {
			rp.err = err
			rp.fail.Store(true)
			for range rp.ch { // let the scan run into the error
			}
			return
		}
	}
}

// applyTx applies first and the chunks after it in one transaction, until the
// transaction is big enough or the queue is closed.
func (rp *replayer) applyTx(first replayChunkMsg) error {
	tx, err := rp.db.Begin(true)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	f := newFillTracker(tx, rp.bulk)
	ic := infoCache{}
	m, ok := first, true
	var recs, bytes int
	var lastSeq uint64
	var lastHash [32]byte
	for {
		for _, r := range m.recs {
			if err := applyRecordCached(tx, r, ic); err != nil {
				advice, path := adviceRestore, ""
				if !rp.bulk {
					// The journal checked out; the store.db it is applied
					// to does not hold what the journal says it applied
					// (a copy taken while a server wrote it, say).
					advice, path = "store.db does not match the journal: "+adviceRebuild, rp.db.Path()
				}
				return &CorruptionError{Path: path, Offset: -1, Seq: r.Seq,
					What:   fmt.Sprintf("journal record %d (%v %s/%s/%s) cannot be applied: %v", r.Seq, r.Op, r.Principal, r.Collection, r.Name, err),
					Advice: advice}
			}
			f.touched(r)
			bytes += len(r.Body)
		}
		recs += len(m.recs)
		lastSeq, lastHash = m.recs[len(m.recs)-1].Seq, m.last
		if recs >= replayTxRecords || bytes >= replayTxBytes || rp.stop.Load() {
			break
		}
		if m, ok = <-rp.ch; !ok {
			break
		}
	}
	if rp.stop.Load() {
		return nil
	}
	if err := flushInfos(ic); err != nil {
		return err
	}
	if err := setApplied(tx, lastSeq, lastHash); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	rp.n.Add(int64(recs))
	if rp.wb != nil {
		// Start the disk writes of what this transaction wrote, so they run
		// while the next ones are applied instead of all in the final fsync
		// (store.db is fsynced at Close, or at once with SyncProjection).
		// It waits for nothing and changes nothing the files say.
		syscall.SyncFileRange(int(rp.wb.Fd()), 0, 0, syncFileRangeWrite)
	}
	return nil
}

// fillTracker sets a high fill percent on the buckets of the collections a
// bulk transaction writes to. Records arrive in sequence order, so the change
// index is appended to; the other buckets are filled with keys in the order
// the journal wrote them.
type fillTracker struct {
	tx   *bolt.Tx
	on   bool
	seen map[[2]string]bool
}

// bulkFill is the fill percent of a bucket's pages during a rebuild.
const bulkFill = 1.0

func newFillTracker(tx *bolt.Tx, on bool) *fillTracker {
	return &fillTracker{tx: tx, on: on, seen: map[[2]string]bool{}}
}

func (f *fillTracker) touched(r *Record) {
	if !f.on {
		return
	}
	for _, c := range [2]string{r.Collection, r.ToCollection} {
		if c == "" || f.seen[[2]string{r.Principal, c}] {
			continue
		}
		cb := collectionBucket(f.tx, r.Principal, c)
		if cb == nil {
			continue
		}
		f.seen[[2]string{r.Principal, c}] = true
		cb.FillPercent = bulkFill
		for _, name := range [][]byte{bktObjects, bktBodies, bktChanges, bktTombs, bktUIDs, bktSpans} {
			if b := cb.Bucket(name); b != nil {
				b.FillPercent = bulkFill
			}
		}
	}
}
