package syncproto

import (
	"errors"
	"math"
	"strings"
	"testing"
)

func TestFormat(t *testing.T) {
	tests := []struct {
		name string
		tok  Token
		want string
	}{
		{"zero seq", Token{Epoch: "a", Seq: 0}, "data:,pv1-a-0"},
		{"store epoch", Token{Epoch: "0123456789abcdef", Seq: 42}, "data:,pv1-0123456789abcdef-42"},
		{"max epoch and seq", Token{Epoch: strings.Repeat("f", 32), Seq: math.MaxUint64},
			"data:,pv1-ffffffffffffffffffffffffffffffff-18446744073709551615"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Format(tt.tok); got != tt.want {
				t.Errorf("Format(%+v) = %q, want %q", tt.tok, got, tt.want)
			}
			if got := tt.tok.String(); got != tt.want {
				t.Errorf("String() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestParseValid(t *testing.T) {
	tests := []struct {
		in   string
		want Token
	}{
		{"data:,pv1-0-0", Token{Epoch: "0", Seq: 0}},
		{"data:,pv1-a-1", Token{Epoch: "a", Seq: 1}},
		{"data:,pv1-0123456789abcdef-42", Token{Epoch: "0123456789abcdef", Seq: 42}},
		{"data:,pv1-00-10", Token{Epoch: "00", Seq: 10}}, // epochs may start with 0
		{"data:,pv1-" + strings.Repeat("e", 32) + "-7", Token{Epoch: strings.Repeat("e", 32), Seq: 7}},
		{"data:,pv1-abc-18446744073709551615", Token{Epoch: "abc", Seq: math.MaxUint64}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := Parse(tt.in)
			if err != nil {
				t.Fatalf("Parse(%q) error %v, want %+v", tt.in, err, tt.want)
			}
			if got != tt.want {
				t.Errorf("Parse(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
			if back := Format(got); back != tt.in {
				t.Errorf("Format(Parse(%q)) = %q", tt.in, back)
			}
		})
	}
}

func TestParseInvalid(t *testing.T) {
	tests := []struct {
		name, in string
	}{
		{"empty", ""},
		{"prefix only", "data:,pv1-"},
		{"no seq", "data:,pv1-abc"},
		{"empty epoch", "data:,pv1--5"},
		{"empty seq", "data:,pv1-abc-"},
		{"uppercase hex", "data:,pv1-ABC-5"},
		{"mixed case hex", "data:,pv1-aBc-5"},
		{"non-hex epoch", "data:,pv1-xyz-5"},
		{"epoch 33 digits", "data:,pv1-" + strings.Repeat("a", 33) + "-5"},
		{"leading zero seq", "data:,pv1-abc-05"},
		{"double zero seq", "data:,pv1-abc-00"},
		{"plus sign", "data:,pv1-abc-+5"},
		{"minus sign", "data:,pv1-abc--5"},
		{"extra dash", "data:,pv1-abc-5-6"},
		{"trailing dash", "data:,pv1-abc-5-"},
		{"overflow", "data:,pv1-abc-18446744073709551616"},
		{"huge seq", "data:,pv1-abc-99999999999999999999999"},
		{"hex seq", "data:,pv1-abc-0x10"},
		{"underscore seq", "data:,pv1-abc-1_000"},
		{"decimal point", "data:,pv1-abc-1.0"},
		{"leading space", " data:,pv1-abc-5"},
		{"trailing space", "data:,pv1-abc-5 "},
		{"trailing newline", "data:,pv1-abc-5\n"},
		{"space in epoch", "data:,pv1-ab c-5"},
		{"tab in seq", "data:,pv1-abc-\t5"},
		{"uppercase scheme", "DATA:,pv1-abc-5"},
		{"other scheme", "http://example.com/sync/5"},
		{"other version", "data:,pv2-abc-5"},
		{"missing comma", "data:pv1-abc-5"},
		{"media type", "data:text/plain,pv1-abc-5"},
		{"other server token", "http://modsync.example/ns/sync/1234"},
		{"NUL byte", "data:,pv1-abc-5\x00"},
		{"non-ASCII digit", "data:,pv1-abc-٥"},
		{"over-long", "data:,pv1-abc-" + strings.Repeat("1", 200)},
		{"129 bytes", "data:,pv1-abc-1" + strings.Repeat("0", 129-len("data:,pv1-abc-1"))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.in)
			if err == nil {
				t.Fatalf("Parse(%q) = %+v, want ErrMalformedToken", tt.in, got)
			}
			if !errors.Is(err, ErrMalformedToken) {
				t.Errorf("Parse(%q) error %v, want one wrapping ErrMalformedToken", tt.in, err)
			}
			if got != (Token{}) {
				t.Errorf("Parse(%q) returned %+v with an error, want the zero Token", tt.in, got)
			}
		})
	}
}

func TestParseOrInitial(t *testing.T) {
	tests := []struct {
		name        string
		in          string
		wantTok     Token
		wantPresent bool
		wantErr     bool
	}{
		{"empty is initial", "", Token{}, false, false},
		{"valid", "data:,pv1-ab-3", Token{Epoch: "ab", Seq: 3}, true, false},
		{"space is not empty", " ", Token{}, true, true},
		{"malformed", "data:,pv1-AB-3", Token{}, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok, present, err := ParseOrInitial(tt.in)
			if tok != tt.wantTok || present != tt.wantPresent || (err != nil) != tt.wantErr {
				t.Errorf("ParseOrInitial(%q) = %+v, %v, %v; want %+v, %v, error %v",
					tt.in, tok, present, err, tt.wantTok, tt.wantPresent, tt.wantErr)
			}
			if err != nil && !errors.Is(err, ErrMalformedToken) {
				t.Errorf("error %v does not wrap ErrMalformedToken", err)
			}
		})
	}
}

func TestValidEpoch(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"", false},
		{"0", true},
		{"deadbeef", true},
		{strings.Repeat("9", 32), true},
		{strings.Repeat("9", 33), false},
		{"DEADBEEF", false},
		{"g", false},
		{"a-b", false},
	}
	for _, tt := range tests {
		if got := ValidEpoch(tt.in); got != tt.want {
			t.Errorf("ValidEpoch(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		in       string
		wantTok  Token
		wantKind TokenKind
	}{
		{"", Token{}, NoToken},
		{"data:,pv1-f-9", Token{Epoch: "f", Seq: 9}, ValidToken},
		{"data:,pv1-f-09", Token{}, MalformedToken},
		{"garbage", Token{}, MalformedToken},
	}
	for _, tt := range tests {
		tok, kind := Classify(tt.in)
		if tok != tt.wantTok || kind != tt.wantKind {
			t.Errorf("Classify(%q) = %+v, %v; want %+v, %v", tt.in, tok, kind, tt.wantTok, tt.wantKind)
		}
	}
}

// TestParseLengthLimit checks that input past MaxTokenLen is refused for its
// length, before anything else is examined.
func TestParseLengthLimit(t *testing.T) {
	long := "data:,pv1-abc-1" + strings.Repeat("0", MaxTokenLen+1-len("data:,pv1-abc-1"))
	if len(long) != MaxTokenLen+1 {
		t.Fatalf("test input is %d bytes", len(long))
	}
	_, err := Parse(long)
	if err == nil || !errors.Is(err, ErrMalformedToken) || !strings.Contains(err.Error(), "longer than 128 bytes") {
		t.Errorf("Parse(%d bytes) error %v, want a length error wrapping ErrMalformedToken", len(long), err)
	}
	atLimit := long[:MaxTokenLen]
	if _, err := Parse(atLimit); err == nil || strings.Contains(err.Error(), "longer than") {
		t.Errorf("Parse(%d bytes) error %v, want a non-length error", len(atLimit), err)
	}
}
