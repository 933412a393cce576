package device

import (
	"context"
	"fmt"
	"net/http"
	"slices"

	"github.com/pimvault/pimvault/syncproto"
)

// pull applies the server's changes to c: sync-collection from the stored
// token (a full listing without one, or when the server answers
// DAV:valid-sync-token), then a multiget of what changed.
func (e *Engine) pull(ctx context.Context, c Collection, rep *Report) error {
	full := c.Token == ""
	var l Listing
	err := e.retry(ctx, func() (err error) { l, err = e.Transport.SyncCollection(ctx, c.Href, c.Token); return err })
	if se := asStatus(err); se != nil && se.Code == http.StatusForbidden && se.Precondition == "valid-sync-token" && !full {
		// The token is too old for the server's kept history; the
		// store is complete (else it would say recovering): list all.
		full = true
		err = e.retry(ctx, func() (err error) { l, err = e.Transport.SyncCollection(ctx, c.Href, ""); return err })
	}
	switch {
	case is(err, http.StatusConflict):
		return errRecover
	case err != nil:
		return err
	case l.Info.Recovering:
		return errRecover
	}
	tok, terr := syncproto.Parse(l.Token)
	if terr != nil {
		return fmt.Errorf("the server sent a bad sync token: %w", terr)
	}
	var (
		fetch    []string
		redelete []Member
	)
	items, pending, applied, err := e.localState(c.Href)
	if err != nil {
		return err
	}
	listed := map[string]bool{}
	for _, m := range l.Members {
		listed[m.Href] = true
		it, ok := items[m.Href]
		switch {
		case ok && (m.ETag == it.SyncedETag || m.ETag == it.ETag):
			// Unchanged, or the same body on both sides: settled below.
		case ok:
			fetch = append(fetch, m.Href)
		case staleResurrection(applied[m.Href], m.ETag, tok.Epoch):
			redelete = append(redelete, m)
		default:
			if d, ok := pending[m.Href]; ok && (d.SyncedETag == m.ETag || slices.Contains(d.Seen, m.ETag)) {
				continue // deleted here; the next push deletes it on the server
			}
			fetch = append(fetch, m.Href)
		}
	}
	// What a full listing does not show would be deleted here: refuse a
	// listing that is suddenly much emptier than the replica.
	var gone []string
	if full {
		for href, it := range items {
			if !listed[href] && it.SyncedETag != "" {
				gone = append(gone, href)
			}
		}
		if len(gone) > e.GuardMin && float64(len(gone)) > e.GuardFraction*float64(len(items)) {
			rep.mu.Lock()
			rep.Refused = append(rep.Refused, fmt.Sprintf("%s: the server's full listing lacks %d of the %d items here; not applied as deletions (items kept, token not advanced)",
				c.Href, len(gone), len(items)))
			rep.mu.Unlock()
			e.Log.Warn("refusing a much emptier listing", "collection", c.Href, "missing", len(gone), "held", len(items))
			return nil
		}
	} else {
		gone = l.Deleted
	}
	var got []Fetched
	if len(fetch) > 0 {
		if err := e.retry(ctx, func() (err error) { got, err = e.Transport.MultiGet(ctx, c, fetch); return err }); err != nil {
			return err
		}
	}
	var conflicts []Fetched
	err = e.Replica.Update(func(t *Txn) error {
		for _, m := range l.Members {
			if it, ok := items[m.Href]; ok && (m.ETag == it.SyncedETag || m.ETag == it.ETag) && (it.SyncedETag != m.ETag || it.Epoch != tok.Epoch) {
				it.synced(m.ETag, tok.Epoch, tok.Seq)
				if it.ETag != m.ETag {
					it.Dirty = true // edited here; the server still has the synced version
				}
				if err := t.PutItem(c.Href, it); err != nil {
					return err
				}
			}
		}
		for _, f := range got {
			if it, ok := items[f.Href]; ok && (it.Dirty || it.ETag != it.SyncedETag) && it.ETag != f.ETag {
				conflicts = append(conflicts, f)
				continue
			}
			if err := t.PutItem(c.Href, serverItem(c, items[f.Href], f, tok.Epoch, tok.Seq)); err != nil {
				return err
			}
			if err := t.RemoveApplied(c.Href, f.Href); err != nil {
				return err
			}
			if err := t.RemoveDeletion(c.Href, f.Href); err != nil {
				return err
			}
			rep.Downloaded++
		}
		for _, href := range gone {
			if d, ok := pending[href]; ok {
				d.Epoch = tok.Epoch
				if err := t.RemoveDeletion(c.Href, href); err != nil {
					return err
				}
				if err := t.PutApplied(c.Href, d); err != nil {
					return err
				}
				continue
			}
			it, ok := items[href]
			if !ok {
				continue
			}
			if it.Dirty || it.ETag != it.SyncedETag {
				// Edited here, deleted there: the edit wins; re-create it.
				it.SyncedETag, it.Dirty = "", true
				rep.note("%s: deleted on the server but edited here; the edit is kept", href)
				if err := t.PutItem(c.Href, it); err != nil {
					return err
				}
				continue
			}
			if err := t.DeleteItem(c.Href, href); err != nil {
				return err
			}
			if err := t.PutApplied(c.Href, Deletion{Href: href, UID: it.UID, SyncedETag: it.SyncedETag, Seen: it.Seen, Epoch: tok.Epoch}); err != nil {
				return err
			}
			rep.DeletedLocally++
		}
		c.Token = l.Token
		return t.PutCollection(c)
	})
	if err != nil {
		return err
	}
	for _, f := range conflicts {
		var it Item
		if err := e.Replica.View(func(t *Txn) (err error) { it, _, err = t.Item(c.Href, f.Href); return err }); err != nil {
			return err
		}
		if err := e.keepBoth(ctx, c, it, f, tok.Epoch, tok.Seq, rep); err != nil {
			return err
		}
	}
	for _, m := range redelete {
		err := e.retry(ctx, func() error { _, err := e.Transport.Delete(ctx, m.Href, m.ETag); return err })
		switch {
		case err == nil || is(err, http.StatusNotFound):
			rep.DeletedOnServer++
			rep.note("%s: came back after a recovery but this device had seen it deleted; deleted again", m.Href)
		case is(err, http.StatusPreconditionFailed):
			// Changed meanwhile: an edit; the next pull downloads it.
		default:
			rep.fail("delete %s again: %v", m.Href, err)
		}
	}
	return nil
}

// staleResurrection reports whether a listed object is a copy, restored by
// a device that was behind, of a version this device saw deleted before the
// server's history broke (an earlier epoch). Such a copy is deleted again:
// nothing a device saw deleted comes back.
func staleResurrection(d Deletion, etag, epoch string) bool {
	if d.Href == "" || d.Epoch == epoch || etag == "" {
		return false
	}
	return d.SyncedETag == etag || slices.Contains(d.Seen, etag)
}
