package admit

import (
	"context"
	"testing"
	"time"
)

// FuzzGate drives a gate with a random program of acquires (non-blocking:
// a context that is already done, so a waiter is refused at once) and
// releases, and checks the invariants after every step: holders within the
// limits, nothing left waiting, per-account counts matching the tickets,
// and an empty gate once everything is released.
func FuzzGate(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 0x80, 0x81, 4, 5, 0xff}, uint8(2), uint8(1))
	f.Add([]byte{0, 0, 0, 0, 0x80, 0x80, 0x80, 0x80}, uint8(1), uint8(0))
	f.Add([]byte{7, 7, 7, 0x87, 7, 0x87, 9, 9}, uint8(3), uint8(2))
	f.Fuzz(func(t *testing.T, prog []byte, limit, per uint8) {
		if len(prog) > 4096 {
			return
		}
		g := NewGate(Config{Limit: int(limit%8) + 1, PerAccount: int(per % 4), Queue: 4, Wait: time.Millisecond})
		done, cancel := context.WithCancel(context.Background())
		cancel()
		var held []*Ticket
		count := map[string]int{}
		for _, op := range prog {
			acct := string(rune('a' + op&7))
			if op&8 != 0 {
				acct = ""
			}
			if op&0x80 == 0 {
				tk, err := g.Acquire(done, Priority(op>>4&1), acct)
				if err != nil {
					if b, ok := err.(*Busy); !ok || b.Seconds() < 1 {
						t.Fatalf("refusal %v", err)
					}
					continue
				}
				held = append(held, tk)
				count[acct]++
			} else if len(held) > 0 {
				i := int(op) % len(held)
				held[i].Release()
				held[i].Release()
				count[held[i].account]--
				held = append(held[:i], held[i+1:]...)
			}
			s := g.Stats()
			if s.Running != len(held) || s.Running > g.cfg.Limit || s.Waiting != 0 {
				t.Fatalf("stats %+v with %d held", s, len(held))
			}
			for a, n := range count {
				if a != "" && g.cfg.PerAccount > 0 && n > g.cfg.PerAccount {
					t.Fatalf("account %q holds %d, limit %d", a, n, g.cfg.PerAccount)
				}
			}
		}
		for _, tk := range held {
			tk.Release()
		}
		if s := g.Stats(); s != (Stats{}) {
			t.Fatalf("after releasing all: %+v", s)
		}
	})
}
