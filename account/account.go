package account

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"

	"github.com/pimvault/pimvault/storage"
)

// Account is what the store keeps for a principal (as its opaque data), so
// accounts are journalled, backed up and restored like all other data.
type Account struct {
	PasswordHash string `json:"password_hash"` // bcrypt
	Disabled     bool   `json:"disabled,omitempty"`
	// Emails are the account's e-mail addresses, lower case: its calendar
	// user addresses (mailto:) for scheduling (RFC 6638 §2.4.1).
	Emails []string `json:"emails,omitempty"`
	// Admin accounts see the admin pages (accounts, store status,
	// recoveries, backups, undo on a user's behalf).
	Admin   bool      `json:"admin,omitempty"`
	Created time.Time `json:"created"`
	Changed time.Time `json:"changed"`
	// AppPasswords are the per-device credentials (apppassword.go).
	AppPasswords []AppPassword `json:"app_passwords,omitempty"`
}

// HashCost is the bcrypt work factor of new password hashes. Tests that
// create many accounts lower it to bcrypt.MinCost.
var HashCost = bcrypt.DefaultCost

// Store is what account changes need of the store.
type Store interface {
	Commit(ctx context.Context, c storage.Change) (storage.Result, error)
	Principal(name string) (storage.Principal, error)
}

// Password rules.
const (
	minPasswordLen = 8
	maxPasswordLen = 72 // bcrypt's limit
)

// ErrBadPassword: a password that does not meet the rules.
var ErrBadPassword = errors.New("password must be 8 to 72 bytes")

// GeneratePassword returns a random password of 20 base32 characters.
func GeneratePassword() string {
	b := make([]byte, 13)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))[:20]
}

// checkPassword refuses a password bcrypt could not keep whole: bcrypt
// reads only the first 72 bytes, so a longer one would be silently cut and
// any password with the same first 72 bytes would sign in.
func checkPassword(pw string) error {
	switch {
	case len(pw) > maxPasswordLen:
		return fmt.Errorf("%w: this one is %d bytes, and only the first %d would count; choose a shorter one", ErrBadPassword, len(pw), maxPasswordLen)
	case len(pw) < minPasswordLen:
		return fmt.Errorf("%w: this one is %d bytes", ErrBadPassword, len(pw))
	}
	return nil
}

// Decode returns the account a principal's data holds.
func Decode(p storage.Principal) (Account, error) {
	var a Account
	if err := json.Unmarshal(p.Data, &a); err != nil {
		return a, fmt.Errorf("account %s: %w", p.Name, err)
	}
	return a, nil
}

func putAccount(ctx context.Context, s Store, name string, a Account, create bool) error {
	data, err := json.Marshal(a)
	if err != nil {
		return err
	}
	c := storage.Change{Op: storage.OpPutPrincipal, Principal: name, Body: data}
	if create {
		c.IfNoneMatch = true
	} else {
		c.IfMatch = "*"
	}
	_, err = s.Commit(ctx, c)
	return err
}

// MaxNameLen bounds an account name.
const MaxNameLen = 64

// ErrBadName: an account name that does not meet the rules.
var ErrBadName = errors.New("invalid account name")

// ValidateName checks a new account's name: it appears in URLs
// (/dav/NAME/), in Basic credentials (user:password) and in admin output,
// so it holds no spaces, no control characters, none of : / \ % ? # and
// at most MaxNameLen bytes of UTF-8.
func ValidateName(name string) error {
	bad := func(why string) error {
		return fmt.Errorf("account name %q %s (names are at most %d bytes, without spaces, control characters or any of : / \\ %% ? #): %w: %w", name, why, MaxNameLen, ErrBadName, storage.ErrInvalidName)
	}
	switch {
	case name == "":
		return bad("is empty")
	case len(name) > MaxNameLen:
		return bad(fmt.Sprintf("is %d bytes long", len(name)))
	case !utf8.ValidString(name):
		return bad("is not UTF-8")
	case name == "." || name == "..":
		return bad("is not allowed")
	}
	for _, r := range name {
		switch {
		case unicode.IsSpace(r):
			return bad("contains a space")
		case unicode.IsControl(r):
			return bad("contains a control character")
		case strings.ContainsRune(":/\\%?#", r):
			return bad(fmt.Sprintf("contains %q", r))
		}
	}
	return storage.ValidateName("user", name)
}

// AddUser creates an account; the name must pass ValidateName.
func AddUser(ctx context.Context, s Store, name, password string) error {
	if err := ValidateName(name); err != nil {
		return err
	}
	if err := checkPassword(password); err != nil {
		return err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), HashCost)
	if err != nil {
		return err
	}
	if ss, ok := s.(ShareStore); ok {
		// A new account of a deleted one's name must not inherit the
		// shares others gave the old one.
		if _, err := s.Principal(name); errors.Is(err, storage.ErrNotFound) {
			if err := dropGrantsTo(ctx, ss, name); err != nil {
				return err
			}
		}
	}
	now := time.Now().UTC()
	return putAccount(ctx, s, name, Account{PasswordHash: string(hash), Created: now, Changed: now}, true)
}

