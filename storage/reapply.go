package storage

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
)

// Re-applying records a former primary never replicated. When a primary
// in async mode is lost, its standby is promoted without the primary's
// unreplicated tail; when the old primary rejoins, its whole former
// directory is set aside as <dir>.diverged-<time> (replication). Reapply
// reads that directory's journal after the last record it shares with this
// store and writes what the tail changed as new, forward changes
// (invariant 5 of docs/ARCHITECTURE.md): clients see ordinary changes and
// keep their tokens. An object this store changed after the split is left
// alone and reported, never overwritten.

// DivergedSuffix names a former data directory set aside by a rejoin.
const DivergedSuffix = ".diverged-"

// DivergedDirs lists the directories set aside beside dataDir by rejoins.
func DivergedDirs(dataDir string) []string {
	m, _ := filepath.Glob(filepath.Clean(dataDir) + DivergedSuffix + "*")
	sort.Strings(m)
	return m
}

// ReapplyItem is one object (or collection) of a diverged tail.
type ReapplyItem struct {
	Principal, Collection, Name string
	Action                      string // put, delete, create-collection
	Seq                         uint64 // the tail's record that last changed it
	Why                         string // why it was skipped
}

func (it ReapplyItem) String() string {
	p := it.Principal + "/" + it.Collection
	if it.Name != "" {
		p += "/" + it.Name
	}
	s := fmt.Sprintf("%-17s %s (record %d)", it.Action, p, it.Seq)
	if it.Why != "" {
		s += ": " + it.Why
	}
	return s
}

// ReapplyReport says what Reapply did or, in a dry run, would do.
type ReapplyReport struct {
	From      string
	Common    uint64 // last record the diverged journal shares with this store
	TailHead  uint64 // last record of the diverged journal
	DryRun    bool
	Applied   []ReapplyItem
	Unchanged []ReapplyItem // already as the tail left them
	Skipped   []ReapplyItem // changed here since the split, or not re-appliable
}

func (r *ReapplyReport) String() string {
	var b strings.Builder
	verb := "re-applied"
	if r.DryRun {
		verb = "would re-apply (dry run)"
	}
	fmt.Fprintf(&b, "%s: records %d..%d were never replicated (the last shared record is %d)\n", r.From, r.Common+1, r.TailHead, r.Common)
	fmt.Fprintf(&b, "%s: %d, already so: %d, skipped: %d\n", verb, len(r.Applied), len(r.Unchanged), len(r.Skipped))
	for _, it := range r.Applied {
		fmt.Fprintf(&b, "  %s %s\n", map[bool]string{true: "would", false: "done "}[r.DryRun], it)
	}
	for _, it := range r.Skipped {
		fmt.Fprintf(&b, "  skip  %s\n", it)
	}
	return b.String()
}

// tailObject is the last state the tail left an object in.
type tailObject struct {
	seq    uint64
	body   []byte
	etag   string
	meta   ObjectMeta
	props  map[string][]byte
	repl   bool
	delete bool
}

type objKey struct{ p, c, n string }

