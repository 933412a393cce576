package device

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"

	"github.com/pimvault/pimvault/syncproto"
)

// Engine syncs a replica with a server: push local changes first, then
// pull, and reconcile when the server says it is recovering or its epoch
// changed.
type Engine struct {
	Replica   *Replica
	Transport Transport
	Log       *slog.Logger
	Backoff   *Backoff
	// A full listing that would delete more than GuardFraction of a
	// collection's items, and more than GuardMin of them, is refused.
	GuardFraction float64 // default 0.5
	GuardMin      int     // default 10
	// Workers is how many uploads run at once; default 8.
	Workers int
}

// NewEngine returns an engine over r talking HTTP to the server r was
// initialised with.
func NewEngine(r *Replica, log *slog.Logger) (*Engine, error) {
	t, err := NewHTTPTransport(r.Config(), nil)
	if err != nil {
		return nil, err
	}
	return &Engine{Replica: r, Transport: t, Log: log}, nil
}

// Conflict is a pair of versions that were both kept.
type Conflict struct {
	Collection string
	Href       string // keeps the server's version
	CopyHref   string // the device's version, saved as a new item
	Reason     string
}

// Report says what one Sync did. Nothing is dropped without a line here.
type Report struct {
	Uploaded        int
	Downloaded      int
	DeletedOnServer int
	DeletedLocally  int
	Conflicts       []Conflict
	Refused         []string // listings not applied as deletions
	Recovered       []string // collections reconciled after a recovery or an epoch change
	// DeletedCollections are collections the server deleted after this
	// device last synced them: their clean items were deleted here.
	DeletedCollections []string
	RecoveryDone       bool     // POST /api/recovery/done answered
	Notes              []string // edits kept over deletions, and the like
	Errors             []string // items that could not be synced (kept, retried next time)

	mu sync.Mutex
}

func (r *Report) note(format string, args ...any) {
	r.mu.Lock()
	r.Notes = append(r.Notes, fmt.Sprintf(format, args...))
	r.mu.Unlock()
}

func (r *Report) fail(format string, args ...any) {
	r.mu.Lock()
	r.Errors = append(r.Errors, fmt.Sprintf(format, args...))
	r.mu.Unlock()
}

// errRecover: the collection must be reconciled (409, a new epoch).
var errRecover = errors.New("the server's history changed: reconcile")

func (e *Engine) defaults() {
	if e.Log == nil {
		e.Log = slog.New(slog.DiscardHandler)
	}
	if e.Backoff == nil {
		e.Backoff = &Backoff{}
	}
	if e.GuardFraction <= 0 {
		e.GuardFraction = 0.5
	}
	if e.GuardMin <= 0 {
		e.GuardMin = 10
	}
	if e.Workers <= 0 {
		e.Workers = 8
	}
}

// retry runs op with the engine's backoff.
func (e *Engine) retry(ctx context.Context, op func() error) error {
	return e.Backoff.Do(ctx, op)
}

// Sync runs one full sync of every collection.
func (e *Engine) Sync(ctx context.Context) (*Report, error) {
	e.defaults()
	rep := &Report{}
	var disc Discovery
	if err := e.retry(ctx, func() (err error) { disc, err = e.Transport.Collections(ctx); return err }); err != nil {
		return rep, fmt.Errorf("discover collections: %w", err)
	}
	colls, recreated, err := e.mergeCollections(ctx, disc, rep)
	if err != nil {
		return rep, err
	}
	recovering := disc.Info.Recovering
	var recovered []Collection
	for _, c := range colls {
		need := recreated[c.Href]
		if !need && (recovering || epochChanged(c.Token, disc.Info.Epoch)) {
			// Pull before pushing: the old token tells the server what
			// this device has seen. A token of a lost history gets 409
			// and makes the principal RECOVERING, so
			// stock clients are held off while devices rebuild; a token
			// the server still accepts is answered normally.
			err := e.pull(ctx, c, rep)
			switch {
			case errors.Is(err, errRecover):
				need = true
			case err != nil:
				return rep, fmt.Errorf("sync %s: %w", c.Href, err)
			default:
				if c, err = e.collection(c.Href); err != nil {
					return rep, err
				}
			}
		}
		if !need {
			err := e.push(ctx, c, disc.Info.Epoch, rep)
			if err == nil {
				err = e.pull(ctx, c, rep)
			}
			if !errors.Is(err, errRecover) {
				if err != nil {
					return rep, fmt.Errorf("sync %s: %w", c.Href, err)
				}
				continue
			}
			need = true
		}
		if err := e.recover(ctx, c, e.currentEpoch(disc.Info.Epoch), rep); err != nil {
			return rep, fmt.Errorf("reconcile %s: %w", c.Href, err)
		}
		rep.Recovered = append(rep.Recovered, c.Href)
		recovered = append(recovered, c)
	}
	if len(recovered) > 0 || recovering {
		if err := e.retry(ctx, func() error { return e.Transport.RecoveryDone(ctx) }); err != nil {
			rep.fail("report recovery done: %v", err)
		} else {
			rep.RecoveryDone = true
		}
		for _, c := range recovered {
			c, err := e.collection(c.Href)
			if err == nil {
				err = e.pull(ctx, c, rep)
			}
			if err != nil && !errors.Is(err, errRecover) {
				return rep, fmt.Errorf("sync %s after reconciling: %w", c.Href, err)
			}
		}
	}
	return rep, nil
}

