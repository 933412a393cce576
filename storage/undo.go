package storage

import (
	"bytes"
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"
)

// Forward undo (invariant 5 of docs/ARCHITECTURE.md): the state of a principal (or one of
// its collections, or one object) at an earlier point is computed from the
// journal, and the difference to the current state is written as NEW
// records: puts that re-add or change back, deletes that remove, a deleted
// collection created again with its properties and objects. Clients receive
// ordinary changes and their sync tokens stay valid. Each change carries a
// precondition on the current state (If-Match / If-None-Match), so a change a
// client makes meanwhile is never overwritten: that item is reported as a
// conflict instead.

// UndoRequest says what to bring back to which point.
type UndoRequest struct {
	Principal  string
	Collection string // "" for every collection of the principal
	Object     string // "" for every object (needs Collection)
	// ToSeq: the state after this sequence. ToTime: the state after the last
	// record written at or before this time. One of them is required.
	ToSeq  uint64
	ToTime time.Time
	DryRun bool
	// Confirm allows an undo that removes a collection or more objects than
	// Options.UndoConfirmOver; without it such an undo changes nothing and
	// returns a *ConfirmationError with the counts.
	Confirm bool
}

// Undo actions, as reported.
const (
	UndoReAdd            = "re-add"
	UndoChangeBack       = "change-back"
	UndoRemove           = "remove"
	UndoRecreateCol      = "recreate-collection"
	UndoRemoveCol        = "remove-collection"
	UndoRestoreColProps  = "restore-properties"
	UndoRecreateAccount  = "recreate-account"
	undoRecreateKindDiff = "replace-collection"
)

// UndoItem is one change an undo makes (or would make).
type UndoItem struct {
	Action     string `json:"action"`
	Collection string `json:"collection"`
	Name       string `json:"name,omitempty"`
	UID        string `json:"uid,omitempty"`
	Objects    int    `json:"objects,omitempty"` // objects removed with the collection (remove-collection, replace-collection)
	Seq        uint64 `json:"seq,omitempty"`     // the new record, once applied
	Error      string `json:"error,omitempty"`   // why it was not applied (a conflict)
	// By names the other accounts (sharees of the collection) whose changes
	// to this object the undo takes back; the principal's own are not named.
	By []string `json:"by,omitempty"`
}

// UndoReport says what an undo did or would do.
type UndoReport struct {
	Principal   string     `json:"principal"`
	TargetSeq   uint64     `json:"target_seq"`
	TargetTime  time.Time  `json:"target_time"`
	DryRun      bool       `json:"dry_run"`
	Snapshot    string     `json:"snapshot,omitempty"` // the state at the target started from this snapshot
	Items       []UndoItem `json:"items"`
	ReAdded     int        `json:"re_added"`
	ChangedBack int        `json:"changed_back"`
	Removed     int        `json:"removed"`
	Collections int        `json:"collections"` // recreated, removed or with properties restored
	Failed      int        `json:"failed"`
	// ObjectsRemoved counts every object that goes: those removed one by one
	// and those of removed or replaced collections.
	ObjectsRemoved     int `json:"objects_removed"`
	CollectionsRemoved int `json:"collections_removed"` // removed or replaced
	// PerCollection: what happens in each collection, by name.
	PerCollection []UndoCounts `json:"per_collection"`
	// NeedsConfirmation: applying this undo needs UndoRequest.Confirm.
	NeedsConfirmation bool `json:"needs_confirmation"`

	planRemoved int // objects the plan removes one by one
}

// UndoCounts is what an undo does in one collection.
type UndoCounts struct {
	Collection string `json:"collection"`
	Action     string `json:"action,omitempty"` // remove-collection, recreate-collection, replace-collection
	Added      int    `json:"added"`
	Removed    int    `json:"removed"` // including the objects of a removed or replaced collection
	Changed    int    `json:"changed"`
}

