package storage

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// Verify and the restore drill build a throw-away copy of the store. By
// default it goes into the data directory, which is the wrong place when
// that filesystem is full (or nearly): both take a scratch directory
// (--tmp DIR) and check, before they start, that it has room for the copy.

// scratchDir makes a temporary directory named prefix* in dir (the data
// directory when dir is "") for a copy needing about need bytes. It refuses
// with a *NoSpaceError saying how much is needed when the filesystem has
// less free.
func (s *Store) scratchDir(dir, prefix, what string, need int64) (string, error) {
	if dir == "" {
		dir = s.dir
	}
	hint := fmt.Sprintf("%s needs about %s of scratch space for its copy; free space there or give --tmp DIR on a filesystem with that much room", what, mib(need))
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return "", fmt.Errorf("%s: scratch directory %s: %w", what, dir, err)
	}
	if free := int64(st.Bavail) * int64(st.Bsize); free < need {
		return "", &NoSpaceError{Path: dir, Op: fmt.Sprintf("%s scratch copy, %s free", what, mib(free)), Err: syscall.ENOSPC, Hint: hint}
	}
	tmp, err := os.MkdirTemp(dir, prefix)
	if err != nil {
		if ns, ok := writeError(what+" scratch copy", dir, err).(*NoSpaceError); ok {
			ns.Hint = hint
			return "", ns
		}
		return "", fmt.Errorf("%s: scratch directory: %w", what, err)
	}
	return tmp, nil
}

// scratchNeed estimates the bytes a copy of store.db (plus, withJournal, of
// the journal) takes: their current sizes with a margin.
func (s *Store) scratchNeed(withJournal bool) int64 {
	var n int64
	if st, err := os.Stat(filepath.Join(s.dir, dbFile)); err == nil {
		n += st.Size()
	}
	if withJournal {
		if segs, err := listSegments(s.opts.JournalDir); err == nil {
			for _, sg := range segs {
				if st, err := os.Stat(sg.path); err == nil {
					n += st.Size()
				}
			}
		}
	}
	return n + n/10 + 1<<20
}

// scratchWriteError names a write that failed in a scratch copy; a full
// filesystem gets the scratch hint.
func scratchWriteError(what, dir string, need int64, err error) error {
	if err == nil {
		return nil
	}
	e := writeError(what+" scratch copy", dir, err)
	if ns, ok := e.(*NoSpaceError); ok {
		ns.Path = dir
		ns.Hint = fmt.Sprintf("%s needs about %s of scratch space for its copy; free space there or give --tmp DIR on a filesystem with that much room", what, mib(need))
		return ns
	}
	return err
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }
