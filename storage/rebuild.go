package storage

import (
	"os"
)

// rebuildSuffix names a store.db being built from the journal. It becomes
// store.db by a rename only once it holds every record, so a process that
// dies while building leaves either the old store.db or none (and a stale
// temporary file the next build removes), never a partial store.db.
const rebuildSuffix = ".rebuild"

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
	return syncDir(s.dir)
}
