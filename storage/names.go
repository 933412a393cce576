package storage

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxNameLen bounds principal, collection and object names, in bytes.
const MaxNameLen = 255

// ValidateName checks one path segment: a principal, collection or object
// name. It must be valid UTF-8, non-empty, at most MaxNameLen bytes, contain
// no '/' or '\\', no control characters, and not be "." or "..".
func ValidateName(kind, name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%s name is empty: %w", kind, ErrInvalidName)
	case len(name) > MaxNameLen:
		return fmt.Errorf("%s name is %d bytes, over %d: %w", kind, len(name), MaxNameLen, ErrInvalidName)
	case !utf8.ValidString(name):
		return fmt.Errorf("%s name is not UTF-8: %w", kind, ErrInvalidName)
	case name == "." || name == "..":
		return fmt.Errorf("%s name %q is not allowed: %w", kind, name, ErrInvalidName)
	case strings.ContainsAny(name, "/\\"):
		return fmt.Errorf("%s name %q contains a slash: %w", kind, name, ErrInvalidName)
	}
	for _, r := range name {
		if unicode.IsControl(r) {
			return fmt.Errorf("%s name %q contains a control character: %w", kind, name, ErrInvalidName)
		}
	}
	return nil
}