// currentEpoch is the freshest epoch the transport has seen.
func (e *Engine) currentEpoch(fallback string) string {
	if t, ok := e.Transport.(interface{ LastInfo() ServerInfo }); ok {
		if ep := t.LastInfo().Epoch; ep != "" {
			return ep
		}
	}
	return fallback
}

func (e *Engine) collection(href string) (c Collection, err error) {
	err = e.Replica.View(func(t *Txn) error { c, err = t.Collection(href); return err })
	return c, err
}

// epochChanged reports whether a stored token is from another epoch than
// the one the server advertises.
func epochChanged(token, epoch string) bool {
	if token == "" || epoch == "" {
		return false
	}
	tok, err := syncproto.Parse(token)
	return err != nil || tok.Epoch != epoch
}

// mergeCollections records new server collections and recreates the ones
// the replica holds and the server lost (those are then reconciled).
func (e *Engine) mergeCollections(ctx context.Context, disc Discovery, rep *Report) ([]Collection, map[string]bool, error) {
	remote := map[string]Collection{}
	for _, c := range disc.Collections {
		remote[c.Href] = c
	}
	var local []Collection
	if err := e.Replica.View(func(t *Txn) (err error) { local, err = t.Collections(); return err }); err != nil {
		return nil, nil, err
	}
	recreated := map[string]bool{}
	var out []Collection
	seen := map[string]bool{}
	for _, c := range local {
		seen[c.Href] = true
		if r, ok := remote[c.Href]; ok {
			if r.Name != "" {
				c.Name = r.Name
			}
			out = append(out, c)
			continue
		}
		if c.Kind == Calendar && !disc.CalendarsKnown {
			rep.note("%s: the server lists no calendars now; kept, not synced this time", c.Href)
			continue
		}
		err := e.retry(ctx, func() error { return e.Transport.MakeCollection(ctx, c) })
		if is(err, http.StatusGone) {
			// Deleted on the server after this device's last sync of it.
			kept, derr := e.dropDeletedCollection(c, rep)
			if derr != nil {
				return nil, nil, derr
			}
			if kept == 0 {
				continue
			}
			// Local edits win over the deletion: the collection comes
			// back holding only them.
			c.Token = ""
			err = e.retry(ctx, func() error { return e.Transport.MakeCollection(ctx, c) })
		}
		if err != nil {
			return nil, nil, fmt.Errorf("recreate collection %s: %w", c.Href, err)
		}
		rep.note("%s: the server did not have this collection; recreated it", c.Href)
		recreated[c.Href] = true
		out = append(out, c)
	}
	for _, c := range disc.Collections {
		if !seen[c.Href] {
			out = append(out, c)
		}
	}
	err := e.Replica.Update(func(t *Txn) error {
		for _, c := range out {
			if err := t.PutCollection(c); err != nil {
				return err
			}
		}
		return nil
	})
	return out, recreated, err
}

// is reports whether err is an HTTP answer with this status code.
func is(err error, code int) bool { return statusCode(err) == code }

// dropDeletedCollection applies the server's deletion of collection c to
// the replica: its clean items go; items changed on this device since
// their last sync are kept (an edit wins over a deletion), and the
// collection is then kept for them with no token. It returns how many
// items were kept.
func (e *Engine) dropDeletedCollection(c Collection, rep *Report) (kept int, err error) {
	dropped := 0
	err = e.Replica.Update(func(t *Txn) error {
		kept, dropped = 0, 0
		items, err := t.Items(c.Href)
		if err != nil {
			return err
		}
		for _, it := range items {
			if it.Dirty || it.SyncedETag == "" || it.ETag != it.SyncedETag {
				kept++
				continue
			}
			if err := t.DeleteItem(c.Href, it.Href); err != nil {
				return err
			}
			dropped++
		}
		if kept == 0 {
			return t.DeleteCollection(c.Href)
		}
		c.Token = ""
		return t.PutCollection(c)
	})
	if err != nil {
		return 0, fmt.Errorf("apply the deletion of collection %s: %w", c.Href, err)
	}
	rep.mu.Lock()
	rep.DeletedLocally += dropped
	rep.DeletedCollections = append(rep.DeletedCollections, c.Href)
	rep.mu.Unlock()
	if kept > 0 {
		rep.note("%s: deleted on the server after this device last synced it; %d item(s) edited here since are kept and the collection is created again for them", c.Href, kept)
	} else {
		rep.note("%s: deleted on the server after this device last synced it; deleted here too (%d item(s))", c.Href, dropped)
	}
	e.Log.Info("collection deleted on the server", "collection", c.Href, "dropped", dropped, "kept", kept)
	return kept, nil
}
