package storage

import (
	"os"
)

// rebuildSuffix names a store.db being built from the journal. It becomes
// store.db by a rename only once it holds every record, so a process that
// dies while building leaves either the old store.db or none (and a stale
// temporary file the next build removes), never a partial store.db.
const rebuildSuffix = ".rebuild"

// projectionPageSize is the bbolt page size of a new store.db (an existing
// one keeps the size it was made with). Bodies of a few KiB pack several to
// a 16 KiB page, where a 4 KiB page holds at most two of 2 KiB in an 8 KiB
// overflow run: a rebuilt store.db of 100k 2 KiB objects is 270 MB instead
// of 435 MB, and a rebuild writes that many fewer bytes in fewer calls.
const projectionPageSize = 16 << 10

// publishDB renames a store.db built under tmp to path. store.db is written
// without fsync, so the DIRTY marker (this boot, see projectionTrusted) is
// made durable before the rename: after an operating-system crash the next
// Open does not trust the file and builds it again. With SyncProjection the
// file is fsynced instead and trusted.
func (s *Store) publishDB(tmp, path string) error {
	if s.opts.SyncProjection {
		if err := s.db.Sync(); err != nil {
			return err
		}
	}
	if err := markDirty(s.dir, s.opts.SyncProjection); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	s.db.NoSync = !s.opts.SyncProjection
	s.db.NoGrowSync = s.db.NoSync
	return syncDir(s.dir)
}
