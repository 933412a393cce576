package storage

import (
	"errors"
	"fmt"
	"io/fs"
	"syscall"
)

// ErrNoSpace: a store file could not be written because its filesystem is
// full (or the user's quota is used up). The write was not made; writes work
// again as soon as space is freed, without a restart.
var ErrNoSpace = errors.New("no space left on device")

// NoSpaceError is ErrNoSpace naming the file that could not be written.
type NoSpaceError struct {
	Path string // the file (or directory) the write was for
	Op   string // what was being written
	Err  error  // the system error (ENOSPC or EDQUOT)
	Hint string // what to do; default: for a commit
}

func (e *NoSpaceError) Error() string {
	hint := e.Hint
	if hint == "" {
		hint = "the change was not saved; free space on that filesystem and writes resume by themselves"
	}
	return fmt.Sprintf("no space left for %s (%s): %v; %s", e.Path, e.Op, e.Err, hint)
}

func (e *NoSpaceError) Unwrap() []error { return []error{ErrNoSpace, e.Err} }

// writeError names the file a failed write was for. bbolt and os report the
// name a file was opened under, which for a store.db built by a rebuild is
// its temporary name; path is the real one. A full filesystem becomes a
// *NoSpaceError.
func writeError(op, path string, err error) error {
	if err == nil {
		return nil
	}
	var pe *fs.PathError
	if errors.As(err, &pe) && path == "" {
		path = pe.Path
	}
	errno := err
	if pe != nil {
		errno = pe.Err
	}
	if isNoSpace(err) {
		var en syscall.Errno
		if errors.As(err, &en) {
			errno = en
		}
		return &NoSpaceError{Path: path, Op: op, Err: errno}
	}
	if pe != nil {
		return fmt.Errorf("%s %s: %s: %w", op, path, pe.Op, errno)
	}
	return fmt.Errorf("%s %s: %w", op, path, err)
}

// isNoSpace reports whether err is a full filesystem, typed or not.
func isNoSpace(err error) bool {
	return errors.Is(err, ErrNoSpace) || errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT)
}
