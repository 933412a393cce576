// Package syncproto holds pimvault's sync protocol rules: the sync token
// format, the decision table that answers a sync-collection request, and
// the rules that reconcile one item between a device replica and the
// server during recovery. It is the part of "Sync tokens and recovery" in
// docs/ARCHITECTURE.md that needs no state of its own: pure functions over
// values, importing only the standard library and doing no I/O, so that the
// server (package server) and the device library (package device) apply
// exactly the same rules.
//
// # Standards
//
//   - RFC 6578, Collection Synchronization for WebDAV: the sync-collection
//     REPORT, the DAV:sync-token property and element, and the
//     DAV:valid-sync-token precondition (§3.2, §3.8) that a server answers
//     with 403 when it cannot use a token.
//   - RFC 2397, the "data" URL scheme, and RFC 3986: a sync token must be a
//     URI (RFC 6578 §3.2); pimvault's is a data: URI with no media type.
//
// # Token format
//
//	data:,pv2-<epoch>-<seq>-<bind>    what the server hands out
//	data:,pv1-<epoch>-<seq>           unbound: older servers', and the
//	                                  device library's reconciliation token
//
// bind is Bind(principal, collection): 12 lowercase hex digits that tie the
// token to the collection it was minted for, so a token presented on
// another collection is Foreign (403 DAV:valid-sync-token) rather than
// read as a position in the wrong change index. pv1 tokens stay accepted
// and are judged as before (a seq past the collection's last change is
// foreign): refusing them would make every client of an upgraded server
// list every collection again at once, and the server stops handing them
// out, so they disappear after one sync.
//
// epoch identifies the store's history line: 1 to 32 lowercase hex digits
// ([0-9a-f]; the store makes 16). seq is the journal sequence of the
// collection's last change, in decimal with no sign and no leading zeros
// ("0" itself is allowed). Nothing else is accepted: no whitespace, no
// uppercase, no other scheme or version, no extra dashes, nothing longer
// than 128 bytes. Each Token therefore has exactly one spelling, and
// Format(Parse(s)) == s whenever Parse succeeds. An empty DAV:sync-token is
// not a token but a request for an initial sync (ParseOrInitial, Classify).
//
// The epoch changes only when history breaks: a whole-store restore to an
// earlier point, a rebuild from devices, or an unrecoverable loss. A restore
// of one collection goes forward as new journal records (invariant 5) and
// keeps the epoch, so clients' tokens stay valid.
//
// # Decision table
//
// Decide maps the token a client sent and the store's state to a Decision:
//
//	token the client sends                                answer
//	none                                                  Initial: 207, full listing
//	current epoch, seq 0                                  Incremental: 207, every member and tombstone
//	current epoch, history start ≤ seq ≤ head              Incremental: 207, changes since seq
//	current epoch, seq < history start                     TokenTooOld: 403 DAV:valid-sync-token
//	earlier epoch, history start ≤ seq ≤ its fork seq      Incremental: 207, changes since seq
//	earlier epoch, seq < history start, seq ≤ fork seq     TokenTooOld: 403 DAV:valid-sync-token
//	earlier epoch, seq > its fork seq                      Recovering: the principal becomes RECOVERING
//	unknown epoch, or seq > head                           Recovering
//	malformed, or another collection's                     Malformed: 403 DAV:valid-sync-token
//	(store history inconsistent)                           Recovering
//	epoch a closed recovery accepted, not within its fork  TokenTooOld: 403 DAV:valid-sync-token
//
// Seq 0 in the current epoch is never handed out by the server; the device
// library sends it to read the whole state, tombstones included, when it
// reconciles. A 404 member is always a journalled deletion, so the answer is
// safe for any client.
//
// An epoch is accepted (Input.Accepted) when a recovery that it opened is
// closed by an admin or by the devices' reports: the store was declared
// complete, so answering valid-sync-token is safe again, and a stock client
// holding such a token is not kept on 503 forever.
//
// The history start of a collection is the lowest token seq its change
// index can answer from: max(creation seq, pruned seq). An earlier epoch's
// fork seq is the highest seq of that line that the current line still
// contains, so a token from it at or below the fork describes a state the
// current line passed through.
//
// # Invariants
//
//   - Never serve damaged data as healthy (invariant 4 of
//     docs/ARCHITECTURE.md). When a token shows that the store is behind what a device has seen (an
//     unknown epoch, a seq past the head, a seq past an earlier epoch's
//     fork), or the store's history is inconsistent, Decide answers
//     Recovering: never Incremental or Initial (an empty or short listing)
//     and never TokenTooOld or Malformed (DAV:valid-sync-token). Stock
//     clients answer valid-sync-token by listing the collection and
//     deleting every clean item it does not show, so that answer is given
//     only when the store is complete. Recovering outranks a caller's
//     judgement that the token is another collection's.
//   - Fail closed: Decide's inputs have no zero value that yields a
//     listing; an unset TokenKind is Recovering.
//   - Absence is never evidence of deletion (invariant 3): in Reconcile, an
//     item the server does not hold and has no tombstone for is uploaded
//     from the device, never deleted from it.
//   - Nothing deleted comes back, and nothing is dropped silently: a
//     deletion a device applied is recorded again on the server; an edit
//     wins over a deletion; two edits keep both copies.
//   - Both functions are total: every input, including out-of-range enum
//     values, gets an answer, and the answer for nonsense destroys nothing.
//
// # What the caller supplies
//
// Decide judges only the token. The server first answers 503 to stock
// clients of a principal that is already RECOVERING, and decides itself
// whether a token is another collection's (the format does not name the
// collection). The server calls a token foreign when its seq is past the
// collection's last change: within one history line the server only ever
// hands out a collection's tokens at or below that. A foreign token at or
// below it cannot be told apart; it is harmless to the store: the answer
// lists only this collection's own changes after seq, and a 404 in it is a
// real deletion, so a confused client may miss older members until its
// next full sync but is never told to delete an item that exists.
// DeletedSince judges a collection a device holds and the server does not
// list: deleted after the device's last token of it (the device deletes its
// copy), or lost (the device creates it again). Reconcile judges one item; the device library supplies the
// replica's per-item state (last-synced ETag, dirty flag, applied and
// unconfirmed deletions) and ETags computed the way the server computes
// them, so that identical bodies compare equal.
package syncproto
