package device

import (
	"context"
	"errors"
	"net/http"
	"sync"

	"github.com/pimvault/pimvault/syncproto"
)

// upload is one PUT to make.
type upload struct {
	it          Item
	ifMatch     string
	ifNoneMatch bool
}

// uploaded is its outcome.
type uploaded struct {
	upload
	res PutResult
	err error
}

// push sends the local changes of c: dirty items (PUT with If-Match, or
// If-None-Match: * for new ones) and local deletions (DELETE with
// If-Match). Precondition failures are conflicts: both versions are kept.
func (e *Engine) push(ctx context.Context, c Collection, epoch string, rep *Report) error {
	var jobs []upload
	var dels []Deletion
	err := e.Replica.View(func(t *Txn) error {
		items, err := t.Items(c.Href)
		if err != nil {
			return err
		}
		for _, it := range items {
			if it.Dirty || it.SyncedETag == "" {
				jobs = append(jobs, upload{it: it, ifMatch: it.SyncedETag, ifNoneMatch: it.SyncedETag == ""})
			}
		}
		dels, err = t.Deletions(c.Href)
		return err
	})
	if err != nil {
		return err
	}
	seq := tokenSeq(c.Token)
	if err := e.settleUploads(ctx, c, e.uploadAll(ctx, c, jobs), epoch, seq, rep); err != nil {
		return err
	}
	for _, d := range dels {
		var info ServerInfo
		err := e.retry(ctx, func() (err error) { info, err = e.Transport.Delete(ctx, d.Href, d.SyncedETag); return err })
		switch {
		case is(err, http.StatusConflict) || (err == nil && info.Recovering):
			return errRecover
		case err == nil || is(err, http.StatusNotFound):
			rep.DeletedOnServer++
			err = e.Replica.Update(func(t *Txn) error {
				if err := t.RemoveDeletion(c.Href, d.Href); err != nil {
					return err
				}
				d.Epoch = epoch
				return t.PutApplied(c.Href, d)
			})
			if err != nil {
				return err
			}
		case is(err, http.StatusPreconditionFailed):
			// Changed on the server since this device last synced it:
			// the edit wins over the deletion; pull downloads it.
			rep.note("%s: deleted here but edited elsewhere; the edited version is kept", d.Href)
			if err := e.Replica.Update(func(t *Txn) error { return t.RemoveDeletion(c.Href, d.Href) }); err != nil {
				return err
			}
		default:
			rep.fail("delete %s: %v", d.Href, err)
		}
	}
	return nil
}

// uploadAll runs the PUTs with e.Workers at a time, each with backoff.
func (e *Engine) uploadAll(ctx context.Context, c Collection, jobs []upload) []uploaded {
	out := make([]uploaded, len(jobs))
	next := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < min(e.Workers, len(jobs)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				j := jobs[i]
				var res PutResult
				err := e.retry(ctx, func() (err error) {
					res, err = e.Transport.Put(ctx, j.it.Href, c.Kind, j.it.Body, j.ifMatch, j.ifNoneMatch)
					return err
				})
				out[i] = uploaded{upload: j, res: res, err: err}
			}
		}()
	}
	for i := range jobs {
		next <- i
	}
	close(next)
	wg.Wait()
	return out
}

