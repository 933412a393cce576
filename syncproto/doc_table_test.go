package syncproto

import (
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestArchitectureTokenTable checks every row of the token table in
// docs/ARCHITECTURE.md against Decide, so that the table the operators
// read and the code that answers stay one.
func TestArchitectureTokenTable(t *testing.T) {
	b, err := os.ReadFile("../docs/ARCHITECTURE.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	i := strings.Index(doc, "### The token table")
	if i < 0 {
		t.Fatal("docs/ARCHITECTURE.md has no \"### The token table\" section")
	}
	doc = doc[i+1:]
	if j := strings.Index(doc, "\n##"); j >= 0 {
		doc = doc[:j]
	}
	// The store the examples are read against.
	store := Store{Epoch: "c0", Earlier: map[string]uint64{"e0": 50, "b0": 50}, Head: 100}
	accepted := map[string]bool{"a0": true, "b0": true}
	row := regexp.MustCompile("^\\|[^|]*\\| `([^`]*)` \\| `([a-z-]+)`")
	tokenRe := regexp.MustCompile(`^([0-9a-f]+)-([0-9]+)$`)
	rows := 0
	seen := map[string]bool{}
	for _, line := range strings.Split(doc, "\n") {
		m := row.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		rows++
		example, want := m[1], m[2]
		fields := strings.Fields(example)
		in := Input{Store: store, HistoryStart: 10, Accepted: accepted}
		switch fields[0] {
		case "none":
			in.Kind = NoToken
		case "bad":
			in.Kind = MalformedToken
		default:
			tm := tokenRe.FindStringSubmatch(fields[0])
			if tm == nil {
				t.Fatalf("row %q: example %q is not <epoch>-<seq>", line, example)
			}
			seq, _ := strconv.ParseUint(tm[2], 10, 64)
			in.Kind, in.Token = ValidToken, Token{Epoch: tm[1], Seq: seq}
		}
		for _, f := range fields[1:] {
			switch f {
			case "foreign":
				in.Foreign = true
			case "device":
				in.Accepted = nil
			default:
				t.Fatalf("row %q: unknown marker %q", line, f)
			}
		}
		got := Decide(in)
		seen[got.Decision.String()] = true
		if got.Decision.String() != want {
			t.Errorf("docs/ARCHITECTURE.md says %s → %s; Decide answers %s (%s)", example, want, got.Decision, got.Reason)
		}
	}
	if rows < 15 {
		t.Fatalf("the token table has %d example rows; it must cover sequence 0, foreign sequences and accepted epochs", rows)
	}
	for _, d := range []string{"initial", "incremental", "token-too-old", "malformed", "recovering"} {
		if !seen[d] {
			t.Errorf("no row of the token table answers %s", d)
		}
	}
}
