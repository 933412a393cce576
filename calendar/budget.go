package calendar

import (
	"context"
	"fmt"
)

// Work limits. A unit of work is one recurrence period, candidate day or time, or
// recurrence value a generator or an expansion steps through: a few tens of nanoseconds.
const (
	// MaxWork bounds the recurrence work for one object in one query (Match, Expand,
	// ExpandText, FreeBusy) and for computing its span at Parse.
	MaxWork = 2_000_000
	// maxWorkPerInstance is the most work Parse lets a rule spend finding each of its
	// first probeInstances values; a rule that needs more is refused.
	maxWorkPerInstance = 50_000
	probeInstances     = 8
	// ctxEvery is how many units of work pass between two looks at the context.
	ctxEvery = 4096
)

// budget is the work an expansion may still do. The zero value has nothing left; a
// budget stops for good when it is spent or its context ends, and err says which.
type budget struct {
	ctx   context.Context
	units int // at the start
	left  int
	tick  int
	err   error
}

func newBudget(ctx context.Context, units int) *budget {
	if ctx == nil {
		ctx = context.Background()
	}
	b := &budget{ctx: ctx, units: units, left: units, tick: ctxEvery}
	if err := ctx.Err(); err != nil {
		b.err = err
	}
	return b
}

// spend takes n units; it reports false (and sets err) when that is more than is left
// or the context has ended.
func (b *budget) spend(n int) bool {
	if b.err != nil {
		return false
	}
	if b.left -= n; b.left < 0 {
		b.err = fmt.Errorf("%w: more than %d steps of recurrence work", ErrTooManyInstances, b.units)
		return false
	}
	if b.tick -= n; b.tick <= 0 {
		b.tick = ctxEvery
		if err := b.ctx.Err(); err != nil {
			b.err = err
			return false
		}
	}
	return true
}
