package account

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/pimvault/pimvault/storage"
)

// AppPassword is a per-device credential: a random token shown once when it is
// made, kept only as its SHA-256 hash. Checking one costs a hash, not a bcrypt,
// and revoking one leaves the account password and the other devices alone.
// It lives in the account, so it is journalled, backed up, restored and undone
// with it.
type AppPassword struct {
	ID       string    `json:"id"`
	Label    string    `json:"label"`
	Hash     string    `json:"sha256"` // hex SHA-256 of the token
	Created  time.Time `json:"created"`
	LastUsed time.Time `json:"last_used,omitempty"`
}

// AppPasswordInfo is what listings show of an app password (never the hash).
type AppPasswordInfo struct {
	ID       string    `json:"id"`
	Label    string    `json:"label"`
	Created  time.Time `json:"created"`
	LastUsed time.Time `json:"last_used,omitempty"`
}

// Limits of app passwords.
const (
	appTokenPrefix     = "pvapp-"
	appTokenBytes      = 20 // 160 random bits
	maxAppPasswords    = 100
	maxAppLabelLen     = 100
	lastUsedResolution = time.Hour // a last-use note is written at most this often
)

// Errors of app passwords.
var (
	ErrBadLabel           = errors.New("an app password needs a label of 1 to 100 printable characters")
	ErrTooManyAppPassword = fmt.Errorf("an account holds at most %d app passwords; revoke one first", maxAppPasswords)
	ErrNoAppPassword      = errors.New("no such app password")
)

func hashToken(token string) string {
	h := sha256.Sum256([]byte(token))
	return hex.EncodeToString(h[:])
}

func newAppToken() (id, token string) {
	b := make([]byte, appTokenBytes+5)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	enc := base32.StdEncoding.WithPadding(base32.NoPadding)
	return hex.EncodeToString(b[appTokenBytes:]), appTokenPrefix + strings.ToLower(enc.EncodeToString(b[:appTokenBytes]))
}

func checkLabel(label string) error {
	if label == "" || len(label) > maxAppLabelLen || !utf8.ValidString(label) {
		return ErrBadLabel
	}
	for _, r := range label {
		if r < 0x20 || r == 0x7f {
			return ErrBadLabel
		}
	}
	return nil
}

// AddAppPassword makes an app password for an account and returns its id and
// the token, which is not kept and cannot be shown again.
func AddAppPassword(ctx context.Context, s Store, user, label string) (id, token string, err error) {
	if err := checkLabel(label); err != nil {
		return "", "", err
	}
	id, token = newAppToken()
	err = updateAccount(ctx, s, user, func(a *Account) error {
		if len(a.AppPasswords) >= maxAppPasswords {
			return ErrTooManyAppPassword
		}
		a.AppPasswords = append(a.AppPasswords, AppPassword{ID: id, Label: label, Hash: hashToken(token), Created: time.Now().UTC()})
		return nil
	})
	if err != nil {
		return "", "", err
	}
	return id, token, nil
}

// RevokeAppPassword removes an app password; the next request made with it is
// refused. The devices that signed in with it are then marked in the device
// registry and a recovery stops waiting for them
// (storage.CredentialRevokedChange); what that did is returned. Revoking an
// id that is gone from the account but still names unmarked devices (a
// revocation interrupted between its two writes) marks them and succeeds.
// The recovery is judged with the default device window
// (RevokeAppPasswordWithin).
func RevokeAppPassword(ctx context.Context, s Store, user, id string) (storage.CredentialRevocation, error) {
	return RevokeAppPasswordWithin(ctx, s, user, id, storage.DefaultRecoveryDeviceWindow)
}

// RevokeAppPasswordWithin is RevokeAppPassword judging a recovery by the
// devices seen within window (the server's --recovery-device-days).
func RevokeAppPasswordWithin(ctx context.Context, s Store, user, id string, window time.Duration) (storage.CredentialRevocation, error) {
	var out storage.CredentialRevocation
	err := updateAccount(ctx, s, user, func(a *Account) error {
		for i, ap := range a.AppPasswords {
			if ap.ID == id {
				a.AppPasswords = append(a.AppPasswords[:i], a.AppPasswords[i+1:]...)
				return nil
			}
		}
		return fmt.Errorf("%w %q for %s", ErrNoAppPassword, id, user)
	})
	if err != nil && !errors.Is(err, ErrNoAppPassword) {
		return out, err
	}
	if _, merr := s.Commit(ctx, storage.CredentialRevokedChange(user, id, window, &out)); merr != nil {
		if err != nil {
			return out, err
		}
		return out, fmt.Errorf("app password %s of %s revoked, but its devices could not be marked in the device registry (revoke it again to mark them): %w", id, user, merr)
	}
	if err != nil && len(out.Devices) == 0 {
		return out, err
	}
	return out, nil
}

// AppPasswords lists an account's app passwords, oldest first.
func AppPasswords(s Store, user string) ([]AppPasswordInfo, error) {
	p, err := s.Principal(user)
	if err != nil {
		return nil, err
	}
	a, err := Decode(p)
	if err != nil {
		return nil, err
	}
	out := make([]AppPasswordInfo, 0, len(a.AppPasswords))
	for _, ap := range a.AppPasswords {
		out = append(out, AppPasswordInfo{ID: ap.ID, Label: ap.Label, Created: ap.Created, LastUsed: ap.LastUsed})
	}
	return out, nil
}

// MatchAppPassword returns the app password the token is, if any. It hashes
// the token once and compares it with every stored hash in constant time.
func (a Account) MatchAppPassword(token string) (AppPassword, bool) {
	if !strings.HasPrefix(token, appTokenPrefix) || len(a.AppPasswords) == 0 {
		return AppPassword{}, false
	}
	h := []byte(hashToken(token))
	var found AppPassword
	ok := false
	for _, ap := range a.AppPasswords {
		if subtle.ConstantTimeCompare(h, []byte(ap.Hash)) == 1 {
			found, ok = ap, true
		}
	}
	return found, ok
}

// NoteAppPasswordUse records that an app password was used at now, when its
// last use on record is older than an hour (a sign-in does not cost a journal
// write each time). A password revoked meanwhile stays revoked.
func NoteAppPasswordUse(ctx context.Context, s Store, user string, ap AppPassword, now time.Time) error {
	if now.Sub(ap.LastUsed) < lastUsedResolution {
		return nil
	}
	return updateAccount(ctx, s, user, func(a *Account) error {
		for i := range a.AppPasswords {
			if a.AppPasswords[i].ID == ap.ID {
				a.AppPasswords[i].LastUsed = now.UTC().Truncate(time.Second)
				return nil
			}
		}
		return errUnchanged // revoked meanwhile
	})
}

// appSecret is one app password as a sign-in Secret: a SHA-256 compared in
// constant time, cheap, so the Verifier tries it before any bcrypt.
type appSecret string

func (h appSecret) Match(token string) bool {
	return strings.HasPrefix(token, appTokenPrefix) && subtle.ConstantTimeCompare([]byte(hashToken(token)), []byte(h)) == 1
}

func (appSecret) Costly() bool { return false }

func (a Account) appSecrets() []Secret {
	out := make([]Secret, len(a.AppPasswords))
	for i, ap := range a.AppPasswords {
		out[i] = appSecret(ap.Hash)
	}
	return out
}
