package device

import (
	"bytes"
	"fmt"
)

// Local changes: what a user does on the device between syncs. Each marks
// the item dirty (or records a pending deletion) for the next push.

// AddLocal stores a new item created on the device (dirty, never synced).
// Its href is derived from the UID.
func (t *Txn) AddLocal(c Collection, body []byte) (Item, error) {
	uid, err := ValidateBody(c.Kind, body)
	if err != nil {
		return Item{}, err
	}
	if it, ok, err := t.ItemByUID(c.Href, uid); err != nil || ok {
		if err == nil {
			err = fmt.Errorf("%w: %q at %s", ErrItemExists, uid, it.Href)
		}
		return Item{}, err
	}
	href := c.Href + hrefName(uid) + c.Kind.Ext()
	if _, ok, _ := t.Item(c.Href, href); ok {
		href = c.Href + randomName() + c.Kind.Ext()
	}
	it := Item{Href: href, UID: uid, Body: bytes.Clone(body), ETag: ETagOf(body), Dirty: true}
	if err := t.RemoveApplied(c.Href, href); err != nil {
		return Item{}, err
	}
	return it, t.PutItem(c.Href, it)
}

// EditLocal replaces an item's body (the UID must stay the same).
func (t *Txn) EditLocal(c Collection, key string, body []byte) (Item, error) {
	it, err := t.FindItem(c.Href, key)
	if err != nil {
		return Item{}, err
	}
	uid, err := ValidateBody(c.Kind, body)
	if err != nil {
		return Item{}, err
	}
	if uid != it.UID {
		return Item{}, fmt.Errorf("edit %s: the UID changed from %q to %q (add it as a new item instead)", it.Href, it.UID, uid)
	}
	if bytes.Equal(body, it.Body) {
		return it, nil
	}
	it.Body, it.ETag, it.Dirty = bytes.Clone(body), ETagOf(body), true
	return it, t.PutItem(c.Href, it)
}

// DeleteLocal deletes an item on the device; a synced item's deletion is
// kept until the server confirms it.
func (t *Txn) DeleteLocal(c Collection, key string) (Item, error) {
	it, err := t.FindItem(c.Href, key)
	if err != nil {
		return Item{}, err
	}
	if err := t.DeleteItem(c.Href, it.Href); err != nil {
		return Item{}, err
	}
	if it.SyncedETag == "" {
		return it, nil // never reached the server
	}
	return it, t.PutDeletion(c.Href, Deletion{Href: it.Href, UID: it.UID, SyncedETag: it.SyncedETag, Seen: it.Seen, Epoch: it.Epoch})
}

// Counts is a summary of one collection.
type Counts struct {
	Items, Dirty, NeverSynced, PendingDeletions, Applied int
}

// Count summarises a collection.
func (t *Txn) Count(coll string) (Counts, error) {
	var n Counts
	items, err := t.Items(coll)
	if err != nil {
		return n, err
	}
	for _, it := range items {
		n.Items++
		if it.Dirty {
			n.Dirty++
		}
		if it.SyncedETag == "" {
			n.NeverSynced++
		}
	}
	ds, err := t.Deletions(coll)
	n.PendingDeletions = len(ds)
	if err != nil {
		return n, err
	}
	as, err := t.Applied(coll)
	n.Applied = len(as)
	return n, err
}