// Reapply re-applies the never-replicated tail of the diverged directory
// from (a former data directory of this store) as new changes.
func (s *Store) Reapply(ctx context.Context, from string, dryRun bool) (*ReapplyReport, error) {
	from = filepath.Clean(from)
	_, id, err := readIdentityFile(from)
	if err != nil {
		return nil, err
	}
	if id.StoreID != s.Identity().StoreID {
		return nil, fmt.Errorf("%s holds store %s, this is store %s: %w", from, id.StoreID, s.Identity().StoreID, ErrInvalidChange)
	}
	raw, err := id.rawID()
	if err != nil {
		return nil, err
	}
	jdir := filepath.Join(from, "journal")
	tailHead, _, err := lastRecord(jdir, raw)
	if err != nil {
		return nil, err
	}
	common, err := s.commonWith(jdir, raw, tailHead)
	if err != nil {
		return nil, err
	}
	rep := &ReapplyReport{From: from, Common: common, TailHead: tailHead, DryRun: dryRun}
	if common == tailHead {
		return rep, nil
	}
	objs := map[objKey]*tailObject{}
	created := map[[2]string]*Record{}
	err = scanJournalFrom(jdir, raw, common+1, ^uint64(0), func(r *Record, _ [32]byte) error {
		switch r.Op {
		case OpPut:
			objs[objKey{r.Principal, r.Collection, r.Name}] = &tailObject{seq: r.Seq, body: r.Body, etag: r.ETag, meta: r.Meta, props: r.Props, repl: r.ReplaceProps}
		case OpDelete:
			objs[objKey{r.Principal, r.Collection, r.Name}] = &tailObject{seq: r.Seq, delete: true}
		case OpMove:
			objs[objKey{r.Principal, r.Collection, r.Name}] = &tailObject{seq: r.Seq, delete: true}
			objs[objKey{r.Principal, r.ToCollection, r.ToName}] = &tailObject{seq: r.Seq, body: r.Body, etag: r.ETag, meta: r.Meta}
		case OpCreateCollection:
			created[[2]string{r.Principal, r.Collection}] = r
		case OpDeleteCollection:
			for k := range objs {
				if k.p == r.Principal && (k.c == r.Collection || r.Name != "" && strings.HasPrefix(k.c, r.Name)) {
					delete(objs, k)
				}
			}
			delete(created, [2]string{r.Principal, r.Collection})
			rep.Skipped = append(rep.Skipped, ReapplyItem{Principal: r.Principal, Collection: r.Collection, Action: "delete-collection", Seq: r.Seq,
				Why: "a collection's deletion is not re-applied; delete it by hand if it should go"})
		case OpSetProps, OpPutPrincipal, OpDeletePrincipal:
			rep.Skipped = append(rep.Skipped, ReapplyItem{Principal: r.Principal, Collection: r.Collection, Name: r.Name, Action: r.Op.String(), Seq: r.Seq,
				Why: "property and account changes are not re-applied; make them by hand"})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read the diverged journal in %s: %w", jdir, err)
	}
	keys := make([]objKey, 0, len(objs))
	for k := range objs {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		if a.p != b.p {
			return a.p < b.p
		}
		if a.c != b.c {
			return a.c < b.c
		}
		return a.n < b.n
	})
	changed := map[[2]string]map[string]uint64{} // collection → names changed here since the split
	gone := map[[2]string]string{}               // collection → why it cannot take changes
	for _, k := range keys {
		col := [2]string{k.p, k.c}
		if _, seen := changed[col]; !seen {
			if _, bad := gone[col]; !bad {
				gone[col], changed[col] = s.prepareReapplyCollection(ctx, col, created[col], common, dryRun, rep)
				if gone[col] == "" {
					delete(gone, col)
				}
			}
		}
		o := objs[k]
		it := ReapplyItem{Principal: k.p, Collection: k.c, Name: k.n, Action: "put", Seq: o.seq}
		if o.delete {
			it.Action = "delete"
		}
		if why, bad := gone[col]; bad {
			it.Why = why
			rep.Skipped = append(rep.Skipped, it)
			continue
		}
		if at, ok := changed[col][k.n]; ok {
			it.Why = fmt.Sprintf("changed on this store since the split (record %d); left as it is here", at)
			rep.Skipped = append(rep.Skipped, it)
			continue
		}
		cur, err := s.Get(k.p, k.c, k.n)
		exists := err == nil
		if err != nil && !errors.Is(err, ErrNotFound) {
			return nil, err
		}
		if (o.delete && !exists) || (!o.delete && exists && cur.ETag == o.etag) {
			rep.Unchanged = append(rep.Unchanged, it)
			continue
		}
		if dryRun {
			rep.Applied = append(rep.Applied, it)
			continue
		}
		c := Change{Op: OpPut, Principal: k.p, Collection: k.c, Name: k.n, Body: o.body, Meta: o.meta, Props: o.props, ReplaceProps: o.repl}
		if o.delete {
			c = Change{Op: OpDelete, Principal: k.p, Collection: k.c, Name: k.n}
		}
		if exists {
			c.IfMatch = cur.ETag
		} else {
			c.IfNoneMatch = true
		}
		if _, err := s.Commit(ctx, c); err != nil {
			if ctx.Err() != nil || errors.Is(err, ErrUnavailable) || errors.Is(err, ErrClosed) {
				return rep, fmt.Errorf("re-apply %s/%s/%s: %w (what is listed as done was written; run it again to finish)", k.p, k.c, k.n, err)
			}
			it.Why = "refused: " + err.Error()
			rep.Skipped = append(rep.Skipped, it)
			continue
		}
		rep.Applied = append(rep.Applied, it)
	}
	if !dryRun && len(rep.Applied) > 0 {
		s.log.Warn("re-applied records a former primary never replicated", "from", from, "applied", len(rep.Applied), "skipped", len(rep.Skipped))
	}
	return rep, nil
}

// prepareReapplyCollection checks that a collection can take the tail's
// changes (creating it when the tail created it and it is missing here)
// and returns the names changed here since the split, or why it cannot.
func (s *Store) prepareReapplyCollection(ctx context.Context, col [2]string, create *Record, common uint64, dryRun bool, rep *ReapplyReport) (string, map[string]uint64) {
	changes, _, err := s.Changes(col[0], col[1], common)
	switch {
	case err == nil:
		out := map[string]uint64{}
		for _, ch := range changes {
			out[ch.Name] = ch.Seq
		}
		return "", out
	case errors.Is(err, ErrNotFound) && create != nil:
		it := ReapplyItem{Principal: col[0], Collection: col[1], Action: "create-collection", Seq: create.Seq}
		if !dryRun {
			if _, err := s.Commit(ctx, Change{Op: OpCreateCollection, Principal: col[0], Collection: col[1], Kind: create.Kind, Props: create.Props}); err != nil {
				it.Why = "refused: " + err.Error()
				rep.Skipped = append(rep.Skipped, it)
				return "its collection could not be created: " + err.Error(), nil
			}
		}
		rep.Applied = append(rep.Applied, it)
		return "", map[string]uint64{}
	case errors.Is(err, ErrNotFound):
		return "its collection does not exist on this store (deleted here since the split)", nil
	case errors.Is(err, ErrHistoryGone):
		return "its collection was created again or pruned on this store since the split", nil
	}
	return "reading its collection: " + err.Error(), nil
}

// commonWith returns the last record the journal in jdir (a former copy of
// this store, ending at tailHead) shares with this store: records are
// chained, so the records that agree form a prefix, found by bisection.
func (s *Store) commonWith(jdir string, raw [16]byte, tailHead uint64) (uint64, error) {
	_, base, err := liveSegments(jdir)
	if err != nil {
		return 0, err
	}
	lo, hi := base.Seq+1, min(tailHead, s.Head())
	if hi < lo {
		return 0, nil
	}
	same := func(q uint64) (bool, error) {
		var mine, theirs [32]byte
		var got bool
		if err := s.ReadFrames(q, q, func(f FrameInfo) error { mine, got = f.Hash, true; return nil }); err != nil {
			return false, fmt.Errorf("this store's record %d: %w", q, err)
		}
		if err := scanJournalFrom(jdir, raw, q, q, func(_ *Record, h [32]byte) error { theirs = h; return errStopScan }); err != nil {
			return false, fmt.Errorf("%s record %d: %w", jdir, q, err)
		}
		return got && mine == theirs, nil
	}
	ok, err := same(lo)
	if err != nil || !ok {
		return lo - 1, err
	}
	for lo < hi { // invariant: same(lo)
		mid := lo + (hi-lo+1)/2
		ok, err := same(mid)
		if err != nil {
			return 0, err
		}
		if ok {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return lo, nil
}
