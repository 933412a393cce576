package storage

// The model of TestCrashRecovery (crash_test.go): the state each writer's
// names must hold, built from the child's "start" and "ack" events, against
// which the reopened store is checked after every kill.

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// crashKey is one object: a collection and a name.
type crashKey struct{ col, name string }

func (k crashKey) String() string { return k.col + "/" + k.name }

// crashState is what a writer's names hold: the seed of each present body.
type crashState map[crashKey]uint64

func (st crashState) String() string {
	keys := slices.SortedFunc(maps.Keys(st), func(a, b crashKey) int {
		return cmp.Or(strings.Compare(a.col, b.col), strings.Compare(a.name, b.name))
	})
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%v=%x", k, st[k])
	}
	return "{" + strings.Join(parts, " ") + "}"
}

// crashEvent is one line the child writes.
type crashEvent struct {
	Ev     string `json:"ev"` // ready, start, ack, fail
	ID     uint64 `json:"id,omitempty"`
	Writer int    `json:"w"`
	Op     string `json:"op,omitempty"` // put, delete, move
	Col    string `json:"col,omitempty"`
	Name   string `json:"name,omitempty"`
	ToCol  string `json:"to_col,omitempty"`
	ToName string `json:"to_name,omitempty"`
	Seed   uint64 `json:"seed,omitempty"` // put: the body is crashBody(Seed)
	ETag   string `json:"etag,omitempty"` // start: the put body's or the If-Match ETag; ack: Result.ETag
	Seq    uint64 `json:"seq,omitempty"`  // ack: Result.Seq; ready: Head()
	NoOp   bool   `json:"noop,omitempty"`
	Err    string `json:"err,omitempty"`
}

func (ev *crashEvent) String() string {
	switch ev.Op {
	case "put":
		return fmt.Sprintf("op %x: put %s/%s seed %x", ev.ID, ev.Col, ev.Name, ev.Seed)
	case "move":
		return fmt.Sprintf("op %x: move %s/%s to %s/%s", ev.ID, ev.Col, ev.Name, ev.ToCol, ev.ToName)
	}
	return fmt.Sprintf("op %x: %s %s/%s", ev.ID, ev.Op, ev.Col, ev.Name)
}

// applyTo returns st with the change of a start event made.
func (ev *crashEvent) applyTo(st crashState) crashState {
	out := maps.Clone(st)
	if out == nil {
		out = crashState{}
	}
	from := crashKey{ev.Col, ev.Name}
	switch ev.Op {
	case "put":
		out[from] = ev.Seed
	case "delete":
		delete(out, from)
	case "move":
		out[crashKey{ev.ToCol, ev.ToName}] = out[from]
		delete(out, from)
	}
	return out
}

// crashModel is the parent's view: per writer, the state after its last
// acknowledged change and the change it has in flight.
type crashModel struct {
	state    [crashWriters]crashState
	pending  [crashWriters]*crashEvent
	etagSeed map[string]uint64 // every body a started put could have written
	acked    map[uint64]uint64 // sequence → op id of each acknowledged change
	maxAcked uint64            // highest acknowledged sequence, all rounds
}

func newCrashModel() *crashModel {
	m := &crashModel{etagSeed: map[string]uint64{}, acked: map[uint64]uint64{}}
	for w := range m.state {
		m.state[w] = crashState{}
	}
	return m
}

func (m *crashModel) start(ev *crashEvent) error {
	if ev.Writer < 0 || ev.Writer >= crashWriters {
		return fmt.Errorf("start of unknown writer %d", ev.Writer)
	}
	if p := m.pending[ev.Writer]; p != nil {
		return fmt.Errorf("writer %d started %v while %v was not acknowledged", ev.Writer, ev, p)
	}
	st := m.state[ev.Writer]
	switch ev.Op {
	case "put":
		if want := crashETag(ev.Seed); ev.ETag != want {
			return fmt.Errorf("%v: child says etag %s, want %s", ev, ev.ETag, want)
		}
		m.etagSeed[ev.ETag] = ev.Seed
	case "delete", "move":
		if cur := st[crashKey{ev.Col, ev.Name}]; cur == 0 || crashETag(cur) != ev.ETag {
			return fmt.Errorf("%v with If-Match %s, but the parent's model has seed %x there", ev, ev.ETag, cur)
		}
	default:
		return fmt.Errorf("%v: unknown operation", ev)
	}
	m.pending[ev.Writer] = ev
	return nil
}

func (m *crashModel) ack(ev *crashEvent) error {
	if ev.Writer < 0 || ev.Writer >= crashWriters {
		return fmt.Errorf("ack of unknown writer %d", ev.Writer)
	}
	p := m.pending[ev.Writer]
	if p == nil || p.ID != ev.ID {
		return fmt.Errorf("writer %d: ack of op %x, which is not the one in flight (%v)", ev.Writer, ev.ID, p)
	}
	wantNoOp := p.Op == "put" && m.state[ev.Writer][crashKey{p.Col, p.Name}] == p.Seed
	if ev.NoOp != wantNoOp {
		return fmt.Errorf("%v: result no-op %v, want %v", p, ev.NoOp, wantNoOp)
	}
	if p.Op != "delete" && ev.ETag != p.ETag {
		return fmt.Errorf("%v: result etag %s, want %s", p, ev.ETag, p.ETag)
	}
	if !ev.NoOp {
		if ev.Seq == 0 {
			return fmt.Errorf("%v: acknowledged with sequence 0", p)
		}
		if other, dup := m.acked[ev.Seq]; dup {
			return fmt.Errorf("%v: acknowledged with sequence %d, which op %x was acknowledged with before", p, ev.Seq, other)
		}
		m.acked[ev.Seq] = ev.ID
		m.maxAcked = max(m.maxAcked, ev.Seq)
	}
	m.state[ev.Writer] = p.applyTo(m.state[ev.Writer])
	m.pending[ev.Writer] = nil
	return nil
}
