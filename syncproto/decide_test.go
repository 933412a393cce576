package syncproto

import (
	"math"
	"testing"
)

// The store used by most cases: current epoch "c0" at head 100; earlier
// epoch "b0" continued up to seq 80, "a0" up to 50, and "e0" (a line the
// current one did not continue at all) up to 0. The collection's history
// starts at 20.
const (
	cur          = "c0"
	head         = 100
	historyStart = 20
	forkB        = 80
)

func testStore() Store {
	return Store{Epoch: cur, Earlier: map[string]uint64{"b0": forkB, "a0": 50, "e0": 0}, Head: head}
}

func valid(epoch string, seq uint64) Input {
	return Input{Kind: ValidToken, Token: Token{Epoch: epoch, Seq: seq}, Store: testStore(), HistoryStart: historyStart}
}

func foreign(in Input) Input { in.Foreign = true; return in }

func withStore(in Input, f func(*Store)) Input {
	s := testStore()
	f(&s)
	in.Store = s
	return in
}

func TestDecide(t *testing.T) {
	tests := []struct {
		name      string
		in        Input
		want      Decision
		wantSince uint64
	}{
		// Row 2: no token.
		{"no token", Input{Kind: NoToken, Store: testStore(), HistoryStart: historyStart}, Initial, 0},
		{"no token ignores a leftover token", Input{Kind: NoToken, Token: Token{Epoch: "ff", Seq: 999}, Store: testStore()}, Initial, 0},
		// Row 3: malformed.
		{"malformed", Input{Kind: MalformedToken, Store: testStore()}, Malformed, 0},

		// Row 7: current epoch within history.
		{"current mid history", valid(cur, 50), Incremental, 50},
		{"current seq == head", valid(cur, head), Incremental, head},
		{"current seq == history start", valid(cur, historyStart), Incremental, historyStart},
		{"current history start == head", func() Input { in := valid(cur, head); in.HistoryStart = head; return in }(), Incremental, head},
		{"current empty history, seq 0", withStore(func() Input { in := valid(cur, 0); in.HistoryStart = 0; return in }(),
			func(s *Store) { s.Head = 0; s.Earlier = nil }), Incremental, 0},
		// Row 6: current epoch, too old.
		{"current seq == history start-1", valid(cur, historyStart-1), TokenTooOld, 0},
		// Row 6: current epoch, seq 0: the whole history with tombstones.
		{"current seq 0", valid(cur, 0), Incremental, 0},
		{"current seq 0 is never foreign", foreign(valid(cur, 0)), Incremental, 0},
		// Row 4: ahead of head.
		{"current seq == head+1", valid(cur, head+1), Recovering, 0},
		{"current seq max", valid(cur, math.MaxUint64), Recovering, 0},
		// Row 5: another collection's.
		{"current foreign", foreign(valid(cur, 50)), Malformed, 0},
		{"current foreign and too old", foreign(valid(cur, 1)), Malformed, 0},
		{"current foreign ahead of head is recovering", foreign(valid(cur, head+1)), Recovering, 0},

		// Row 11: earlier epoch, contained.
		{"earlier seq == fork", valid("b0", forkB), Incremental, forkB},
		{"earlier seq == history start", valid("b0", historyStart), Incremental, historyStart},
		{"other earlier seq == its fork", valid("a0", 50), Incremental, 50},
		// Row 10: earlier epoch, contained but too old.
		{"earlier seq == history start-1", valid("b0", historyStart-1), TokenTooOld, 0},
		{"earlier seq 0", valid("b0", 0), TokenTooOld, 0},
		// Row 8: earlier epoch past its fork.
		{"earlier seq == fork+1", valid("b0", forkB+1), Recovering, 0},
		{"other earlier past its fork, below head", valid("a0", 51), Recovering, 0},
		{"earlier seq == head", valid("b0", head), Recovering, 0},
		{"earlier seq > head", valid("b0", head+1), Recovering, 0},
		{"unrelated line seq 1", valid("e0", 1), Recovering, 0},
		{"unrelated line seq 0, history from 0",
			func() Input { in := valid("e0", 0); in.HistoryStart = 0; return in }(), Incremental, 0},
		// Row 9: earlier epoch, another collection's.
		{"earlier foreign within fork", foreign(valid("b0", 50)), Malformed, 0},
		{"earlier foreign past fork is recovering", foreign(valid("b0", forkB+1)), Recovering, 0},

		// Row 12: unknown epoch.
		{"unknown epoch", valid("dd", 5), Recovering, 0},
		{"unknown epoch seq 0", valid("dd", 0), Recovering, 0},
		{"unknown epoch that prefixes the current", valid("c", 5), Recovering, 0},
		{"unknown epoch foreign", foreign(valid("dd", 5)), Recovering, 0},
		{"unknown epoch, no earlier epochs", withStore(valid("b0", 5), func(s *Store) { s.Earlier = nil }), Recovering, 0},

		// Row 1: inconsistent input.
		{"kind not set", Input{Token: Token{Epoch: cur, Seq: 50}, Store: testStore(), HistoryStart: historyStart}, Recovering, 0},
		{"kind out of range", func() Input { in := valid(cur, 50); in.Kind = 9; return in }(), Recovering, 0},
		{"no current epoch", withStore(valid(cur, 50), func(s *Store) { s.Epoch = "" }), Recovering, 0},
		{"no current epoch, no token", withStore(Input{Kind: NoToken}, func(s *Store) { s.Epoch = "" }), Recovering, 0},
		{"invalid current epoch", withStore(valid("C0", 50), func(s *Store) { s.Epoch = "C0" }), Recovering, 0},
		{"current listed as earlier", withStore(valid(cur, 50), func(s *Store) { s.Earlier[cur] = 10 }), Recovering, 0},
		{"invalid earlier epoch", withStore(valid(cur, 50), func(s *Store) { s.Earlier["X"] = 10 }), Recovering, 0},
		{"fork past head", withStore(valid(cur, 50), func(s *Store) { s.Earlier["b0"] = head + 1 }), Recovering, 0},
		{"history start past head", func() Input { in := valid(cur, head); in.HistoryStart = head + 1; return in }(), Recovering, 0},
		{"history start past head, malformed token",
			Input{Kind: MalformedToken, Store: testStore(), HistoryStart: head + 1}, Recovering, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Decide(tt.in)
			if got.Decision != tt.want || got.Since != tt.wantSince {
				t.Errorf("Decide(%+v) = %v since %d (%s), want %v since %d",
					tt.in, got.Decision, got.Since, got.Reason, tt.want, tt.wantSince)
			}
			if got.Reason == "" {
				t.Errorf("Decide(%+v) gave no reason", tt.in)
			}
		})
	}
}

