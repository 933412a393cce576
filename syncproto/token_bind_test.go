package syncproto

import (
	"errors"
	"testing"
)

// TestBoundTokens: a bound token round-trips, names its collection, and is
// foreign to any other; an unbound one is judged by its seq alone.
func TestBoundTokens(t *testing.T) {
	b := Bind("alice", "contacts")
	if !ValidBind(b) || b == Bind("bob", "contacts") || b == Bind("alice", "work") || b == Bind("alicec", "ontacts") {
		t.Fatalf("bindings do not tell collections apart: %s", b)
	}
	tok := Token{Epoch: "ab12", Seq: 42, Bind: b}
	s := Format(tok)
	if s != "data:,pv2-ab12-42-"+b {
		t.Fatalf("Format = %q", s)
	}
	got, err := Parse(s)
	if err != nil || got != tok {
		t.Fatalf("Parse(%q) = %+v, %v", s, got, err)
	}
	if tok.ForeignTo(b, 42) || !tok.ForeignTo(Bind("bob", "contacts"), 42) || !tok.ForeignTo(b, 41) {
		t.Fatal("ForeignTo misjudges a bound token")
	}
	old := Token{Epoch: "ab12", Seq: 42}
	if old.ForeignTo(b, 42) || old.ForeignTo(Bind("bob", "x"), 50) || !old.ForeignTo(b, 41) {
		t.Fatal("ForeignTo misjudges an unbound token")
	}
	for _, bad := range []string{
		"data:,pv2-ab12-42", "data:,pv2-ab12-42-", "data:,pv2-ab12-42-" + b[:11], "data:,pv2-ab12-42-" + b + "0",
		"data:,pv2-ab12-42-ABCDEF123456", "data:,pv2-ab12-042-" + b, "data:,pv1-ab12-42-" + b, "data:,pv2-ab12--" + b,
	} {
		if _, err := Parse(bad); !errors.Is(err, ErrMalformedToken) {
			t.Errorf("Parse(%q) accepted", bad)
		}
	}
}
