package storage

import (
	"os"
	"path/filepath"
	"syscall"
)

// fdatasync flushes a file's data (and the size it needs to read it back).
func fdatasync(f *os.File) error {
	for {
		err := syscall.Fdatasync(int(f.Fd()))
		if err != syscall.EINTR {
			return err
		}
	}
}

// syncDir makes a directory's entries (created, renamed files) durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// writeFileSync writes a file durably: temporary file, fsync, rename, fsync dir.
func writeFileSync(path string, data []byte) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	fail := func(err error) error { // a partial file only takes space a full disk lacks
		f.Close()
		os.Remove(tmp)
		return err
	}
	if _, err := f.Write(data); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return syncDir(filepath.Dir(path))
}

// mmapHint sizes bbolt's initial memory map from the journal: store.db holds
// about twice the journal's bytes (bodies sit in 4 KiB pages), and mapping
// that much up front saves the remap-and-copy bbolt does each time the file
// outgrows its map, which dominated a rebuild. It is address space, not
// memory; it is capped at 32 GiB.
func mmapHint(journalDir string) int {
	segs, err := listSegments(journalDir)
	if err != nil {
		return 0
	}
	var total int64
	for _, s := range segs {
		if st, err := os.Stat(s.path); err == nil {
			total += st.Size()
		}
	}
	return int(min(3*total, 32<<30))
}
