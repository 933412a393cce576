package storage

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Store is the journal plus its bbolt projection for one data directory.
// Writes go through one committer goroutine; reads use bbolt read
// transactions and run concurrently with writes.
type Store struct {
	dir     string
	opts    Options
	log     *slog.Logger
	id      Identity
	storeID [16]byte
	lock    *dirLock

	mu sync.RWMutex // guards db against a swap by Rebuild; writers of db hold RLock
	db *bolt.DB
	j  *journal

	head    atomic.Uint64 // last sequence applied and acknowledged
	reqs    chan *request
	quit    chan struct{}
	done    chan struct{}
	closeMu sync.Mutex
	closed  bool
	failed  atomic.Pointer[error] // set when the store cannot take writes until it is reopened or the cut below succeeds
	// cutPending: a failed batch's records could not be cut from the journal
	// yet (journal_cut.go); the committer retries before the next write.
	cutPending atomic.Pointer[journalMark]
	lastHash   [32]byte                      // committer only
	hwSeq      uint64                        // last high-water mark written (committer, then Close)
	lessWhy    string                        // why the store holds less than its high-water mark ("" if it does not)
	noMarker   bool                          // opened on a full disk without writing DIRTY (openWithoutMarker)
	upgraded   *UpgradeReport                // what Open migrated, nil if nothing
	repl       atomic.Pointer[replicatorBox] // called around each batch (replica.go); nil: none
}

type request struct {
	c         Change
	internal  bool
	exclusive func() error // runs on the committer between batches
	resp      chan response
}

type response struct {
	res Result
	err error
}

