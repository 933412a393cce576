// Package device is a device's full local replica of a user's address
// books and calendars and its sync engine (push, pull, reconcile),
// plus a fleet simulator for tests and load.
//
// It talks to the server over HTTP only: it imports syncproto, never
// server or storage. Discovery uses the go-webdav CardDAV/CalDAV client;
// the calls whose bodies must stay byte for byte, and whose headers carry
// the recovery protocol, are plain net/http requests behind Transport.
//
// # Standards
//
//   - RFC 4918 (WebDAV): PUT/DELETE with If-Match and If-None-Match: *
//     (RFC 9110 §13.1), multistatus, DAV:error preconditions.
//   - RFC 6578: sync-collection with sync tokens; 403 DAV:valid-sync-token
//     leads to a full listing.
//   - RFC 6352 (CardDAV) addressbook-multiget, RFC 4791 (CalDAV)
//     calendar-multiget and MKCALENDAR, RFC 5689 extended MKCOL.
//   - The pimvault recovery protocol: X-Pimvault-Device on every request,
//     X-Pimvault-Epoch / X-Pimvault-Recovering on answers, 409 for a token
//     of a lost history, the data:,pv1-<epoch>-0 listing with tombstones,
//     X-Pimvault-Existing on a deduplicated upload, POST /api/recovery/done,
//     X-Pimvault-Sync-Token on MKCOL and 410 for a collection deleted since.
//
// # Replica (replica_schema.go)
//
// One bbolt file, replica.db (mode 0600), beside password (mode 0600).
// Per collection: href, kind, sync token. Per item: href, UID, body (byte
// for byte), ETag (computed as the server computes it), the last synced
// ETag and the earlier ones it synced, the epoch and seq of that sync, a
// dirty flag. Local deletions are kept until the server confirms them;
// deletions the device has seen (applied from the server, or confirmed)
// are remembered, with the epoch they happened in.
//
// # Invariants
//
//   - Nothing is dropped silently: a conflict keeps both versions (the
//     device's is saved as a new item with a new UID and href, uploaded and
//     reported), an edit wins over a deletion, and every item that could
//     not be synced stays on the device and is listed in the Report.
//   - Absence is never evidence of deletion: a full listing that is
//     suddenly much emptier than the replica (over GuardFraction of the
//     items, and more than GuardMin) is refused, reported, and not applied.
//   - Push first, then pull: local changes reach the server before the
//     server's view replaces anything.
//   - On RECOVERING, a new epoch, or a 409 to sync-collection, the engine
//     reconciles each collection with syncproto.Reconcile against the
//     server's members and tombstones, uploads what the server lost,
//     deletes again what it saw deleted, keeps both on double edits, then
//     reports done and continues with the new epoch's token.
//   - A collection the replica holds and the server does not list is
//     created again (the server lost it) unless the server answers the
//     MKCOL, which carries the device's last token of it
//     (X-Pimvault-Sync-Token), with 410: it recorded the collection's
//     deletion after that token (syncproto.DeletedSince). The device then
//     deletes its clean copies; items it edited since are kept and the
//     collection comes back holding only them.
//   - Backoff with full jitter, never sooner than Retry-After (capped).
package device
