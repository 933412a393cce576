package transfer

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strings"
	"sync"

	"github.com/pimvault/pimvault/storage"
)

// ImportReport says what an import did (or, with DryRun, would do).
type ImportReport struct {
	DryRun      bool
	Created     []string // collections created
	Added       int
	Updated     int // same UID, different content: the existing object now holds the imported body
	Unchanged   int // same UID and the same bytes
	Failed      []string
	Skipped     []string
	Collections int
}

func (r *ImportReport) String() string {
	var b strings.Builder
	verb := "imported"
	if r.DryRun {
		verb = "would import"
	}
	fmt.Fprintf(&b, "%s into %d collections", verb, r.Collections)
	if len(r.Created) > 0 {
		fmt.Fprintf(&b, " (created: %s)", strings.Join(r.Created, ", "))
	}
	fmt.Fprintf(&b, "\nadded: %d, updated: %d, unchanged: %d, failed: %d\n", r.Added, r.Updated, r.Unchanged, len(r.Failed))
	for _, s := range r.Skipped {
		fmt.Fprintf(&b, "skipped: %s\n", s)
	}
	for _, s := range r.Failed {
		fmt.Fprintf(&b, "failed: %s\n", s)
	}
	return b.String()
}

type existing struct {
	byUID map[string]storage.Object
	names map[string]bool
}

// Import merges src into user's collections by UID. It checks first that
// every target collection is usable (created if missing, of the right
// kind), then commits. A change that fails (a concurrent change made its
// precondition false) is reported in Failed.
func Import(ctx context.Context, s *storage.Store, user string, src *Source, dryRun bool) (*ImportReport, error) {
	if _, err := s.Principal(user); err != nil {
		return nil, fmt.Errorf("user %s: %w", user, err)
	}
	rep := &ImportReport{DryRun: dryRun, Skipped: src.Skipped}
	state := map[string]*existing{}
	for _, cd := range src.Collections {
		if err := storage.ValidateName("collection", cd.Name); err != nil {
			return nil, err
		}
		c, err := s.Collection(user, cd.Name)
		switch {
		case errors.Is(err, storage.ErrNotFound):
			state[cd.Name] = &existing{byUID: map[string]storage.Object{}, names: map[string]bool{}}
			continue
		case err != nil:
			return nil, err
		case c.Kind != cd.Kind:
			return nil, fmt.Errorf("%s: collection %s is a %s, the import holds a %s: %w", cd.From, cd.Name, c.Kind, cd.Kind, storage.ErrInvalidChange)
		}
		ex := &existing{byUID: map[string]storage.Object{}, names: map[string]bool{}}
		err = s.Objects(user, cd.Name, false, func(o storage.Object) error {
			ex.names[o.Name] = true
			if o.Meta.UID != "" {
				ex.byUID[o.Meta.UID] = o
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		state[cd.Name] = ex
	}
	var changes []storage.Change
	var labels []string
	for _, cd := range src.Collections {
		rep.Collections++
		ex := state[cd.Name]
		if _, err := s.Collection(user, cd.Name); errors.Is(err, storage.ErrNotFound) {
			rep.Created = append(rep.Created, cd.Name)
			if !dryRun {
				if _, err := s.Commit(ctx, storage.Change{Op: storage.OpCreateCollection, Principal: user, Collection: cd.Name, Kind: cd.Kind, Props: cd.Props}); err != nil {
					return rep, fmt.Errorf("create collection %s: %w", cd.Name, err)
				}
			}
		}
		for _, it := range cd.Items {
			ch := storage.Change{Op: storage.OpPut, Principal: user, Collection: cd.Name, Meta: storage.ObjectMeta{UID: it.UID, Component: it.Component, Span: it.Span}, Body: it.Body}
			if o, ok := ex.byUID[it.UID]; ok {
				if o.ETag == storage.ETagOf(it.Body) {
					rep.Unchanged++
					continue
				}
				ch.Name, ch.IfMatch = o.Name, o.ETag
				rep.Updated++
			} else {
				ch.Name, ch.IfNoneMatch = freeName(ex.names, it.Name, it.UID), true
				ex.names[ch.Name] = true
				rep.Added++
			}
			changes = append(changes, ch)
			labels = append(labels, it.From)
		}
	}
	if dryRun {
		return rep, nil
	}
	for i, err := range commitAll(ctx, s, changes) {
		if err != nil {
			rep.Failed = append(rep.Failed, fmt.Sprintf("%s: %v", labels[i], err))
		}
	}
	return rep, nil
}

// freeName returns name, or a name derived from the UID when name is taken
// by another object.
func freeName(taken map[string]bool, name, uid string) string {
	if !taken[name] {
		return name
	}
	ext := path.Ext(name)
	alt := objectName(uid, ext)
	for i := 2; taken[alt]; i++ {
		alt = fmt.Sprintf("%s-%d%s", strings.TrimSuffix(objectName(uid, ""), ext), i, ext)
	}
	return alt
}

// commitAll commits changes concurrently, so the store's committer writes
// them in a few group commits, and returns each change's error.
func commitAll(ctx context.Context, s *storage.Store, changes []storage.Change) []error {
	errs := make([]error, len(changes))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 128)
	for i := range changes {
		wg.Add(1)
		sem <- struct{}{}
		go func(i int) {
			defer func() { <-sem; wg.Done() }()
			_, errs[i] = s.Commit(ctx, changes[i])
		}(i)
	}
	wg.Wait()
	return errs
}
