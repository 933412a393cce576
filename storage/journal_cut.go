package storage

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// A batch whose journal append or store.db commit fails is answered with an
// error, so its records must never become part of the journal: not now and
// not after a restart, when replay would otherwise apply them (a client that
// retries a PUT it was told failed would find it there). The committer takes
// a mark before appending and, on failure, cuts the journal back to it.
//
// After a failed fsync the kernel may already have dropped the dirty pages
// and cleared the error, so what those bytes hold on disk is unknown and a
// second fsync proves nothing. The cut does not depend on them: it removes
// every segment started after the last durable record, truncates the active
// segment to the size it had after its last successful fsync, fsyncs it and
// the directory, and reopens the segment with a fresh descriptor. Until the
// cut has succeeded no other write is taken.

// syncJournal makes appended journal records durable (fdatasync). Tests
// replace it to make an fsync fail, which no real filesystem here can.
var syncJournal = fdatasync

// journalMark is the journal's durable end before a batch.
type journalMark struct {
	path string // active segment ("" when there was none)
	size int64  // its size
	segs int    // number of segments
	head uint64 // last durable sequence
}

func (j *journal) mark(head uint64) journalMark {
	m := journalMark{size: j.size, segs: len(j.segs), head: head}
	if j.f != nil && len(j.segs) > 0 {
		m.path = j.segs[len(j.segs)-1].path
	}
	return m
}

// activePath names the segment being appended to, or the journal directory.
func (j *journal) activePath() string {
	if j.f != nil && len(j.segs) > 0 {
		return j.segs[len(j.segs)-1].path
	}
	return j.dir
}

// cutBack brings the journal back to m: segments that start after m.head
// (including one whose creation failed half-way) are removed and the active
// segment is truncated to m.size, then made durable.
func (j *journal) cutBack(m journalMark) error {
	if j.f != nil {
		j.f.Close() // its descriptor may carry a consumed write-back error
		j.f = nil
	}
	files, err := listSegments(j.dir)
	if err != nil {
		return fmt.Errorf("cut the journal back to sequence %d: %w", m.head, err)
	}
	removed := false
	for _, sg := range files {
		if sg.firstSeq > m.head {
			if err := os.Remove(sg.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("cut the journal back to sequence %d: %w", m.head, err)
			}
			removed = true
		}
	}
	j.segs = j.segs[:m.segs]
	if removed {
		if err := syncDir(j.dir); err != nil {
			return fmt.Errorf("cut the journal back to sequence %d: sync %s: %w", m.head, j.dir, err)
		}
	}
	j.size = m.size
	if m.path == "" {
		return nil
	}
	f, err := os.OpenFile(m.path, os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("cut the journal back to sequence %d: %w", m.head, err)
	}
	if err := f.Truncate(m.size); err != nil {
		f.Close()
		return fmt.Errorf("cut the journal back to sequence %d: truncate %s: %w", m.head, m.path, err)
	}
	if err := syncJournal(f); err != nil {
		f.Close()
		return fmt.Errorf("cut the journal back to sequence %d: sync %s: %w", m.head, m.path, err)
	}
	j.f = f
	return nil
}
