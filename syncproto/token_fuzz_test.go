package syncproto

import (
	"errors"
	"strconv"
	"strings"
	"testing"
)

// parseSeeds are the fuzz corpus: valid tokens at the edges of the format
// and near misses of each kind the parser rejects.
var parseSeeds = []string{
	"",
	"data:,pv1-0-0",
	"data:,pv1-0123456789abcdef-42",
	"data:,pv1-" + strings.Repeat("f", 32) + "-18446744073709551615",
	"data:,pv1-" + strings.Repeat("f", 33) + "-1",
	"data:,pv1-abc-18446744073709551616",
	"data:,pv1-abc-007",
	"data:,pv1-ABC-7",
	"data:,pv1-abc-+7",
	"data:,pv1-abc-7-8",
	"data:,pv1--7",
	"data:,pv1-abc-",
	"data:,pv1-abc- 7",
	"DATA:,pv1-abc-7",
	"data:,pv2-abc-7",
	"data:,pv2-abc-7-0123456789ab",
	"data:,pv2-" + strings.Repeat("f", 32) + "-18446744073709551615-ffffffffffff",
	"data:,pv2-abc-7-0123456789AB",
	"data:,pv2-abc-7-0123456789a",
	"data:,pv2-abc-7-8-0123456789ab",
	"http://example.com/ns/sync/7",
	"data:,pv1-abc-" + strings.Repeat("9", 120),
}

// FuzzParse checks that Parse never panics, that every error wraps
// ErrMalformedToken, and that an accepted string is the one spelling of its
// token: Format(Parse(s)) == s, with a valid epoch and within the length
// limit.
func FuzzParse(f *testing.F) {
	for _, s := range parseSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tok, err := Parse(s)
		if err != nil {
			if !errors.Is(err, ErrMalformedToken) {
				t.Fatalf("Parse(%q) error %v does not wrap ErrMalformedToken", s, err)
			}
			if tok != (Token{}) {
				t.Fatalf("Parse(%q) returned %+v with an error", s, tok)
			}
			return
		}
		if back := Format(tok); back != s {
			t.Fatalf("Format(Parse(%q)) = %q", s, back)
		}
		if !ValidEpoch(tok.Epoch) {
			t.Fatalf("Parse(%q) accepted epoch %q", s, tok.Epoch)
		}
		if len(s) > MaxTokenLen {
			t.Fatalf("Parse accepted %d bytes", len(s))
		}
		// ParseOrInitial and Classify agree with Parse on non-empty input.
		if got, present, err := ParseOrInitial(s); err != nil || !present || got != tok {
			t.Fatalf("ParseOrInitial(%q) = %+v, %v, %v; Parse gave %+v", s, got, present, err, tok)
		}
		if got, kind := Classify(s); kind != ValidToken || got != tok {
			t.Fatalf("Classify(%q) = %+v, %v; Parse gave %+v", s, got, kind, tok)
		}
	})
}

// FuzzFormat checks the other direction: every token with a valid epoch
// formats to a string that Parse accepts and maps back to the same token.
func FuzzFormat(f *testing.F) {
	f.Add("0", uint64(0))
	f.Add("0123456789abcdef", uint64(42))
	f.Add(strings.Repeat("a", 32), ^uint64(0))
	f.Fuzz(func(t *testing.T, epoch string, seq uint64) {
		tok := Token{Epoch: epoch, Seq: seq}
		s := Format(tok)
		got, err := Parse(s)
		if !ValidEpoch(epoch) {
			if err == nil {
				t.Fatalf("Parse(Format(%+v)) accepted an invalid epoch", tok)
			}
			return
		}
		if err != nil {
			t.Fatalf("Parse(Format(%+v)) = %v", tok, err)
		}
		if got != tok {
			t.Fatalf("Parse(Format(%+v)) = %+v", tok, got)
		}
		if want := Prefix + epoch + "-" + strconv.FormatUint(seq, 10); s != want {
			t.Fatalf("Format(%+v) = %q, want %q", tok, s, want)
		}
	})
}
