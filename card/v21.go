package card

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"mime/quotedprintable"
	"strings"
	"unicode/utf8"
)

// upgrade21 rewrites a vCard 2.1 (the versit format old phones and their sync
// tools still send) as vCard 3.0 (RFC 2426), which RFC 6352 §5.1 asks an
// address object to be and which CardDAV clients read:
//   - VERSION:2.1 becomes VERSION:3.0;
//   - bare type parameters (TEL;CELL;PREF) become TYPE=CELL,PREF;
//   - quoted-printable values (with their soft line breaks) are decoded, and
//     a CHARSET of UTF-8, US-ASCII or ISO-8859-1 converted to UTF-8 (another
//     charset is refused, never guessed); line breaks in a value become \n;
//   - ENCODING=BASE64 becomes ENCODING=b;
//   - a missing FN is made from N, and a missing UID from a hash of the body
//     as sent (the same card sent twice gets the same UID).
//
// It returns the new body, with the line endings of the one sent, and what it
// changed. Everything else is kept as it was.
func upgrade21(body []byte) ([]byte, []string, error) {
	eol := "\n"
	if bytes.Contains(body, []byte("\r\n")) {
		eol = "\r\n"
	}
	lines := logicalLines21(body)
	var out []string
	var fixed []string
	hasFN, hasUID := false, false
	var n string
	for _, l := range lines {
		name, params, value, ok := splitLine21(l)
		if !ok {
			out = append(out, l)
			continue
		}
		upper := strings.ToUpper(name)
		var keep []string
		var types []string
		qp, charset := false, ""
		for _, p := range params {
			k, v, hasEq := strings.Cut(p, "=")
			switch ku := strings.ToUpper(k); {
			case !hasEq:
				types = append(types, p)
			case ku == "ENCODING" && strings.EqualFold(v, "QUOTED-PRINTABLE"):
				qp = true
			case ku == "ENCODING" && strings.EqualFold(v, "BASE64"):
				keep = append(keep, "ENCODING=b")
			case ku == "CHARSET":
				charset = strings.ToUpper(v)
			case ku == "TYPE":
				types = append(types, v)
			default:
				keep = append(keep, p)
			}
		}
		if len(types) > 0 {
			keep = append(keep, "TYPE="+strings.Join(types, ","))
		}
		if qp {
			dec, err := io.ReadAll(quotedprintable.NewReader(strings.NewReader(value)))
			if err != nil {
				return nil, nil, fail(ErrInvalidData, "vCard 2.1 %s: quoted-printable value does not decode: %v", name, err)
			}
			value = string(dec)
		}
		switch charset {
		case "", "UTF-8", "US-ASCII":
		case "ISO-8859-1", "LATIN1", "WINDOWS-1252":
			value = latin1ToUTF8(value)
		default:
			return nil, nil, fail(ErrUnsupportedVersion, "vCard 2.1 %s: CHARSET=%s is not supported (UTF-8, US-ASCII and ISO-8859-1 are)", name, charset)
		}
		if !utf8.ValidString(value) {
			return nil, nil, fail(ErrInvalidData, "vCard 2.1 %s: value is not UTF-8", name)
		}
		value = strings.ReplaceAll(strings.ReplaceAll(value, "\r\n", "\n"), "\n", `\n`)
		switch upper {
		case "VERSION":
			value = "3.0"
		case "FN":
			hasFN = true
		case "UID":
			hasUID = value != ""
		case "N":
			n = value
		}
		out = append(out, strings.Join(append([]string{name}, keep...), ";")+":"+value)
	}
	fixed = append(fixed, "vCard 2.1 rewritten as 3.0")
	insert := func(line, why string) {
		// Before END:VCARD.
		for i := len(out) - 1; i >= 0; i-- {
			if strings.EqualFold(strings.TrimSpace(out[i]), "END:VCARD") {
				out = append(out[:i], append([]string{line}, out[i:]...)...)
				fixed = append(fixed, why)
				return
			}
		}
	}
	if !hasFN {
		parts := strings.Split(n, ";")
		var name []string
		for _, i := range []int{3, 1, 2, 0, 4} { // prefix, given, additional, family, suffix
			if i < len(parts) && parts[i] != "" {
				name = append(name, parts[i])
			}
		}
		insert("FN:"+strings.Join(name, " "), "added FN from N")
	}
	if !hasUID {
		h := sha256.Sum256(body)
		insert("UID:"+hex.EncodeToString(h[:16]), fixAddedUID)
	}
	return []byte(strings.Join(out, eol) + eol), fixed, nil
}

// fixAddedUID is the Fixed entry of a UID made from the body's hash.
const fixAddedUID = "added a UID"

// logicalLines21 unfolds a vCard 2.1 body: a line starting with a space or tab
// continues the one before (the space removed), and so does the line after a
// quoted-printable value ending in '=' (a soft line break, kept for the
// decoder).
func logicalLines21(body []byte) []string {
	phys := strings.Split(strings.ReplaceAll(string(body), "\r\n", "\n"), "\n")
	var out []string
	for _, p := range phys {
		if len(out) > 0 {
			last := out[len(out)-1]
			switch {
			case strings.HasSuffix(last, "=") && isQP21(last):
				out[len(out)-1] = last + "\r\n" + p
				continue
			case p != "" && (p[0] == ' ' || p[0] == '\t'):
				out[len(out)-1] = last + p[1:]
				continue
			}
		}
		if p != "" {
			out = append(out, p)
		}
	}
	return out
}

func isQP21(line string) bool {
	head, _, ok := strings.Cut(line, ":")
	return ok && strings.Contains(strings.ToUpper(head), "QUOTED-PRINTABLE")
}

// splitLine21 splits "NAME;P1;P2=V:value" (a group prefix stays in the name).
func splitLine21(l string) (name string, params []string, value string, ok bool) {
	head, value, ok := strings.Cut(l, ":")
	if !ok {
		return "", nil, "", false
	}
	parts := strings.Split(head, ";")
	return parts[0], parts[1:], value, true
}

func latin1ToUTF8(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		b.WriteRune(rune(s[i]))
	}
	return b.String()
}
