package syncproto

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
)

// The wire contract between the device library and the server, beyond the
// sync token: the headers of the recovery protocol, the path a device
// reports to, how an ETag is computed, and what a device id may be. Both
// sides import these; neither keeps a copy.
const (
	// HeaderDevice names the device on every request of the device library
	// (a valid device id); a request without it comes from a stock client.
	HeaderDevice = "X-Pimvault-Device"
	// HeaderEpoch is on every answer to a device: the store's epoch.
	HeaderEpoch = "X-Pimvault-Epoch"
	// HeaderRecovering is "1" on an answer to a device while its principal
	// is RECOVERING.
	HeaderRecovering = "X-Pimvault-Recovering"
	// HeaderExisting is on the answer to a deduplicated upload: the href of
	// the object that already holds the same UID and body.
	HeaderExisting = "X-Pimvault-Existing"
	// HeaderToken is on a device's MKCOL or MKCALENDAR of a collection it
	// holds and the server does not list: the device's last sync token of
	// it. When the server recorded the collection's deletion after that
	// token (DeletedSince), it answers 410 Gone and the device deletes its
	// copy instead of bringing the collection back.
	HeaderToken = "X-Pimvault-Sync-Token"
)

// RecoveryDonePath is where a device POSTs once it has reconciled its
// replica after a loss.
const RecoveryDonePath = "/api/recovery/done"

// ETagOf is the ETag the store gives a body: the first 16 bytes of its
// SHA-256, in hex. An identical re-put is recognised as a no-op, and a
// device compares bodies with the server's ETags without a round trip.
func ETagOf(body []byte) string {
	sum := sha256.Sum256(body)
	return hex.EncodeToString(sum[:16])
}

// Errors of ValidateDeviceID.
var (
	ErrDeviceIDLength = errors.New("device id must be 1 to 64 characters")
	ErrDeviceIDChars  = errors.New("device id has a character outside [A-Za-z0-9._-]")
)

// ValidateDeviceID checks a device id: 1–64 characters of [A-Za-z0-9._-].
func ValidateDeviceID(id string) error {
	if id == "" || len(id) > 64 {
		return ErrDeviceIDLength
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return ErrDeviceIDChars
		}
	}
	return nil
}
