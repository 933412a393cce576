package device

import (
	"context"
	"hash/fnv"

	"github.com/pimvault/pimvault/syncproto"
)

// uploadChunk is how many recovery uploads run between two looks at what
// other devices restored meanwhile.
const uploadChunk = 1000

// replan is what a refreshed listing turned pending uploads into.
type replan struct {
	downloads []string // the server now holds a newer version
	conflicts []string // changed on both sides
}

// uploadInChunks runs a reconciliation's uploads in chunks. Several devices
// usually rebuild a server at once and hold many of the same items: each
// device starts at its own point of the list, and before each chunk it
// reads what changed on the server since token (cheap: the change index)
// and decides again, with syncproto.Reconcile, for the items still to send:
// an identical copy another device restored is not sent again, a tombstone
// recorded meanwhile deletes a clean copy here, a newer version is
// downloaded instead.
func (e *Engine) uploadInChunks(ctx context.Context, c Collection, uploads []upload, token, epoch string, seq uint64, rep *Report) (replan, error) {
	var out replan
	if len(uploads) == 0 {
		return out, nil
	}
	h := fnv.New32a()
	h.Write([]byte(e.Replica.Config().DeviceID))
	start := int(h.Sum32() % uint32(len(uploads)))
	uploads = append(uploads[start:len(uploads):len(uploads)], uploads[:start]...)
	for len(uploads) > 0 {
		n := min(uploadChunk, len(uploads))
		chunk := uploads[:n]
		uploads = uploads[n:]
		if err := e.settleUploads(ctx, c, e.uploadAll(ctx, c, chunk), epoch, seq, rep); err != nil && err != errRecover {
			return out, err
		}
		if len(uploads) == 0 {
			break
		}
		var l Listing
		err := e.retry(ctx, func() (err error) { l, err = e.Transport.SyncCollection(ctx, c.Href, token); return err })
		if err != nil {
			// Not fatal: send the rest as planned; preconditions and
			// the next sync settle any overlap.
			e.Log.Info("no refreshed listing during the upload; continuing as planned", "collection", c.Href, "err", err)
			continue
		}
		token = l.Token
		server := map[string]syncproto.Server{}
		for _, href := range l.Deleted {
			server[href] = syncproto.Server{Kind: syncproto.ServerTombstoned}
		}
		for _, m := range l.Members {
			server[m.Href] = syncproto.Server{Kind: syncproto.ServerPresent, ETag: m.ETag}
		}
		keep := uploads[:0]
		var settle, drop []upload
		for _, u := range uploads {
			s, changed := server[u.it.Href]
			if !changed {
				keep = append(keep, u)
				continue
			}
			d := syncproto.Device{Kind: syncproto.DevicePresent, ETag: u.it.ETag, LastSyncedETag: u.it.SyncedETag, Dirty: u.it.Dirty, SeenETags: u.it.Seen}
			switch syncproto.Reconcile(s, d) {
			case syncproto.Upload:
				u.ifMatch, u.ifNoneMatch = "", s.Kind != syncproto.ServerPresent
				if s.Kind == syncproto.ServerPresent {
					u.ifMatch = s.ETag
				}
				keep = append(keep, u)
			case syncproto.Download:
				out.downloads = append(out.downloads, u.it.Href)
			case syncproto.KeepBoth:
				out.conflicts = append(out.conflicts, u.it.Href)
			case syncproto.DeleteOnDevice:
				drop = append(drop, u)
			default:
				settle = append(settle, u)
			}
		}
		uploads = keep
		err = e.Replica.Update(func(t *Txn) error {
			for _, u := range settle {
				it := u.it
				it.synced(it.ETag, epoch, seq)
				if err := t.PutItem(c.Href, it); err != nil {
					return err
				}
			}
			for _, u := range drop {
				it := u.it
				if err := t.DeleteItem(c.Href, it.Href); err != nil {
					return err
				}
				if err := t.PutApplied(c.Href, Deletion{Href: it.Href, UID: it.UID, SyncedETag: it.SyncedETag, Seen: it.Seen, Epoch: epoch}); err != nil {
					return err
				}
				rep.DeletedLocally++
			}
			return nil
		})
		if err != nil {
			return out, err
		}
	}
	return out, nil
}
