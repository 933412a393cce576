// What pvload knows of one address book: how many members it holds, which
// of them it created (by index) and their current ETags, so every later
// check can say exactly what the server must answer.

package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
)

type bookState struct {
	path string // escaped URL path, ending in "/"
	gen  contactGen

	mu    sync.Mutex
	count int            // members of the book, ours and others
	next  int            // index of the next contact to create
	live  []int          // indices of our contacts in the book, in creation order
	etags map[int]string // current ETag of each of our contacts, as the server sent it
}

func newBookState(path string, gen contactGen) *bookState {
	if !strings.HasSuffix(path, "/") {
		path += "/"
	}
	return &bookState{path: path, gen: gen, etags: map[int]string{}}
}

// objectPath is the URL path of contact i.
func (b *bookState) objectPath(i int) string { return b.path + b.gen.name(i) }

// load lists the book and takes up what it holds: every member counts, and
// contacts an earlier run with the same seed created are reused, so a second
// run continues after them instead of colliding.
func (b *bookState) load(ctx context.Context, c *davClient) error {
	l, err := listMembers(ctx, c, b.path)
	if err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.count, b.next, b.live = len(l.members), 0, nil
	b.etags = map[int]string{}
	prefix := strings.TrimSuffix(b.gen.name(0), "0000000.vcf")
	for _, m := range l.members {
		name := lastSegment(m.path)
		if !strings.HasPrefix(name, prefix) || !strings.HasSuffix(name, ".vcf") {
			continue
		}
		i, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(name, prefix), ".vcf"))
		if err != nil || b.gen.name(i) != name {
			continue
		}
		b.live = append(b.live, i)
		b.etags[i] = m.etag
		b.next = max(b.next, i+1)
	}
	return nil
}

// created records that contact i now exists with etag.
func (b *bookState) created(i int, etag string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.count++
	b.live = append(b.live, i)
	b.etags[i] = etag
}

func (b *bookState) updated(i int, etag string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.etags[i] = etag
}

func (b *bookState) deleted(i int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.count--
	delete(b.etags, i)
	for k, v := range b.live {
		if v == i {
			b.live = append(b.live[:k], b.live[k+1:]...)
			break
		}
	}
}

func (b *bookState) members() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.count
}

// reserve hands out n new indices.
func (b *bookState) reserve(n int) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	first := b.next
	b.next += n
	return first
}

func (b *bookState) etag(i int) string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.etags[i]
}

// checkListing compares a listing with what the book must hold: exactly
// count members, among them every contact of ours with its current ETag.
func (b *bookState) checkListing(l *listing) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(l.members) != b.count {
		return fmt.Errorf("PROPFIND Depth 1 on %s listed %d members, want %d", b.path, len(l.members), b.count)
	}
	byPath := make(map[string]string, len(l.members))
	for _, m := range l.members {
		byPath[m.path] = m.etag
	}
	for _, i := range b.live {
		p := b.path + b.gen.name(i)
		got, ok := byPath[p]
		switch {
		case !ok:
			return fmt.Errorf("PROPFIND Depth 1 on %s: %s is missing", b.path, p)
		case b.etags[i] != "" && got != b.etags[i]:
			return fmt.Errorf("PROPFIND Depth 1 on %s: %s has ETag %s, the PUT answered %s", b.path, p, got, b.etags[i])
		}
	}
	return nil
}
