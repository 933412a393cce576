package syncproto

import "testing"

func TestDeletedSince(t *testing.T) {
	const cur, old, lost = "cc", "aa", "ff"
	s := Store{Epoch: cur, Earlier: map[string]uint64{old: 40}, Head: 100}
	cases := []struct {
		name    string
		tok     Token
		deleted uint64
		s       Store
		want    bool
	}{
		{"current epoch, synced before the deletion", Token{Epoch: cur, Seq: 50}, 60, s, true},
		{"current epoch, seq 0", Token{Epoch: cur, Seq: 0}, 60, s, true},
		{"current epoch, synced at the deletion", Token{Epoch: cur, Seq: 60}, 60, s, false},
		{"current epoch, synced after (a later incarnation)", Token{Epoch: cur, Seq: 70}, 60, s, false},
		{"earlier epoch within its fork", Token{Epoch: old, Seq: 30}, 60, s, true},
		{"earlier epoch past its fork: lost history", Token{Epoch: old, Seq: 50}, 60, s, false},
		{"unknown epoch: a store rebuilt from nothing", Token{Epoch: lost, Seq: 5}, 60, s, false},
		{"token ahead of head", Token{Epoch: cur, Seq: 150}, 60, s, false},
		{"no deletion", Token{Epoch: cur, Seq: 50}, 0, s, false},
		{"deletion past head: inconsistent", Token{Epoch: cur, Seq: 50}, 200, s, false},
		{"inconsistent store", Token{Epoch: cur, Seq: 50}, 60, Store{Epoch: "", Head: 100}, false},
	}
	for _, c := range cases {
		if got := DeletedSince(c.tok, c.deleted, c.s); got != c.want {
			t.Errorf("%s: DeletedSince(%v, %d) = %v, want %v", c.name, c.tok, c.deleted, got, c.want)
		}
	}
}
