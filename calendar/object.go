package calendar

import (
	"container/list"
	"context"
	"sync"
	"time"

	"github.com/emersion/go-ical"
)

// prepared is what Parse computed for an object: its zones and recurrence sets. They are
// only read afterwards, so one Object serves concurrent queries.
type prepared struct {
	floating *time.Location
	z        *zones
	series   []*series
	tmpl     *templates // ExpandText's per-component text
}

func (o *Object) prepFor(floating *time.Location) *prepared {
	if floating == nil {
		floating = time.UTC
	}
	if o.prep == nil || o.prep.floating.String() != floating.String() {
		return nil
	}
	return o.prep
}

// Match is Match(o.Cal, f, floating) reusing the zones and recurrence sets Parse built
// (when floating is the location Parse used), so a cached Object is not prepared again.
// The object must not be modified after Parse.
func (o *Object) Match(f CompFilter, floating *time.Location) (bool, error) {
	return o.MatchContext(context.Background(), f, floating)
}

// MatchContext is Object.Match, stopping with ctx's error when ctx ends.
func (o *Object) MatchContext(ctx context.Context, f CompFilter, floating *time.Location) (bool, error) {
	p := o.prepFor(floating)
	if p == nil {
		return MatchContext(ctx, o.Cal, f, floating)
	}
	if err := f.Validate(); err != nil {
		return false, err
	}
	if f.IsNotDefined {
		return false, nil
	}
	m := &matcher{ctx: ctx, cal: o.Cal, floating: p.floating, z: p.z, series: p.series}
	return m.compMatches(o.Cal.Component, &f, nil)
}

// Expand is Expand(o.Cal, tr, floating) reusing what Parse built, like Object.Match.
func (o *Object) Expand(tr TimeRange, floating *time.Location) (*ical.Calendar, error) {
	return o.ExpandContext(context.Background(), tr, floating)
}

// ExpandContext is Object.Expand, stopping with ctx's error when ctx ends.
func (o *Object) ExpandContext(ctx context.Context, tr TimeRange, floating *time.Location) (*ical.Calendar, error) {
	p := o.prepFor(floating)
	if p == nil {
		return ExpandContext(ctx, o.Cal, tr, floating)
	}
	return expand(ctx, o.Cal, p.z, p.series, tr)
}

// Cache keeps parsed Objects by a key that changes with the body (the store's ETag), so
// queries neither decode nor prepare an unchanged object again. It holds at most max
// objects, dropping the least recently used. Safe for concurrent use.
type Cache struct {
	mu    sync.Mutex
	max   int
	ll    *list.List // front: most recent
	items map[string]*list.Element
}

type cacheEntry struct {
	key      string
	floating string
	obj      *Object
}

// NewCache returns a cache of at most size objects (size < 1 means 1).
func NewCache(size int) *Cache {
	return &Cache{max: max(size, 1), ll: list.New(), items: map[string]*list.Element{}}
}

// Object returns the parsed object for key, parsing body with floating on a miss (or when
// it was parsed with another floating location). Parse errors are returned, not cached.
func (c *Cache) Object(key string, body []byte, floating *time.Location) (*Object, error) {
	if floating == nil {
		floating = time.UTC
	}
	c.mu.Lock()
	if e, ok := c.items[key]; ok {
		ent := e.Value.(*cacheEntry)
		if ent.floating == floating.String() {
			c.ll.MoveToFront(e)
			c.mu.Unlock()
			return ent.obj, nil
		}
	}
	c.mu.Unlock()
	obj, err := Parse(body, floating)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.items[key]; ok {
		c.ll.Remove(e)
	}
	c.items[key] = c.ll.PushFront(&cacheEntry{key: key, floating: floating.String(), obj: obj})
	for c.ll.Len() > c.max {
		last := c.ll.Back()
		c.ll.Remove(last)
		delete(c.items, last.Value.(*cacheEntry).key)
	}
	return obj, nil
}

// Len reports how many objects the cache holds.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ll.Len()
}