// settleUploads records successful uploads in one transaction and resolves
// the conflicts afterwards.
func (e *Engine) settleUploads(ctx context.Context, c Collection, results []uploaded, epoch string, seq uint64, rep *Report) error {
	var conflicts []uploaded
	recover := false
	err := e.Replica.Update(func(t *Txn) error {
		for _, r := range results {
			switch {
			case r.err == nil:
				it := r.it
				if r.res.Existing != "" && r.res.Existing != it.Href {
					// Another device already restored this very item.
					if err := t.DeleteItem(c.Href, it.Href); err != nil {
						return err
					}
					it.Href = r.res.Existing
				}
				it.synced(r.res.ETag, epoch, seq)
				if err := t.PutItem(c.Href, it); err != nil {
					return err
				}
				if err := t.RemoveApplied(c.Href, it.Href); err != nil {
					return err
				}
				rep.Uploaded++
			case is(r.err, http.StatusPreconditionFailed):
				conflicts = append(conflicts, r)
			case is(r.err, http.StatusConflict):
				if se := asStatus(r.err); se != nil && se.Precondition == "no-uid-conflict" {
					conflicts = append(conflicts, r)
				} else {
					recover = true
				}
			default:
				rep.fail("upload %s: %v (kept on the device, retried next sync)", r.it.Href, r.err)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, r := range conflicts {
		if err := e.resolveConflict(ctx, c, r, epoch, seq, rep); err != nil {
			return err
		}
	}
	if recover {
		return errRecover
	}
	return nil
}

// resolveConflict handles an upload the server refused because it holds
// another version: at the same href (412) or under the same UID at
// another href (409 no-uid-conflict).
func (e *Engine) resolveConflict(ctx context.Context, c Collection, r uploaded, epoch string, seq uint64, rep *Report) error {
	at := r.it.Href
	if se := asStatus(r.err); se != nil && se.Code == http.StatusConflict {
		at = se.ConflictHref
		if at == "" {
			rep.fail("upload %s: %v (kept on the device)", r.it.Href, r.err)
			return nil
		}
	}
	srv, found, err := e.fetchOne(ctx, c, at)
	if err != nil {
		rep.fail("fetch %s after a conflict: %v (kept on the device)", at, err)
		return nil
	}
	it := r.it
	switch {
	case !found && at == it.Href:
		// Deleted on the server since: the edit wins over the deletion.
		var res PutResult
		err := e.retry(ctx, func() (err error) {
			res, err = e.Transport.Put(ctx, it.Href, c.Kind, it.Body, "", true)
			return err
		})
		if err != nil {
			rep.fail("re-create %s: %v (kept on the device)", it.Href, err)
			return nil
		}
		rep.note("%s: deleted on the server but edited here; the edit is kept", it.Href)
		rep.Uploaded++
		it.synced(res.ETag, epoch, seq)
		return e.Replica.Update(func(t *Txn) error { return t.PutItem(c.Href, it) })
	case !found:
		rep.fail("upload %s: %v (kept on the device)", it.Href, r.err)
		return nil
	case srv.ETag == it.ETag:
		// The same body is already there.
		return e.Replica.Update(func(t *Txn) error {
			if err := t.DeleteItem(c.Href, it.Href); err != nil {
				return err
			}
			it.Href = srv.Href
			it.synced(srv.ETag, epoch, seq)
			return t.PutItem(c.Href, it)
		})
	case srv.Href != it.Href:
		return e.keepBoth(ctx, c, it, srv, epoch, seq, rep)
	}
	// Another version at the same href, e.g. written by another device
	// between this device's listing and its upload: decide again with
	// the server's current state, as reconciliation would.
	d := syncproto.Device{Kind: syncproto.DevicePresent, ETag: it.ETag, LastSyncedETag: it.SyncedETag, Dirty: it.Dirty, SeenETags: it.Seen}
	switch syncproto.Reconcile(syncproto.Server{Kind: syncproto.ServerPresent, ETag: srv.ETag}, d) {
	case syncproto.Upload:
		// The server holds a version this device synced before: its own
		// is newer.
		var res PutResult
		err := e.retry(ctx, func() (err error) {
			res, err = e.Transport.Put(ctx, it.Href, c.Kind, it.Body, srv.ETag, false)
			return err
		})
		if err == nil {
			rep.Uploaded++
			it.synced(res.ETag, epoch, seq)
			return e.Replica.Update(func(t *Txn) error { return t.PutItem(c.Href, it) })
		}
		if !is(err, http.StatusPreconditionFailed) {
			rep.fail("upload %s over an older version: %v (kept on the device)", it.Href, err)
			return nil
		}
	case syncproto.Download:
		// This device's copy is clean and the server's is newer.
		rep.Downloaded++
		return e.Replica.Update(func(t *Txn) error { return t.PutItem(c.Href, serverItem(c, it, srv, epoch, seq)) })
	}
	return e.keepBoth(ctx, c, it, srv, epoch, seq, rep)
}

// keepBoth saves the device's version as a new item (new UID and href),
// uploads it, and stores the server's version where it lives.
func (e *Engine) keepBoth(ctx context.Context, c Collection, local Item, srv Fetched, epoch string, seq uint64, rep *Report) error {
	uid := local.UID + "-conflict-" + randomName()[:8]
	cp := Item{Href: c.Href + hrefName(uid) + c.Kind.Ext(), UID: uid, Body: ReplaceUID(local.Body, uid), Dirty: true}
	cp.ETag = ETagOf(cp.Body)
	var res PutResult
	err := e.retry(ctx, func() (err error) {
		res, err = e.Transport.Put(ctx, cp.Href, c.Kind, cp.Body, "", true)
		return err
	})
	if err != nil {
		rep.fail("upload the conflict copy %s: %v (kept on the device, retried next sync)", cp.Href, err)
	} else {
		cp.synced(res.ETag, epoch, seq)
		rep.Uploaded++
	}
	rep.mu.Lock()
	rep.Conflicts = append(rep.Conflicts, Conflict{Collection: c.Href, Href: srv.Href, CopyHref: cp.Href,
		Reason: "changed here and on the server; this device's version is saved as a copy"})
	rep.mu.Unlock()
	return e.Replica.Update(func(t *Txn) error {
		if err := t.PutItem(c.Href, cp); err != nil {
			return err
		}
		if local.Href != srv.Href {
			if err := t.DeleteItem(c.Href, local.Href); err != nil {
				return err
			}
		}
		prev := local
		if local.Href != srv.Href {
			prev = Item{}
		}
		return t.PutItem(c.Href, serverItem(c, prev, srv, epoch, seq))
	})
}

// serverItem is a clean item holding the server's version; prev, the
// item it replaces (zero if none), passes on the ETags synced before.
func serverItem(c Collection, prev Item, f Fetched, epoch string, seq uint64) Item {
	uid, _ := ParseUID(c.Kind, f.Body)
	it := Item{Href: f.Href, UID: uid, Body: f.Body, ETag: ETagOf(f.Body), SyncedETag: prev.SyncedETag, Seen: prev.Seen}
	it.synced(f.ETag, epoch, seq)
	return it
}

// fetchOne gets one body; found is false when the server has none.
func (e *Engine) fetchOne(ctx context.Context, c Collection, href string) (Fetched, bool, error) {
	var got []Fetched
	err := e.retry(ctx, func() (err error) { got, err = e.Transport.MultiGet(ctx, c, []string{href}); return err })
	if err != nil {
		return Fetched{}, false, err
	}
	for _, f := range got {
		if f.Href == href {
			return f, true, nil
		}
	}
	return Fetched{}, false, nil
}

func asStatus(err error) *StatusError {
	var se *StatusError
	if errors.As(err, &se) {
		return se
	}
	return nil
}

func tokenSeq(token string) uint64 {
	t, err := syncproto.Parse(token)
	if err != nil {
		return 0
	}
	return t.Seq
}