func (r *UndoReport) String() string {
	var b strings.Builder
	verb := "undid"
	if r.DryRun {
		verb = "would undo"
	}
	fmt.Fprintf(&b, "%s %s's changes after sequence %d (%s)\n", verb, r.Principal, r.TargetSeq, r.TargetTime.UTC().Format(time.RFC3339Nano))
	for _, it := range r.Items {
		line := strings.TrimRight(fmt.Sprintf("  %-20s %s/%s", it.Action, it.Collection, it.Name), "/")
		if len(it.By) > 0 {
			line += "  (changed by " + strings.Join(it.By, ", ") + ")"
		}
		if it.Error != "" {
			line += "  NOT DONE: " + it.Error
		}
		b.WriteString(strings.TrimRight(line, "/") + "\n")
	}
	for _, c := range r.PerCollection {
		line := fmt.Sprintf("  collection %s: added %d, removed %d, changed %d", c.Collection, c.Added, c.Removed, c.Changed)
		if c.Action != "" {
			line += " (" + c.Action + ")"
		}
		b.WriteString(line + "\n")
	}
	if r.CollectionsRemoved > 0 {
		fmt.Fprintf(&b, "%d removed collections take %d objects with them\n", r.CollectionsRemoved, r.ObjectsRemoved-r.planRemoved)
	}
	fmt.Fprintf(&b, "re-added: %d, changed back: %d, removed: %d, collections: %d, failed: %d\n",
		r.ReAdded, r.ChangedBack, r.Removed+r.ObjectsRemoved-r.planRemoved, r.Collections, r.Failed)
	if r.NeedsConfirmation && r.DryRun {
		b.WriteString("applying this undo needs confirmation (it removes a collection or many objects)\n")
	}
	return b.String()
}

// Undo computes the difference between the principal's state at the target
// and now, and (unless DryRun) writes it as new journal records.
func (s *Store) Undo(ctx context.Context, req UndoRequest) (*UndoReport, error) {
	if err := ValidateName("principal", req.Principal); err != nil {
		return nil, err
	}
	if req.Collection != "" {
		if err := ValidateName("collection", req.Collection); err != nil {
			return nil, err
		}
	}
	if req.Object != "" {
		if req.Collection == "" {
			return nil, fmt.Errorf("undo of an object needs its collection: %w", ErrInvalidChange)
		}
		if err := ValidateName("object", req.Object); err != nil {
			return nil, err
		}
	}
	if req.ToSeq == 0 && req.ToTime.IsZero() {
		return nil, fmt.Errorf("undo needs a target time or sequence: %w", ErrInvalidChange)
	}
	exists := principalExists(s, req.Principal)
	past, err := s.stateAt(req)
	if err != nil {
		return nil, err
	}
	defer past.close()
	if !exists && !past.live {
		return nil, fmt.Errorf("principal %s: %w", req.Principal, ErrNotFound)
	}
	if !exists && req.Collection != "" {
		return nil, fmt.Errorf("account %s was deleted: undo the whole account (without a collection) to bring it back: %w", req.Principal, ErrInvalidChange)
	}
	now, err := s.currentState(req, past.touched)
	if err != nil {
		return nil, err
	}
	rep := &UndoReport{Principal: req.Principal, TargetSeq: past.seq, TargetTime: time.Unix(0, past.when).UTC(), DryRun: req.DryRun, Snapshot: past.snapPath}
	plan := planUndo(req, past.cols, now, past.touched)
	for _, p := range plan {
		for _, st := range p {
			if st.item.Name != "" {
				st.item.By = past.touched.by[[2]string{st.item.Collection, st.item.Name}]
			}
		}
	}
	if !exists {
		// The account comes back first, then its collections and objects.
		acct := &undoStep{change: Change{Op: OpPutPrincipal, Principal: req.Principal, Body: past.account, IfNoneMatch: true},
			item: UndoItem{Action: UndoRecreateAccount}}
		plan = append([][]*undoStep{{acct}}, plan...)
	}
	rep.count(plan)
	rep.NeedsConfirmation = rep.CollectionsRemoved > 0 || rep.ObjectsRemoved > s.opts.UndoConfirmOver
	if rep.NeedsConfirmation && !req.DryRun && !req.Confirm {
		rep.DryRun = true
		rep.addItems(plan)
		return rep, &ConfirmationError{Principal: req.Principal, Collections: rep.CollectionsRemoved, Objects: rep.ObjectsRemoved, Limit: s.opts.UndoConfirmOver, Report: rep}
	}
	if !req.DryRun {
		if past.snap != nil {
			if err := fillBodies(past.snap, req.Principal, plan); err != nil {
				return nil, err
			}
		}
		s.applyUndo(ctx, req.Principal, plan)
	}
	rep.addItems(plan)
	return rep, nil
}

