package device

import (
	"encoding/json"
	"fmt"
)

// On-disk layout of the replica (one bbolt file, replica.db, mode 0600):
//
//	meta                       key → value: schema, server, user, device
//	collections                collection href → JSON Collection
//	c:<collection href>        one bucket per collection, with sub-buckets
//	    items                  item href → JSON Item
//	    deleted                item href → JSON Deletion (local, unconfirmed)
//	    applied                item href → JSON Deletion (seen deleted: applied
//	                           from the server, or confirmed local deletions)
//	    uids                   UID → item href (index of items)
//
// Values are JSON so the format is easy to inspect and to extend; bodies are
// kept byte for byte (base64 inside JSON).
const schemaVersion = "1"

var (
	bucketMeta        = []byte("meta")
	bucketCollections = []byte("collections")
	bucketItems       = []byte("items")
	bucketDeleted     = []byte("deleted")
	bucketApplied     = []byte("applied")
	bucketUIDs        = []byte("uids")

	keySchema   = []byte("schema")
	keyServer   = []byte("server")
	keyUser     = []byte("user")
	keyDeviceID = []byte("device")
)

// Kind is the kind of a collection.
type Kind string

// The collection kinds.
const (
	AddressBook Kind = "addressbook"
	Calendar    Kind = "calendar"
)

// Ext is the file extension of the kind's items (".vcf" or ".ics").
func (k Kind) Ext() string {
	if k == Calendar {
		return ".ics"
	}
	return ".vcf"
}

// ContentType is the media type of the kind's items.
func (k Kind) ContentType() string {
	if k == Calendar {
		return "text/calendar; charset=utf-8"
	}
	return "text/vcard; charset=utf-8"
}

// Collection is one address book or calendar in the replica.
type Collection struct {
	Href  string `json:"href"` // e.g. /dav/addressbooks/alice/contacts/
	Kind  Kind   `json:"kind"`
	Name  string `json:"name"`            // display name, if the server gave one
	Token string `json:"token,omitempty"` // last sync token; "" before the first sync
}

// maxSeen bounds Item.Seen.
const maxSeen = 8

// Item is one object (a vCard or an iCalendar object) in the replica.
type Item struct {
	Href       string   `json:"href"`
	UID        string   `json:"uid"`
	Body       []byte   `json:"body"`
	ETag       string   `json:"etag"`             // ETagOf(Body)
	SyncedETag string   `json:"synced,omitempty"` // the server's ETag at the last sync; "" if never synced
	Seen       []string `json:"seen,omitempty"`   // earlier synced ETags, newest last (at most maxSeen)
	Epoch      string   `json:"epoch,omitempty"`  // epoch of the last sync
	Seq        uint64   `json:"seq,omitempty"`    // token seq of the last sync
	Dirty      bool     `json:"dirty,omitempty"`  // changed locally since the last sync
}

// synced records that the server holds body b with ETag etag as of
// (epoch, seq), and clears the dirty flag.
func (it *Item) synced(etag, epoch string, seq uint64) {
	if it.SyncedETag != "" && it.SyncedETag != etag {
		it.Seen = append(it.Seen, it.SyncedETag)
		if len(it.Seen) > maxSeen {
			it.Seen = it.Seen[len(it.Seen)-maxSeen:]
		}
	}
	it.SyncedETag, it.Epoch, it.Seq, it.Dirty = etag, epoch, seq, false
}

// Deletion is a deleted item: a local deletion the server has not
// confirmed yet, or a deletion the device has seen happen (applied).
type Deletion struct {
	Href       string   `json:"href"`
	UID        string   `json:"uid,omitempty"`
	SyncedETag string   `json:"synced,omitempty"` // the ETag last synced before the deletion
	Seen       []string `json:"seen,omitempty"`
	Epoch      string   `json:"epoch,omitempty"` // epoch in which the deletion was seen or made
}

func encode(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("device: encode %T: %v", v, err)) // only plain structs are encoded
	}
	return b
}

func decode[T any](b []byte) (T, error) {
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		return v, fmt.Errorf("%w: %T: %v", ErrCorruptReplica, v, err)
	}
	return v, nil
}

func collectionBucket(href string) []byte { return []byte("c:" + href) }