// TestDecideNeverValidSyncTokenWhenBehind sweeps every seq around the
// interesting boundaries for every epoch and checks invariant 4 directly: a
// token that is past the head, or past its epoch's fork, or from an unknown
// epoch is always Recovering, even when the caller calls it foreign.
func TestDecideNeverValidSyncTokenWhenBehind(t *testing.T) {
	store := testStore()
	for _, epoch := range []string{cur, "a0", "b0", "e0", "dd"} {
		for seq := uint64(0); seq <= head+2; seq++ {
			for _, isForeign := range []bool{false, true} {
				in := valid(epoch, seq)
				in.Foreign = isForeign
				got := Decide(in).Decision
				fork, known := store.Earlier[epoch]
				behind := seq > head || (epoch != cur && (!known || seq > fork))
				if behind && got != Recovering {
					t.Errorf("epoch %s seq %d foreign %v: got %v, want recovering", epoch, seq, isForeign, got)
				}
				if !behind && got == Recovering {
					t.Errorf("epoch %s seq %d foreign %v: got recovering for a token the store covers", epoch, seq, isForeign)
				}
				fullHistory := epoch == cur && seq == 0
				if got == Incremental && (seq < historyStart || isForeign) && !fullHistory {
					t.Errorf("epoch %s seq %d foreign %v: incremental outside the kept history", epoch, seq, isForeign)
				}
			}
		}
	}
}

// TestDecideAccepted: once a closed recovery accepted an epoch's loss, its
// tokens that show the loss are TokenTooOld, never Recovering again, while
// its tokens within the fork stay incremental and other epochs are judged
// as before.
func TestDecideAccepted(t *testing.T) {
	acc := func(in Input, epochs ...string) Input {
		in.Accepted = map[string]bool{}
		for _, e := range epochs {
			in.Accepted[e] = true
		}
		return in
	}
	tests := []struct {
		name      string
		in        Input
		want      Decision
		wantSince uint64
	}{
		{"accepted unknown epoch", acc(valid("dd", 5), "dd"), TokenTooOld, 0},
		{"accepted unknown epoch ahead of head", acc(valid("dd", math.MaxUint64), "dd"), TokenTooOld, 0},
		{"accepted earlier epoch past its fork", acc(valid("b0", forkB+1), "b0"), TokenTooOld, 0},
		{"accepted earlier epoch ahead of head", acc(valid("b0", head+50), "b0"), TokenTooOld, 0},
		{"accepted earlier epoch within its fork stays incremental", acc(valid("b0", 50), "b0"), Incremental, 50},
		{"accepting the current epoch changes nothing", acc(valid(cur, head+1), cur), Recovering, 0},
		{"another epoch accepted", acc(valid("dd", 5), "ee"), Recovering, 0},
		{"accepted, malformed token", acc(Input{Kind: MalformedToken, Store: testStore()}, "dd"), Malformed, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Decide(tt.in)
			if got.Decision != tt.want || got.Since != tt.wantSince {
				t.Errorf("Decide(%+v) = %v since %d (%s), want %v since %d", tt.in, got.Decision, got.Since, got.Reason, tt.want, tt.wantSince)
			}
		})
	}
}

func TestStoreValidate(t *testing.T) {
	if err := testStore().Validate(); err != nil {
		t.Errorf("Validate() = %v for a consistent store", err)
	}
	if err := (Store{Epoch: "1", Head: 0}).Validate(); err != nil {
		t.Errorf("Validate() = %v for a new store", err)
	}
	if err := (Store{}).Validate(); err == nil {
		t.Error("Validate() = nil for the zero Store, want an error")
	}
}

func TestDecisionString(t *testing.T) {
	tests := []struct {
		d    Decision
		want string
	}{
		{Initial, "initial"}, {Incremental, "incremental"}, {TokenTooOld, "token-too-old"},
		{Malformed, "malformed"}, {Recovering, "recovering"}, {0, "Decision(0)"}, {42, "Decision(42)"},
	}
	for _, tt := range tests {
		if got := tt.d.String(); got != tt.want {
			t.Errorf("Decision(%d).String() = %q, want %q", tt.d, got, tt.want)
		}
	}
}