// addItems reports the steps of plan (and the failures of hidden ones).
func (r *UndoReport) addItems(plan [][]*undoStep) {
	for _, p := range plan {
		for _, st := range p {
			if st.hidden {
				if st.item.Error != "" {
					r.add(UndoItem{Action: UndoChangeBack, Collection: st.change.Collection, Name: st.change.Name, Error: "delete before the change back: " + st.item.Error})
				}
				continue
			}
			r.add(st.item)
		}
	}
}

// count fills the totals and the per-collection counts of what plan does
// (before it is applied: a failed step still counts).
func (r *UndoReport) count(plan [][]*undoStep) {
	by := map[string]*UndoCounts{}
	get := func(col string) *UndoCounts {
		if by[col] == nil {
			by[col] = &UndoCounts{Collection: col}
		}
		return by[col]
	}
	for _, phase := range plan {
		for _, st := range phase {
			it := st.item
			if st.hidden {
				continue
			}
			c := get(it.Collection)
			switch it.Action {
			case UndoReAdd:
				c.Added++
			case UndoChangeBack:
				c.Changed++
			case UndoRemove:
				c.Removed++
				r.ObjectsRemoved++
				r.planRemoved++
			case UndoRemoveCol, undoRecreateKindDiff:
				c.Removed += it.Objects
				r.ObjectsRemoved += it.Objects
				r.CollectionsRemoved++
				c.Action = it.Action
			case UndoRecreateCol:
				if c.Action == "" {
					c.Action = it.Action
				}
			}
		}
	}
	r.PerCollection = make([]UndoCounts, 0, len(by))
	for _, c := range by {
		r.PerCollection = append(r.PerCollection, *c)
	}
	sort.Slice(r.PerCollection, func(i, j int) bool { return r.PerCollection[i].Collection < r.PerCollection[j].Collection })
}

func principalExists(s *Store, name string) bool {
	_, err := s.Principal(name)
	return err == nil
}

func (r *UndoReport) add(it UndoItem) {
	r.Items = append(r.Items, it)
	if it.Error != "" {
		r.Failed++
		return
	}
	switch it.Action {
	case UndoReAdd:
		r.ReAdded++
	case UndoChangeBack:
		r.ChangedBack++
	case UndoRemove:
		r.Removed++
	default:
		r.Collections++
	}
}

// undoStep is one change of the plan and what it reports.
type undoStep struct {
	change   Change
	item     UndoItem
	hidden   bool   // a step another one needs (not reported unless it fails)
	lazyBody bool   // change.Body is to be read from the snapshot (fillBodies)
	lazyFrom string // its collection there
	etag     string // the ETag that body must have
}

// putBack is a put that restores po, whose body may still be in the snapshot.
func putBack(c Change, it UndoItem, po memObject) *undoStep {
	return &undoStep{change: c, item: it, lazyBody: po.lazy, lazyFrom: c.Collection, etag: po.etag}
}