// Open opens (or creates) the store in dir. It takes the directory lock,
// checks IDENTITY, replays the journal into store.db and refuses to open
// when acknowledged data is damaged (*CorruptionError).
func Open(dir string, opts Options) (*Store, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	opts = opts.withDefaults(dir)
	if opts.ExpectStoreID != "" {
		// Checked before anything is created; checked again under the lock.
		if err := CheckStoreID(dir, opts.ExpectStoreID); err != nil {
			return nil, err
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	lock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	return openLocked(dir, opts, lock)
}

// openLocked opens the store in dir, whose lock the caller holds; the store
// owns the lock from here on.
func openLocked(dir string, opts Options, lock *dirLock) (*Store, error) {
	s := &Store{dir: dir, opts: opts, log: opts.Logger, lock: lock}
	if err := s.open(); err != nil {
		s.closeFiles()
		lock.unlock()
		return nil, err
	}
	s.reqs = make(chan *request, 1024)
	s.quit = make(chan struct{})
	s.done = make(chan struct{})
	go s.committer()
	fresh := s.head.Load() == 0
	if fresh && !opts.Standby {
		if _, err := s.commit(context.Background(), Change{Op: OpEpoch, Name: NewEpochID()}, true); err != nil {
			s.Close()
			return nil, fmt.Errorf("start first epoch: %w", err)
		}
	}
	if s.lessWhy != "" && opts.Standby {
		// A standby never writes records of its own; it fetches what it
		// lacks from the replication stream.
		s.log.Warn("standby holds less than its high-water mark; it catches up from the stream", "why", s.lessWhy)
	} else if s.lessWhy != "" {
		if err := s.holdsLess(context.Background(), s.lessWhy, fresh); err != nil {
			s.Close()
			return nil, fmt.Errorf("high-water check: %w", err)
		}
	}
	if err := s.exclusive(context.Background(), func() error { return s.writeHighWater(s.head.Load(), s.lastHash) }); err != nil {
		// The mark may lag behind the journal (it is a lower bound), so a
		// full disk does not keep the store from opening.
		if !isNoSpace(err) {
			s.Close()
			return nil, err
		}
		s.log.Warn("disk full: could not update the high-water mark", "err", err)
	}
	return s, nil
}

// NewEpochID returns a random epoch identifier (16 hex digits).
func NewEpochID() string { return randomHex(8) }

func (s *Store) open() (err error) {
	_, idErr := os.Stat(filepath.Join(s.dir, identityFile))
	_, hwErr := os.Stat(filepath.Join(s.dir, highWaterFile))
	id, err := loadIdentity(s.dir, s.opts.JournalDir, s.opts.ExpectStoreID)
	if err != nil {
		return err
	}
	s.id = id
	s.storeID, _ = id.rawID()
	dbPath := filepath.Join(s.dir, dbFile)
	if !projectionTrusted(s.dir) {
		if _, err := os.Stat(dbPath); err == nil {
			if err := refuseNewer(s.dir, s.opts); err != nil {
				return err
			}
			q, err := quarantine(s.dir, dbPath)
			if err != nil {
				return err
			}
			s.log.Warn("store.db was written without fsync before a system crash; rebuilding it from the journal", "quarantined", q)
		}
	}
	_, statErr := os.Stat(dbPath)
	created := errors.Is(statErr, fs.ErrNotExist)
	// A new store.db is built under a temporary name and renamed into place
	// only once it holds the whole journal, so a crash mid-rebuild leaves no
	// store.db at all (the next Open starts over), never a partial one.
	openPath := dbPath
	if created {
		openPath = dbPath + rebuildSuffix
		if err := os.Remove(openPath); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	// Retention pruned the start of the journal: a new store.db starts
	// from the snapshot that covers it, then replays the journal after it.
	seeded := false
	if created {
		base, err := readBase(s.opts.JournalDir)
		if err != nil {
			return err
		}
		if base.Seq > 0 {
			if err := seedFromBase(s.dir, s.storeID, base, openPath); err != nil {
				os.Remove(openPath)
				return err
			}
			seeded = true
		}
	}
	db, err := s.openDB(openPath)
	if err != nil {
		return err
	}
	s.db = db
	if created { // fsynced once, if at all, when complete
		db.NoSync, db.NoGrowSync = true, true
	}
	if created {
		// A refused Open leaves the directory as it found it.
		defer func() {
			if err != nil {
				s.closeFiles()
				os.Remove(openPath)
			}
		}()
	}
	var applied uint64
	var appliedHash [32]byte
	var schema int
	// Read store.db's position in a read transaction: a bbolt write
	// transaction rewrites the meta page even when nothing changes, and a
	// refused Open must not touch the files.
	txn := func(fn func(*bolt.Tx) error) error { return viewSafe(db, fn) }
	if created {
		txn = func(fn func(*bolt.Tx) error) error { return updateSafe(db, fn) }
	}
	init := func(tx *bolt.Tx) error {
		var ierr error
		if tx.Writable() {
			// A new store.db, or a copy of the snapshot that journal/BASE
			// names (which stays as it is, so the copy is migrated
			// without taking another).
			applied, appliedHash, ierr = initCopy(tx, s.storeID, dbPath)
			schema = currentSchema()
			return ierr
		}
		applied, appliedHash, schema, ierr = checkProjection(tx, s.storeID, dbPath)
		return ierr
	}
	err = txn(init)
	if errors.Is(err, errEmptyProjection) {
		err = updateSafe(db, init)
	}
	if err != nil {
		return err
	}
	if schema < currentSchema() {
		switch {
		case !s.opts.Upgrade:
			return &UpgradeNeededError{Dir: s.dir, FromSchema: schema, ToSchema: currentSchema()}
		default:
			// The whole journal is checked (and a torn tail cut) before
			// anything is migrated, so a directory that would be refused
			// is never migrated.
			j, err := openJournal(s.opts.JournalDir, s.storeID, s.opts.SegmentSize, dbPath, applied, appliedHash, nil)
			if err != nil {
				return releaseHint(err, db)
			}
			s.j = j
			if applied, appliedHash, err = s.upgradeProjection(schema, applied, appliedHash); err != nil {
				return err
			}
			db = s.db
		}
	}
	start := time.Now()
	mode := replayCatchUp
	if created && !seeded {
		mode = replayRebuild
	}
	rp := newReplayer(db, mode)
	if s.j == nil {
		s.j, err = openJournalStream(s.opts.JournalDir, s.storeID, s.opts.SegmentSize, dbPath, applied, appliedHash, created, rp.add)
	} else if applied < s.j.lastSeq {
		err = s.j.replay(applied, rp.add)
	}
	if err != nil {
		rp.abort()
		return releaseHint(err, db)
	}
	j := s.j
	if err := rp.finish(); err != nil {
		return fmt.Errorf("replay journal: %w", err)
	}
	if n := rp.records(); n > 0 {
		s.log.Info("replayed journal into store.db", "records", n, "from", applied+1, "to", j.lastSeq, "took", time.Since(start))
	}
	s.head.Store(j.lastSeq)
	s.lastHash = j.lastHash
	// HIGHWATER is checked before the store counts as open, so a damaged
	// mark refuses the open cleanly (a new store.db is then left as the
	// temporary file, which the next open discards).
	if s.lessWhy, err = s.checkHighWater(); err != nil {
		return err
	}
	// A store that existed before (IDENTITY was there) and has records, but
	// whose store.db and HIGHWATER are both gone, has nothing left that says
	// how far its journal went: a lost last segment would go unnoticed.
	// A standby is exempt: the stream, not its own files, says what it holds.
	if s.lessWhy == "" && created && idErr == nil && errors.Is(hwErr, fs.ErrNotExist) && j.lastSeq > 0 && !s.opts.AssumeJournalComplete && !s.opts.Standby {
		s.lessWhy = fmt.Sprintf("store.db and HIGHWATER are both missing, so nothing shows whether the journal (ending at sequence %d) lost its tail; "+
			"if you know it is complete, start with --assume-journal-complete instead", j.lastSeq)
	}
	if created {
		return s.publishDB(openPath, dbPath)
	}
	if err := markDirty(s.dir, s.opts.SyncProjection); err != nil {
		if !isNoSpace(err) {
			return err
		}
		return s.openWithoutMarker(err)
	}
	return nil
}

// openWithoutMarker lets a store open on a full disk, where the DIRTY marker
// cannot be written, so that reads are served and writes resume once space
// is freed: store.db is then fsynced on every commit (and now), which makes
// it trusted after any crash without a marker. A marker left by an earlier
// process stays and keeps meaning what it did.
func (s *Store) openWithoutMarker(err error) error {
	s.log.Warn("disk full: cannot write the DIRTY marker; store.db is fsynced on every commit until the store is reopened with free space",
		"err", writeError("write", filepath.Join(s.dir, dirtyFile), err))
	s.noMarker = true
	s.opts.SyncProjection = true
	s.db.NoSync, s.db.NoGrowSync = false, false
	if err := s.db.Sync(); err != nil {
		return writeError("sync", filepath.Join(s.dir, dbFile), err)
	}
	return nil
}

func (s *Store) openDB(path string) (*bolt.DB, error) {
	if st, err := os.Stat(path); err == nil && st.Size() > 0 {
		if err := walkBolt(path); err != nil {
			return nil, err
		}
	}
	db, err := openBolt(path, &bolt.Options{Timeout: time.Second, NoFreelistSync: true,
		InitialMmapSize: mmapHint(s.opts.JournalDir), PageSize: projectionPageSize})
	if err != nil {
		return nil, err
	}
	// Without SyncProjection store.db is never fsynced while open, so
	// neither is its growth (bbolt fsyncs the file each time it grows).
	db.NoSync = !s.opts.SyncProjection
	db.NoGrowSync = db.NoSync
	return db, nil
}

// Dir returns the data directory.
func (s *Store) Dir() string { return s.dir }

// Identity returns the store's identity.
func (s *Store) Identity() Identity { return s.id }

// Head returns the sequence of the last acknowledged record.
func (s *Store) Head() uint64 { return s.head.Load() }

// Commit writes one change durably and returns once its journal record is
// fsynced and applied to store.db. Preconditions are checked by the
// committer against the current state, so check-then-act races cannot happen.
func (s *Store) Commit(ctx context.Context, c Change) (Result, error) {
	return s.commit(ctx, c, false)
}

// Checkpoint writes a checkpoint record saying why (an admin action, a
// snapshot) and returns its sequence.
func (s *Store) Checkpoint(ctx context.Context, why string) (uint64, error) {
	res, err := s.commit(ctx, Change{Op: OpCheckpoint, Body: []byte(why)}, true)
	return res.Seq, err
}

func (s *Store) commit(ctx context.Context, c Change, internal bool) (Result, error) {
	if err := c.validate(s.opts.MaxBodySize, internal); err != nil {
		return Result{}, err
	}
	req := &request{c: c, internal: internal, resp: make(chan response, 1)}
	return s.send(ctx, req)
}

func (s *Store) send(ctx context.Context, req *request) (Result, error) {
	if p := s.failed.Load(); p != nil && s.cutPending.Load() == nil {
		return Result{}, *p
	}
	s.closeMu.Lock()
	if s.closed {
		s.closeMu.Unlock()
		return Result{}, ErrClosed
	}
	select {
	case s.reqs <- req:
		s.closeMu.Unlock()
	case <-ctx.Done():
		s.closeMu.Unlock()
		return Result{}, ctx.Err()
	}
	// Once queued, the change is decided by the committer; wait for it even
	// if ctx ends, so the caller never mistakes a written change for a lost one.
	r := <-req.resp
	return r.res, r.err
}

// committer is the single writer. It takes queued changes in batches, checks
// and applies each inside one bbolt transaction, appends their records to the
// journal with one fsync, commits the transaction, then answers every waiter.
func (s *Store) committer() {
	defer close(s.done)
	batch := make([]*request, 0, s.opts.MaxBatch)
	for {
		var first *request
		select {
		case first = <-s.reqs:
		case <-s.quit:
			// Drain what was queued before Close.
			select {
			case first = <-s.reqs:
			default:
				return
			}
		}
		if first.exclusive != nil {
			if err := s.writable(); err != nil {
				first.resp <- response{err: err}
				continue
			}
			first.resp <- response{err: first.exclusive()}
			continue
		}
		batch = append(batch[:0], first)
	fill:
		for len(batch) < s.opts.MaxBatch {
			select {
			case r := <-s.reqs:
				if r.exclusive != nil {
					s.runBatch(batch)
					batch = batch[:0]
					r.resp <- response{err: r.exclusive()}
					break fill
				}
				batch = append(batch, r)
			default:
				break fill
			}
		}
		if len(batch) > 0 {
			s.runBatch(batch)
		}
	}
}

func (s *Store) runBatch(batch []*request) {
	if err := s.writable(); err != nil {
		for _, r := range batch {
			r.resp <- response{err: err}
		}
		return
	}
	if r := s.replicator(); r != nil {
		if err := r.Ready(); err != nil {
			for _, req := range batch {
				req.resp <- response{err: err}
			}
			return
		}
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	dbPath := filepath.Join(s.dir, dbFile)
	tx, err := s.db.Begin(true)
	if err != nil {
		s.refuse(writeError("begin a transaction of", dbPath, err), batch)
		return
	}
	head, hash := s.head.Load(), s.lastHash
	first := head + 1
	now := time.Now().UnixNano()
	results := make([]response, len(batch))
	var frames [][]byte
	for i, req := range batch {
		rec, res, err := prepare(tx, &req.c, head)
		if err != nil || rec == nil {
			results[i] = response{res: res, err: err}
			continue
		}
		rec.Seq, rec.Time, rec.Prev = head+1, now, hash
		frame, h := encodeFrame(rec)
		if err := applyRecord(tx, rec); err != nil {
			tx.Rollback()
			s.refuse(fmt.Errorf("apply %v %s/%s/%s to %s: %w", rec.Op, rec.Principal, rec.Collection, rec.Name, dbPath, err), batch)
			return
		}
		frames = append(frames, frame)
		head, hash = rec.Seq, h
		res.Seq = rec.Seq
		results[i] = response{res: res}
	}
	if len(frames) == 0 {
		tx.Rollback()
	} else {
		t0 := time.Now()
		mark := s.j.mark(s.head.Load())
		if err := s.j.append(frames, s.head.Load()+1); err != nil {
			tx.Rollback()
			s.cutAndRefuse(writeError("append to the journal", s.j.activePath(), err), mark, batch)
			return
		}
		if s.opts.Observer != nil {
			s.opts.Observer.Committed(len(frames), time.Since(t0))
		}
		if err := setApplied(tx, head, hash); err != nil {
			tx.Rollback()
			s.cutAndRefuse(writeError("apply the change to", dbPath, err), mark, batch)
			return
		}
		if err := tx.Commit(); err != nil {
			// bbolt rolled the transaction back. Only when store.db shows
			// the batch anyway (its meta page was written but not synced)
			// did it happen: the journal holds it durably.
			if applied, _ := s.appliedSeq(); applied != head {
				s.cutAndRefuse(writeError("apply the change to", dbPath, err), mark, batch)
				return
			}
			s.log.Warn("store.db commit reported an error after writing the batch; the journal has it durably", "file", dbPath, "err", err)
		}
		s.lastHash = hash
		s.head.Store(head)
		s.replicate(first, frames, results)
	}
	for i, req := range batch {
		req.resp <- results[i]
	}
	if s.head.Load() >= s.hwSeq+HighWaterEvery {
		if err := s.writeHighWater(s.head.Load(), s.lastHash); err != nil {
			s.log.Warn("could not write the high-water mark", "err", err)
		}
	}
}

// Close waits for queued writes, then closes the journal and store.db and
// releases the directory lock.
func (s *Store) Close() error {
	s.closeMu.Lock()
	if s.closed {
		s.closeMu.Unlock()
		return nil
	}
	s.closed = true
	close(s.quit)
	s.closeMu.Unlock()
	<-s.done
	var hwErr error
	if s.failed.Load() == nil && s.head.Load() > s.hwSeq {
		hwErr = s.writeHighWater(s.head.Load(), s.lastHash)
		if isNoSpace(hwErr) {
			s.log.Warn("disk full: could not update the high-water mark", "err", hwErr)
			hwErr = nil
		}
	}
	err := errors.Join(s.closeFiles(), hwErr)
	if err == nil && s.failed.Load() == nil {
		err = os.Remove(filepath.Join(s.dir, dirtyFile))
		if s.noMarker && errors.Is(err, fs.ErrNotExist) {
			err = nil
		}
	}
	s.lock.unlock()
	return err
}

func (s *Store) closeFiles() error {
	var errs []error
	if s.db != nil {
		if !s.opts.SyncProjection {
			errs = append(errs, s.db.Sync())
		}
		errs = append(errs, s.db.Close())
		s.db = nil
	}
	if s.j != nil {
		errs = append(errs, s.j.close())
		s.j = nil
	}
	return errors.Join(errs...)
}

// view runs fn in a read transaction of store.db.
func (s *Store) view(fn func(tx *bolt.Tx) error) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.db == nil {
		return ErrClosed
	}
	return s.db.View(fn)
}

// exclusive runs fn on the committer goroutine, between batches, so no write
// is in progress while it runs.
func (s *Store) exclusive(ctx context.Context, fn func() error) error {
	_, err := s.send(ctx, &request{exclusive: fn, resp: make(chan response, 1)})
	return err
}
