package device

import (
	"context"
	"fmt"
	"net/http"
	"sort"

	"github.com/pimvault/pimvault/syncproto"
)

// recover reconciles collection c with a server that lost or rolled back
// history (the server answered 409 or says it is RECOVERING). It reads the
// server's complete state of the current epoch, members and tombstones,
// from the token data:,pv1-<epoch>-0, decides per item with
// syncproto.Reconcile, and carries the decisions out.
func (e *Engine) recover(ctx context.Context, c Collection, epoch string, rep *Report) error {
	e.Log.Info("reconciling", "collection", c.Href, "epoch", epoch, "old token", c.Token)
	var l Listing
	token := ""
	if epoch != "" {
		token = syncproto.Format(syncproto.Token{Epoch: epoch, Seq: 0})
	}
	err := e.retry(ctx, func() (err error) { l, err = e.Transport.SyncCollection(ctx, c.Href, token); return err })
	if token != "" && (is(err, http.StatusForbidden) || is(err, http.StatusConflict)) {
		// A server that cannot list its tombstones: the members alone.
		// Absence is not deletion, so this only uploads more.
		rep.note("%s: the server gave no tombstone listing (%v); reconciled against its members", c.Href, err)
		err = e.retry(ctx, func() (err error) { l, err = e.Transport.SyncCollection(ctx, c.Href, ""); return err })
	}
	if err != nil {
		return err
	}
	tok, err := syncproto.Parse(l.Token)
	if err != nil {
		return fmt.Errorf("the server sent a bad sync token: %w", err)
	}
	epoch = tok.Epoch
	server := map[string]syncproto.Server{}
	for _, h := range l.Deleted {
		server[h] = syncproto.Server{Kind: syncproto.ServerTombstoned}
	}
	for _, m := range l.Members {
		server[m.Href] = syncproto.Server{Kind: syncproto.ServerPresent, ETag: m.ETag}
	}
	items, pending, applied, err := e.localState(c.Href)
	if err != nil {
		return err
	}
	hrefs := map[string]bool{}
	for h := range server {
		hrefs[h] = true
	}
	for h := range items {
		hrefs[h] = true
	}
	for h := range pending {
		hrefs[h] = true
	}
	for h := range applied {
		hrefs[h] = true
	}
	order := make([]string, 0, len(hrefs))
	for h := range hrefs {
		order = append(order, h)
	}
	sort.Strings(order)

	var (
		uploads   []upload
		downloads []string
		conflicts []string
		delServer []string
		settle    []string // Nothing: bookkeeping only
		delDevice []string
	)
	for _, h := range order {
		s := server[h]
		var d syncproto.Device
		if it, ok := items[h]; ok {
			d = syncproto.Device{Kind: syncproto.DevicePresent, ETag: it.ETag, LastSyncedETag: it.SyncedETag, Dirty: it.Dirty, SeenETags: it.Seen}
		} else if p, ok := pending[h]; ok {
			d = syncproto.Device{Kind: syncproto.DeviceDeletedLocally, LastSyncedETag: p.SyncedETag, SeenETags: p.Seen}
		} else if a, ok := applied[h]; ok {
			d = syncproto.Device{Kind: syncproto.DeviceAppliedDeletion, LastSyncedETag: a.SyncedETag, SeenETags: a.Seen}
		}
		switch syncproto.Reconcile(s, d) {
		case syncproto.Upload:
			u := upload{it: items[h], ifNoneMatch: s.Kind != syncproto.ServerPresent}
			if s.Kind == syncproto.ServerPresent {
				u.ifMatch = s.ETag
			}
			uploads = append(uploads, u)
		case syncproto.Download:
			downloads = append(downloads, h)
		case syncproto.DeleteOnServer:
			delServer = append(delServer, h)
		case syncproto.DeleteOnDevice:
			delDevice = append(delDevice, h)
		case syncproto.KeepBoth:
			conflicts = append(conflicts, h)
		default:
			settle = append(settle, h)
		}
	}
	e.Log.Info("reconcile plan", "collection", c.Href, "upload", len(uploads), "download", len(downloads),
		"delete-on-server", len(delServer), "delete-on-device", len(delDevice), "keep-both", len(conflicts))

	// Bookkeeping first: identical copies become synced, agreed deletions
	// are remembered, clean copies of tombstoned items go.
	err = e.Replica.Update(func(t *Txn) error {
		for _, h := range settle {
			s := server[h]
			if it, ok := items[h]; ok && s.Kind == syncproto.ServerPresent && s.ETag == it.ETag {
				it.synced(s.ETag, epoch, tok.Seq)
				if err := t.PutItem(c.Href, it); err != nil {
					return err
				}
			}
			if p, ok := pending[h]; ok && s.Kind != syncproto.ServerPresent {
				p.Epoch = epoch
				if err := t.RemoveDeletion(c.Href, h); err != nil {
					return err
				}
				if err := t.PutApplied(c.Href, p); err != nil {
					return err
				}
			}
		}
		for _, h := range delDevice {
			it := items[h]
			if err := t.DeleteItem(c.Href, h); err != nil {
				return err
			}
			if err := t.PutApplied(c.Href, Deletion{Href: h, UID: it.UID, SyncedETag: it.SyncedETag, Seen: it.Seen, Epoch: epoch}); err != nil {
				return err
			}
			rep.DeletedLocally++
		}
		return nil
	})
	if err != nil {
		return err
	}
	more, err := e.uploadInChunks(ctx, c, uploads, l.Token, epoch, tok.Seq, rep)
	if err != nil {
		return err
	}
	downloads = append(downloads, more.downloads...)
	conflicts = append(conflicts, more.conflicts...)
	for _, h := range delServer {
		ifMatch := ""
		if s := server[h]; s.Kind == syncproto.ServerPresent {
			ifMatch = s.ETag
		}
		err := e.retry(ctx, func() error { _, err := e.Transport.Delete(ctx, h, ifMatch); return err })
		switch {
		case err == nil || is(err, http.StatusNotFound):
			// A 404 left no tombstone: keep the old epoch on the record
			// so that pull deletes a stale copy another device restores.
			d, ok := pending[h]
			if !ok {
				d = applied[h]
			}
			if err == nil {
				d.Epoch = epoch
				rep.DeletedOnServer++
			}
			if d.Href == "" {
				d.Href = h
			}
			err = e.Replica.Update(func(t *Txn) error {
				if err := t.RemoveDeletion(c.Href, h); err != nil {
					return err
				}
				return t.PutApplied(c.Href, d)
			})
			if err != nil {
				return err
			}
		case is(err, http.StatusPreconditionFailed):
			downloads = append(downloads, h) // changed meanwhile: keep the edit
		default:
			rep.fail("delete %s on the server: %v", h, err)
		}
	}
	var got []Fetched
	if fetch := append(downloads, conflicts...); len(fetch) > 0 {
		if err := e.retry(ctx, func() (err error) { got, err = e.Transport.MultiGet(ctx, c, fetch); return err }); err != nil {
			return err
		}
	}
	isConflict := map[string]bool{}
	for _, h := range conflicts {
		isConflict[h] = true
	}
	var keep []Fetched
	err = e.Replica.Update(func(t *Txn) error {
		for _, f := range got {
			if isConflict[f.Href] {
				keep = append(keep, f)
				continue
			}
			if err := t.PutItem(c.Href, serverItem(c, items[f.Href], f, epoch, tok.Seq)); err != nil {
				return err
			}
			if err := t.RemoveDeletion(c.Href, f.Href); err != nil {
				return err
			}
			if err := t.RemoveApplied(c.Href, f.Href); err != nil {
				return err
			}
			rep.Downloaded++
		}
		c.Token = l.Token
		return t.PutCollection(c)
	})
	if err != nil {
		return err
	}
	for _, f := range keep {
		if err := e.keepBoth(ctx, c, items[f.Href], f, epoch, tok.Seq, rep); err != nil {
			return err
		}
	}
	return nil
}