// planUndo returns the changes in phases that must run in order (collections
// first, then deletions that free names and UIDs, then puts, then
// properties); the changes of one phase are independent.
func planUndo(req UndoRequest, past, now map[string]*memCollection, touched *touchSet) [][]*undoStep {
	var cols, dels, puts, props []*undoStep
	p := req.Principal
	names := map[string]bool{}
	for n := range past {
		names[n] = true
	}
	for n := range now {
		names[n] = true
	}
	sorted := make([]string, 0, len(names))
	for n := range names {
		if req.Collection == "" || n == req.Collection {
			sorted = append(sorted, n)
		}
	}
	sort.Strings(sorted)
	for _, cn := range sorted {
		pc, nc := past[cn], now[cn]
		switch {
		case pc == nil && nc == nil:
			continue
		case pc == nil:
			if req.Object == "" {
				cols = append(cols, &undoStep{change: Change{Op: OpDeleteCollection, Principal: p, Collection: cn}, item: UndoItem{Action: UndoRemoveCol, Collection: cn, Objects: len(nc.objects)}})
			} else if o, ok := nc.objects[req.Object]; ok {
				dels = append(dels, &undoStep{change: Change{Op: OpDelete, Principal: p, Collection: cn, Name: req.Object, IfMatch: o.etag}, item: UndoItem{Action: UndoRemove, Collection: cn, Name: req.Object, UID: o.meta.UID}})
			}
			continue
		case nc == nil || nc.kind != pc.kind:
			if nc != nil {
				cols = append(cols, &undoStep{change: Change{Op: OpDeleteCollection, Principal: p, Collection: cn}, item: UndoItem{Action: undoRecreateKindDiff, Collection: cn, Objects: len(nc.objects)}})
			}
			cols = append(cols, &undoStep{change: Change{Op: OpCreateCollection, Principal: p, Collection: cn, Kind: pc.kind, Props: pc.props}, item: UndoItem{Action: UndoRecreateCol, Collection: cn}})
			nc = &memCollection{kind: pc.kind, props: pc.props, objects: map[string]memObject{}}
		}
		if req.Object == "" && !sameProps(pc.props, nc.props) {
			var remove []string
			for k := range nc.props {
				if _, ok := pc.props[k]; !ok {
					remove = append(remove, k)
				}
			}
			sort.Strings(remove)
			props = append(props, &undoStep{change: Change{Op: OpSetProps, Principal: p, Collection: cn, Props: pc.props, Remove: remove}, item: UndoItem{Action: UndoRestoreColProps, Collection: cn}})
		}
		for _, name := range objectNames(pc, nc, req.Object, touched, cn) {
			po, inPast := pc.objects[name]
			no, inNow := nc.objects[name]
			switch {
			case inNow && !inPast:
				dels = append(dels, &undoStep{change: Change{Op: OpDelete, Principal: p, Collection: cn, Name: name, IfMatch: no.etag}, item: UndoItem{Action: UndoRemove, Collection: cn, Name: name, UID: no.meta.UID}})
			case inPast && !inNow:
				puts = append(puts, putBack(Change{Op: OpPut, Principal: p, Collection: cn, Name: name, Meta: po.meta, Body: po.body, IfNoneMatch: true}, UndoItem{Action: UndoReAdd, Collection: cn, Name: name, UID: po.meta.UID}, po))
			case po.meta.UID != no.meta.UID:
				// Its UID changed: delete it first, so the UIDs of all the
				// objects put back are free (two objects may have swapped
				// UIDs), then put the old version back.
				dels = append(dels, &undoStep{change: Change{Op: OpDelete, Principal: p, Collection: cn, Name: name, IfMatch: no.etag}, hidden: true})
				puts = append(puts, putBack(Change{Op: OpPut, Principal: p, Collection: cn, Name: name, Meta: po.meta, Body: po.body, IfNoneMatch: true}, UndoItem{Action: UndoChangeBack, Collection: cn, Name: name, UID: po.meta.UID}, po))
			case po.etag != no.etag || !sameMeta(po.meta, no.meta):
				puts = append(puts, putBack(Change{Op: OpPut, Principal: p, Collection: cn, Name: name, Meta: po.meta, Body: po.body, IfMatch: no.etag}, UndoItem{Action: UndoChangeBack, Collection: cn, Name: name, UID: po.meta.UID}, po))
			}
		}
	}
	return [][]*undoStep{cols, dels, puts, props}
}

// objectNames lists the objects to compare: only, when set; else those
// changed after the target (objects nobody touched since are the same).
func objectNames(a, b *memCollection, only string, touched *touchSet, col string) []string {
	if only != "" {
		return []string{only}
	}
	if all, names := touched.objects(col); !all {
		out := make([]string, 0, len(names))
		for n := range names {
			out = append(out, n)
		}
		sort.Strings(out)
		return out
	}
	seen := map[string]bool{}
	for n := range a.objects {
		seen[n] = true
	}
	for n := range b.objects {
		seen[n] = true
	}
	out := make([]string, 0, len(seen))
	for n := range seen {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

func sameProps(a, b map[string][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		w, ok := b[k]
		if !ok || !bytes.Equal(v, w) {
			return false
		}
	}
	return true
}

// applyUndo commits the plan phase by phase. The changes of a phase are sent
// together, so the committer writes them in a few group commits.
func (s *Store) applyUndo(ctx context.Context, principal string, plan [][]*undoStep) {
	for _, phase := range plan {
		var wg sync.WaitGroup
		sem := make(chan struct{}, 256)
		for _, st := range phase {
			wg.Add(1)
			sem <- struct{}{}
			go func(st *undoStep) {
				defer func() { <-sem; wg.Done() }()
				res, err := s.Commit(ctx, st.change)
				if err != nil {
					st.item.Error = err.Error()
					return
				}
				st.item.Seq = res.Seq
			}(st)
		}
		wg.Wait()
	}
	s.log.Info("undo applied", "principal", principal, "phases", len(plan))
}