// updateMu serialises the read-modify-write of updateAccount, so that two
// changes of one account (a revocation and a last-use note, say) cannot undo
// each other. Every account change of a store goes through one process: the
// server, or the admin command that holds the store's lock.
var updateMu sync.Mutex

// errUnchanged, returned by an update function, leaves the account as it is.
var errUnchanged = errors.New("unchanged")

// updateAccount changes an existing account.
func updateAccount(ctx context.Context, s Store, name string, fn func(*Account) error) error {
	updateMu.Lock()
	defer updateMu.Unlock()
	p, err := s.Principal(name)
	if err != nil {
		return err
	}
	a, err := Decode(p)
	if err != nil {
		return err
	}
	if err := fn(&a); err != nil {
		if errors.Is(err, errUnchanged) {
			return nil
		}
		return err
	}
	a.Changed = time.Now().UTC()
	return putAccount(ctx, s, name, a, false)
}

// SetPassword replaces an account's password.
func SetPassword(ctx context.Context, s Store, name, password string) error {
	if err := checkPassword(password); err != nil {
		return err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), HashCost)
	if err != nil {
		return err
	}
	return updateAccount(ctx, s, name, func(a *Account) error {
		a.PasswordHash = string(hash)
		return nil
	})
}

// DeleteUser deletes an account and all its collections with one journalled
// tombstone: the data stays in the journal, and 'pimvault undo' to a point
// before the deletion brings the account back. It returns the tombstone's
// sequence.
func DeleteUser(ctx context.Context, s Store, name string) (uint64, error) {
	res, err := s.Commit(ctx, storage.Change{Op: storage.OpDeletePrincipal, Principal: name})
	if err != nil {
		return 0, err
	}
	return res.Seq, nil
}

// SetDisabled disables or enables an account. A disabled account cannot sign
// in; its data stays.
func SetDisabled(ctx context.Context, s Store, name string, disabled bool) error {
	return updateAccount(ctx, s, name, func(a *Account) error {
		a.Disabled = disabled
		return nil
	})
}

// Limits on an account's e-mail addresses.
const (
	maxEmails   = 16
	maxEmailLen = 254 // RFC 5321's path limit
)

// ErrBadEmail: an address that is not a plain addr-spec.
var ErrBadEmail = errors.New("bad e-mail address")

// NormalizeEmail checks one address (local@domain, no spaces, angle brackets
// or display names) and returns it in lower case, the form scheduling
// compares. A "mailto:" prefix is accepted and removed.
func NormalizeEmail(addr string) (string, error) {
	a := strings.TrimSpace(addr)
	if len(a) >= 7 && strings.EqualFold(a[:7], "mailto:") {
		a = a[7:]
	}
	a = strings.ToLower(a)
	at := strings.LastIndexByte(a, '@')
	if a == "" || len(a) > maxEmailLen || at <= 0 || at == len(a)-1 || strings.ContainsAny(a, " \t\r\n<>(),;:\"[]\\") ||
		strings.Count(a, "@") != 1 || !strings.Contains(a[at+1:], ".") && a[at+1:] != "localhost" {
		return "", fmt.Errorf("%w: %q (want local@domain)", ErrBadEmail, addr)
	}
	return a, nil
}

// SetEmails replaces an account's e-mail addresses (none: the account has
// only the addresses the server derives, see the README). Each is checked
// and lower-cased; duplicates are dropped. Another account's address is
// refused, so an address names at most one account.
func SetEmails(ctx context.Context, s interface {
	Store
	Principals() ([]storage.Principal, error)
}, name string, emails []string) error {
	if len(emails) > maxEmails {
		return fmt.Errorf("%w: at most %d addresses per account", ErrBadEmail, maxEmails)
	}
	var norm []string
	for _, e := range emails {
		n, err := NormalizeEmail(e)
		if err != nil {
			return err
		}
		if !slices.Contains(norm, n) {
			norm = append(norm, n)
		}
	}
	ps, err := s.Principals()
	if err != nil {
		return err
	}
	for _, p := range ps {
		if p.Name == name {
			continue
		}
		a, err := Decode(p)
		if err != nil {
			continue
		}
		for _, e := range a.Emails {
			if slices.Contains(norm, e) {
				return fmt.Errorf("%w: %s is an address of account %s", ErrBadEmail, e, p.Name)
			}
		}
	}
	return updateAccount(ctx, s, name, func(a *Account) error {
		a.Emails = norm
		return nil
	})
}

// SetAdmin grants or withdraws the admin pages to an account.
func SetAdmin(ctx context.Context, s Store, name string, admin bool) error {
	return updateAccount(ctx, s, name, func(a *Account) error {
		a.Admin = admin
		return nil
	})
}

// PasswordMatches reports whether password is the account's. It takes as
// long as bcrypt takes, on purpose.
func (a Account) PasswordMatches(password string) bool {
	return bcrypt.CompareHashAndPassword([]byte(a.PasswordHash), []byte(password)) == nil
}

// CompareDummy spends the time of one password check and returns nothing:
// a sign-in as an unknown user must not answer faster than a wrong password.
func CompareDummy(password string) {
	bcryptSecret(dummyHash(HashCost)).Match(password)
}
