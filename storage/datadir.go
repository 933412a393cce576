package storage

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Files of a data directory.
const (
	identityFile   = "IDENTITY"
	lockFile       = "LOCK"
	dirtyFile      = "DIRTY"
	dbFile         = "store.db"
	quarantineDir  = "quarantine"
	identityFormat = 1
)

// Identity is the content of the IDENTITY file: who this store is.
type Identity struct {
	Format  int       `json:"format"`
	StoreID string    `json:"store_id"`
	Created time.Time `json:"created"`
}

func (id Identity) rawID() ([16]byte, error) {
	var out [16]byte
	b, err := hex.DecodeString(id.StoreID)
	if err != nil || len(b) != 16 {
		return out, fmt.Errorf("IDENTITY: store_id %q is not 32 hex digits", id.StoreID)
	}
	copy(out[:], b)
	return out, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

// loadIdentity reads IDENTITY, or creates it when the directory holds no store
// yet. A directory with a journal or store.db but no IDENTITY is refused.
// With expect set, a directory holding no store or another store is refused
// and nothing is created.
func loadIdentity(dir, journalDir, expect string) (Identity, error) {
	path := filepath.Join(dir, identityFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) && expect != "" {
		return Identity{}, &WrongStoreError{Dir: dir, Expected: expect}
	}
	if errors.Is(err, fs.ErrNotExist) {
		segs, _ := listSegments(journalDir)
		_, dbErr := os.Stat(filepath.Join(dir, dbFile))
		if len(segs) > 0 || dbErr == nil {
			return Identity{}, &CorruptionError{Path: path, Offset: -1,
				What: "IDENTITY is missing but the directory holds a store", Advice: "restore IDENTITY from a backup of this data directory; do not create a new one by hand"}
		}
		id := Identity{Format: identityFormat, StoreID: randomHex(16), Created: time.Now().UTC()}
		out, _ := json.MarshalIndent(id, "", "  ")
		if err := writeFileSync(path, append(out, '\n')); err != nil {
			return Identity{}, fmt.Errorf("write IDENTITY: %w", err)
		}
		return id, nil
	}
	if err != nil {
		return Identity{}, err
	}
	id, err := parseIdentity(path, b)
	if err == nil && expect != "" && id.StoreID != expect {
		return Identity{}, &WrongStoreError{Dir: dir, Expected: expect, Found: id.StoreID}
	}
	return id, err
}

// ReadIdentity reads a data directory's IDENTITY without creating or
// changing anything.
func ReadIdentity(dir string) (Identity, error) {
	_, id, err := readIdentityFile(dir)
	return id, err
}

// CheckStoreID refuses a data directory whose IDENTITY does not name the
// store expect (a directory without a store included). It reads only.
func CheckStoreID(dir, expect string) error {
	id, err := ReadIdentity(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return &WrongStoreError{Dir: dir, Expected: expect}
		}
		return err
	}
	if id.StoreID != expect {
		return &WrongStoreError{Dir: dir, Expected: expect, Found: id.StoreID}
	}
	return nil
}

// WrongStoreError: a data directory is not the store the caller expected.
type WrongStoreError struct {
	Dir      string
	Expected string
	Found    string // "" when the directory holds no store
}

func (e *WrongStoreError) Error() string {
	if e.Found == "" {
		return fmt.Sprintf("%s holds no pimvault store, but store %s was expected: check the data directory (nothing was created)", e.Dir, e.Expected)
	}
	return fmt.Sprintf("%s holds store %s, not the expected %s: check the data directory, or drop the expected store id if the directory is right", e.Dir, e.Found, e.Expected)
}

func (e *WrongStoreError) Unwrap() error { return ErrWrongStore }

// parseIdentity checks the content b of the IDENTITY file at path.
func parseIdentity(path string, b []byte) (Identity, error) {
	var id Identity
	if err := json.Unmarshal(b, &id); err != nil {
		return Identity{}, &CorruptionError{Path: path, Offset: -1, What: "IDENTITY is not valid JSON: " + err.Error(), Advice: "restore IDENTITY from a backup"}
	}
	switch {
	case id.Format > identityFormat:
		return Identity{}, &NewerError{Path: path, Offset: -1, What: fmt.Sprintf("IDENTITY format %d; this pimvault reads format %d", id.Format, identityFormat)}
	case id.Format < 1:
		return Identity{}, &CorruptionError{Path: path, Offset: -1, What: fmt.Sprintf("IDENTITY has format %d", id.Format), Advice: "restore IDENTITY from a backup"}
	}
	if _, err := id.rawID(); err != nil {
		return Identity{}, &CorruptionError{Path: path, Offset: -1, What: err.Error(), Advice: "restore IDENTITY from a backup"}
	}
	return id, nil
}

// dirLock is an exclusive flock on <dir>/LOCK held while a store is open.
type dirLock struct{ f *os.File }

// LockedError says which process holds a data directory.
type LockedError struct {
	Dir string
	PID int // 0 when unknown
}

func (e *LockedError) Error() string {
	if e.PID > 0 {
		return fmt.Sprintf("data directory %s is in use by process %d", e.Dir, e.PID)
	}
	return fmt.Sprintf("data directory %s is in use by another process", e.Dir)
}

func (e *LockedError) Unwrap() error { return ErrLocked }

func lockDir(dir string) (*dirLock, error) {
	f, err := os.OpenFile(filepath.Join(dir, lockFile), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		b, _ := os.ReadFile(f.Name())
		f.Close()
		pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
		return nil, &LockedError{Dir: dir, PID: pid}
	}
	if err := f.Truncate(0); err == nil {
		f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return &dirLock{f: f}, nil
}

func (l *dirLock) unlock() {
	if l == nil || l.f == nil {
		return
	}
	l.f.Truncate(0)
	syscall.Flock(int(l.f.Fd()), syscall.LOCK_UN)
	l.f.Close()
	l.f = nil
}

// IsLocked reports whether another process holds the data directory.
func IsLocked(dir string) (bool, error) {
	if _, err := os.Stat(filepath.Join(dir, lockFile)); errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	l, err := lockDir(dir)
	if errors.Is(err, ErrLocked) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	l.unlock()
	return false, nil
}

func bootID() string {
	b, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(b))
}

// projectionTrusted reads the DIRTY marker a store leaves while open. A marker
// from the same boot means the process died but the kernel kept every write
// to store.db; a marker from an earlier boot of a store that did not fsync
// store.db means those writes may be torn, so store.db must be rebuilt.
func projectionTrusted(dir string) bool {
	b, err := os.ReadFile(filepath.Join(dir, dirtyFile))
	if errors.Is(err, fs.ErrNotExist) {
		return true
	}
	fields := strings.Fields(string(b))
	if len(fields) != 2 {
		return false
	}
	return fields[1] == "sync" || fields[0] == bootID()
}

func markDirty(dir string, sync bool) error {
	mode := "nosync"
	if sync {
		mode = "sync"
	}
	return writeFileSync(filepath.Join(dir, dirtyFile), []byte(bootID()+" "+mode+"\n"))
}

// quarantine moves a file into <dir>/quarantine with a timestamp, never
// deleting it.
func quarantine(dir, path string) (string, error) {
	qdir := filepath.Join(dir, quarantineDir)
	if err := os.MkdirAll(qdir, 0o700); err != nil {
		return "", err
	}
	dst := filepath.Join(qdir, fmt.Sprintf("%s.%s", filepath.Base(path), time.Now().UTC().Format("20060102T150405.000000000Z")))
	if err := os.Rename(path, dst); err != nil {
		return "", err
	}
	return dst, syncDir(qdir)
}
