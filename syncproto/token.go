package syncproto

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Limits and fixed parts of the token format (see the package documentation).
const (
	// Prefix starts every unbound token: a data: URI (RFC 2397) with no
	// media type, followed by the format version "pv1-".
	Prefix = "data:,pv1-"

	// BoundPrefix starts a token bound to its collection ("pv2-"), the
	// only kind the server hands out.
	BoundPrefix = "data:,pv2-"

	// BindLen is the length of a binding, in lowercase hex digits.
	BindLen = 12

	// MaxEpochLen is the longest epoch identifier, in hex digits.
	MaxEpochLen = 32

	// MaxTokenLen bounds the input Parse looks at. A well-formed token is at
	// most len(BoundPrefix)+MaxEpochLen+1+20+1+BindLen = 76 bytes; anything longer than
	// MaxTokenLen is rejected before it is examined.
	MaxTokenLen = 128
)

// ErrMalformedToken is the sentinel for a sync token that is not exactly in
// the format Format produces. Errors returned by Parse and ParseOrInitial
// wrap it (test with errors.Is); the server answers such a token with 403
// and the DAV:valid-sync-token precondition (RFC 6578 §3.2).
var ErrMalformedToken = errors.New("malformed sync token")

// Token is a parsed sync token: the store's history line (Epoch) and the
// journal sequence of the collection's last change (Seq).
type Token struct {
	Epoch string // 1–MaxEpochLen lowercase hex digits
	Seq   uint64 // journal sequence number
	// Bind names the collection the token was minted for (Bind); "" for
	// an unbound pv1 token, which any collection of the store takes as
	// before (the device library's reconciliation token is one).
	Bind string
}

// Bind is the binding of a collection's tokens: the first BindLen hex
// digits of SHA-256 over the principal and the collection name. It tells a
// token of one collection from another's; it is not a secret.
func Bind(principal, collection string) string {
	h := sha256.Sum256([]byte(principal + "\x00" + collection))
	return hex.EncodeToString(h[:])[:BindLen]
}

// ValidBind reports whether s can be a binding: BindLen lowercase hex digits.
func ValidBind(s string) bool {
	if len(s) != BindLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isLowerHex(s[i]) {
			return false
		}
	}
	return true
}

// Format returns the token as a URI: "data:,pv1-<epoch>-<seq>" when it is
// unbound, "data:,pv2-<epoch>-<seq>-<bind>" when bound, the seq in decimal
// without leading zeros. Format does not validate: a Token whose Epoch
// fails ValidEpoch, or whose Bind is neither "" nor ValidBind, yields a
// string that Parse rejects. For every valid Token t, Parse(Format(t))
// returns t.
func Format(t Token) string {
	var b strings.Builder
	b.Grow(len(Prefix) + len(t.Epoch) + 1 + 20 + 1 + BindLen)
	if t.Bind == "" {
		b.WriteString(Prefix)
	} else {
		b.WriteString(BoundPrefix)
	}
	b.WriteString(t.Epoch)
	b.WriteByte('-')
	b.WriteString(strconv.FormatUint(t.Seq, 10))
	if t.Bind != "" {
		b.WriteByte('-')
		b.WriteString(t.Bind)
	}
	return b.String()
}

// String returns Format(t).
func (t Token) String() string { return Format(t) }

// ValidEpoch reports whether s can be an epoch identifier: 1 to MaxEpochLen
// characters, each in [0-9a-f].
func ValidEpoch(s string) bool {
	if len(s) == 0 || len(s) > MaxEpochLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isLowerHex(s[i]) {
			return false
		}
	}
	return true
}

// Parse parses a token produced by Format. It is strict: exactly one
// accepted spelling exists for each Token, so Format(Parse(s)) == s whenever
// Parse succeeds. It rejects, with an error wrapping ErrMalformedToken:
// input longer than MaxTokenLen; any scheme or version other than Prefix
// (compared case-sensitively); an empty, over-long or non-lowercase-hex
// epoch; a missing, empty, signed, non-decimal, zero-padded or overflowing
// seq; extra dashes; and whitespace anywhere. The empty string is rejected
// too: use ParseOrInitial where "no token" is allowed.
func Parse(s string) (Token, error) {
	if len(s) > MaxTokenLen {
		return Token{}, malformed("longer than %d bytes", MaxTokenLen)
	}
	if s == "" {
		return Token{}, malformed("empty")
	}
	rest, ok := strings.CutPrefix(s, Prefix)
	bind := ""
	if !ok {
		if rest, ok = strings.CutPrefix(s, BoundPrefix); !ok {
			return Token{}, malformed("does not start with %q or %q", Prefix, BoundPrefix)
		}
		i := strings.LastIndexByte(rest, '-')
		if i < 0 || !ValidBind(rest[i+1:]) {
			return Token{}, malformed("no valid collection binding")
		}
		rest, bind = rest[:i], rest[i+1:]
	}
	epoch, seqText, ok := strings.Cut(rest, "-")
	if !ok {
		return Token{}, malformed("no seq after the epoch")
	}
	if epoch == "" {
		return Token{}, malformed("empty epoch")
	}
	if len(epoch) > MaxEpochLen {
		return Token{}, malformed("epoch longer than %d digits", MaxEpochLen)
	}
	if !ValidEpoch(epoch) {
		return Token{}, malformed("epoch is not lowercase hex")
	}
	seq, err := parseSeq(seqText)
	if err != nil {
		return Token{}, err
	}
	return Token{Epoch: epoch, Seq: seq, Bind: bind}, nil
}

// ParseOrInitial is Parse for the value of a DAV:sync-token element, where
// an empty value means the client has no token and asks for an initial
// (full) sync (RFC 6578 §3.2). For "" it returns present=false and a nil
// error; otherwise present=true and Parse's result. The caller trims XML
// whitespace, if it wants to, before calling: tokens themselves never
// contain whitespace.
func ParseOrInitial(s string) (tok Token, present bool, err error) {
	if s == "" {
		return Token{}, false, nil
	}
	tok, err = Parse(s)
	return tok, true, err
}

// parseSeq accepts a decimal uint64 with no sign and no leading zeros ("0"
// itself is allowed).
func parseSeq(s string) (uint64, error) {
	if s == "" {
		return 0, malformed("empty seq")
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			if s[i] == '-' {
				return 0, malformed("extra dash")
			}
			return 0, malformed("seq is not a decimal number")
		}
	}
	if len(s) > 1 && s[0] == '0' {
		return 0, malformed("seq has a leading zero")
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, malformed("seq out of range")
	}
	return n, nil
}

func isLowerHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')
}

// malformed returns an error wrapping ErrMalformedToken with a reason. The
// token itself is not quoted: it is untrusted input.
func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformedToken, fmt.Sprintf(format, args...))
}

// ForeignTo reports whether t cannot be a token of the collection whose
// binding is bind and whose last change is lastSeq: it is bound to another
// collection, or its seq is past that collection's last change (which no
// token of the collection ever is). An unbound pv1 token is judged by its
// seq alone, as before bindings existed. Decide takes the answer as
// Input.Foreign.
func (t Token) ForeignTo(bind string, lastSeq uint64) bool {
	return t.Bind != "" && t.Bind != bind || t.Seq > lastSeq
}
