package dav

import (
	"encoding/binary"
	"unicode/utf8"
)

// The characters XML 1.0 allows (Char, XML 1.0 §2.2) are tab, LF, CR,
// U+0020–U+D7FF, U+E000–U+FFFD and U+10000–U+10FFFF. A response holding any
// other, or bytes that are not UTF-8, is not XML, and a client that cannot
// parse a listing stops syncing the whole collection. Such characters are
// refused where data comes in (the vCard and iCalendar validators, the XML
// request decoder); the writers here replace any that still reach them
// (data stored before those checks existed) with U+FFFD, so a response is
// well-formed whatever the store holds.

// forbiddenAt returns the index of the first byte of b that starts a
// character XML 1.0 forbids or is not UTF-8, and its length; -1 if none.
func forbiddenAt(b []byte) (int, int) {
	for i := 0; i < len(b); {
		// Eight bytes at a time while they are all printable ASCII.
		for i+8 <= len(b) {
			w := binary.LittleEndian.Uint64(b[i:])
			if (w-0x2020202020202020)&^w&0x8080808080808080 != 0 || w&0x8080808080808080 != 0 {
				break
			}
			i += 8
		}
		if i >= len(b) {
			break
		}
		if c := b[i]; c < utf8.RuneSelf {
			if c < 0x20 && c != '\t' && c != '\n' && c != '\r' {
				return i, 1
			}
			i++
			continue
		}
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n == 1 || r == 0xFFFE || r == 0xFFFF {
			return i, n
		}
		i += n
	}
	return -1, 0
}

// forbiddenAtString is forbiddenAt for a string.
func forbiddenAtString(s string) (int, int) {
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c < 0x20 && c != '\t' && c != '\n' && c != '\r' {
				return i, 1
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 || r == 0xFFFE || r == 0xFFFF {
			return i, n
		}
		i += n
	}
	return -1, 0
}

// sanitizeString returns s with every character XML 1.0 forbids (and every
// byte that is not UTF-8) replaced by U+FFFD; s itself when it is clean.
func sanitizeString(s string) string {
	i, n := forbiddenAtString(s)
	if i < 0 {
		return s
	}
	out := make([]byte, 0, len(s)+8)
	for i >= 0 {
		out = append(out, s[:i]...)
		out = append(out, "\uFFFD"...)
		s = s[i+n:]
		i, n = forbiddenAtString(s)
	}
	return string(append(out, s...))
}

// SanitizeXML replaces, in the XML text b, every character XML 1.0 forbids
// (and every byte that is not UTF-8) with U+FFFD. It returns b itself and 0
// when b is clean, else a new slice and the number of replacements.
func SanitizeXML(b []byte) ([]byte, int) {
	i, n := forbiddenAt(b)
	if i < 0 {
		return b, 0
	}
	out := make([]byte, 0, len(b)+8)
	count := 0
	for i >= 0 {
		out = append(out, b[:i]...)
		out = append(out, "\uFFFD"...)
		count++
		b = b[i+n:]
		i, n = forbiddenAt(b)
	}
	return append(out, b...), count
}
